//go:build race

package main

// replyLimit is the burst test's bound on a user's wait for the answer. The
// race detector slows the bot, the fakes and the HTTP between them several
// times over, more on a busy machine; a bot that queued users one behind
// another would still take minutes.
const replyLimit = 15e9 // 15 s
