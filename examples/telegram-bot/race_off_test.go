//go:build !race

package main

// replyLimit is the burst test's bound on a user's wait for the answer: 5 s,
// what a user who tapped a link waits without wondering.
const replyLimit = 5e9 // 5 s
