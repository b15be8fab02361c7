//go:build !race

package yesporedis_test

// raceEnabled: the race detector slows every call several times over.
const raceEnabled = false
