//go:build !race

package yespo_test

// raceEnabled makes the heavier tests smaller under the race detector,
// which slows them several times over.
const raceEnabled = false
