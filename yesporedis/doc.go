// Package yesporedis shares through Redis what replicas of a bot must share:
// the account's rate limit (Limiter), and the journal of tokens accepted and
// not yet in Yespo (Journal).
//
// Yespo allows 200 requests per second per account, not per process: bot
// replicas, an import and a shop backend all draw from the same 200. A
// rate.Limiter in each process cannot know about the others; a Limiter from
// this package keeps the budget in Redis, so that they share it. It is a
// yespo.Limiter:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379"})
//	lim := yesporedis.NewLimiter(rdb, "yespo:acct-42", 200)
//	client, err := yespo.NewClient(apiKey, yespo.WithRateLimiter(lim))
//
// The module is separate from github.com/yespo-go/yespo so that users who do
// not use Redis get no Redis dependency.
//
// # Pacing
//
// The Waits of one process queue, in arrival order, for each key; the
// first in line asks Redis for a reservation — one round trip running a GCRA
// script on Redis's clock, so the processes' clocks do not matter — and
// sleeps until its slot, then the next asks. So a grant costs Redis one
// script call however many goroutines wait (measured: 1.00 script and 4
// commands per request at 3 processes × 128 waiters, Redis at 4 % of a
// core; every waiter polling cost 84 scripts per grant). A Wait
// whose ctx ends while queued leaves at once and costs Redis nothing; one
// that ends before its slot leaves the slot to the next in line. The state
// is one Redis key, "rate:"+key, in the format of
// github.com/go-redis/redis_rate, which older versions of this package poll:
// both kinds share the budget during a rolling deploy. It expires within a
// second or so of the last call.
//
// Every Wait is bounded by WithRedisTimeout whatever the client's own
// timeouts. go-redis applies ctx deadlines to socket reads only with
// ContextTimeoutEnabled; with it set, Wait calls Redis directly (about 50 µs
// per Wait on loopback), without it through a goroutine it can abandon
// (about twice that). Set it if you can.
//
// The limiter paces at perSecond × (1 − headroom), 5 % below perSecond by
// default (190/s for 200; WithHeadroom), with a burst of half the headroom
// (5 for 200; WithBurst). Why: Yespo's window is not documented, and in the
// strictest reading — any one-second window, sliding — pacing at exactly 200
// gets 429s as soon as the time between Redis's grant and the request's
// arrival varies by a few milliseconds. With the defaults, at most
// 190 + 5 requests are granted in any second of Redis time, and the other
// 5 absorb 25 ms of jitter. The burst above 1 matters for throughput: a
// request that comes late to its slot is made up for instead of the slot
// being lost. Measured with three busy replicas: burst 1 reaches ~165/s,
// the defaults ~190/s, both with no 429; no headroom reaches ~199/s with
// 0.5–2 % 429s.
//
// # When Redis is down
//
// Redis being down never stops a bot. Any error from Redis that is not the
// caller's ctx (refused, reset, no answer within WithRedisTimeout, 250 ms by
// default, whatever the client's own timeouts) switches the Limiter to a
// local golang.org/x/time/rate limiter at a share of the paced rate: 1/3 by
// default (WithFallbackShare; use 1/N for N processes), so that three
// replicas stay within the limit together. The switch is logged once, as a
// Warn record (WithLogger; slog.Default() unless set). From then on, Waits
// do not touch Redis: once per WithProbeInterval (1 s by default) a
// background probe runs the same script at a cost of zero, taking nothing;
// when it answers, the Limiter shares the budget through Redis again and
// logs that once, as an Info record. So a dead Redis costs at most the Redis
// timeout to the calls already asking it when it died, and nothing after. A
// Redis that comes back empty (restarted without persistence) simply starts
// a fresh budget.
//
// go-redis logs by itself too, a line per failed dial, to stderr. Its
// logger is one for the whole process, so this package leaves it alone;
// call RouteRedisLogs(logger) at start-up to turn those lines into Debug
// records of your logger (an outage then shows as the Limiter's two
// records), or QuietRedisLogs to drop them.
//
// # Bulk work and live users
//
// An import at full speed would take the whole account and leave the live
// bot's calls waiting. Give bulk work's limiters a ceiling, a second key at
// a lower rate:
//
//	bulk := yesporedis.NewLimiter(rdb, "yespo:acct-42", 200, yesporedis.WithCeiling("yespo:acct-42:bulk", 120))
//	live := yesporedis.NewLimiter(rdb, "yespo:acct-42", 200)
//
// All bulk work together then takes at most 120/s of the account, and the
// live bot, whose limiter has no ceiling, always finds at least the rest:
// 190 − 120 = 70/s with the default headroom. Measured: an import at full
// speed beside a bot making 20 calls a second, the bot saw no 429 and its
// Waits stayed under 25 ms at p99.
//
// A bulk Wait draws from the ceiling first, then from the account. The
// ceiling is the tighter budget, so waiting there first keeps bulk callers
// from asking the account for tokens they could not use. A reservation
// whose Wait ends before its slot goes to the next Wait of the process, so
// nothing leaks in normal operation. The only waste: a Wait whose ctx ends
// after its ceiling slot and before the account's loses its ceiling token,
// one slot of bulk per such Wait; bulk gets that much slower, the account
// and the live bot lose nothing.
//
// # A journal shared by replicas
//
// A Journal (NewJournal) keeps the tokens a yespo.Batcher accepted until
// Yespo took them, for replicas of a bot that share one Redis: give each
// replica's Batcher the same JournalOptions.Key (one per app) in
// yespo.BatcherOptions.Journal.
//
//	j, err := yesporedis.NewJournal(rdb, yesporedis.JournalOptions{Key: "yespo:journal:bot"})
//	b, err := client.NewBatcher(app, yespo.BatcherOptions{Journal: j})
//	...
//	b.Close(ctx)
//	j.Close()
//
// The journal is a Redis stream, "{Key}", read by one consumer group in
// which every process is a consumer of its own. Add returns once the
// token's entry is in the stream and in the adding process's pending list
// (one script: XADD, then XREADGROUP for that consumer, so no entry is
// ever unowned); concurrent Adds share one script call. A process refreshes
// the entries it holds every ClaimIdle/3; entries that go ClaimIdle (30 s
// by default) without a refresh were left by a dead process, and the
// others take them (XAUTOCLAIM) and send them. A token Yespo accepted, or
// refused for good, is acknowledged and deleted (XACK, XDEL), so the stream
// holds only what is not settled. Delivery is at least once: a replica cut
// off from Redis for longer than ClaimIdle may see its tokens sent by
// another as well, and Yespo keeps a token once.
//
// The journal records its target — app UUID and base URL — in
// "{Key}:target". A Batcher for another app or API root refuses to open it
// while it holds tokens (yespo.ErrJournalTarget, naming both targets and how
// many tokens it holds: run against their target to deliver them, or delete
// the key "{Key}" to drop them); an empty one is re-bound to the new target,
// with a Warn record, and the replicas still bound to the old one can no
// longer append to it. Entries carry a format version:
// a replica leaves entries of a format it does not know to those that do,
// so replicas of mixed versions share a stream during a rolling deploy.
//
// "Kept" means Redis acknowledged the XADD. That is only as durable as
// Redis is set up to be:
//
//   - appendonly yes, and appendfsync always for nothing to be lost when
//     Redis itself crashes (everysec, Redis's default with appendonly, may
//     lose the last second); without appendonly a restart of Redis loses
//     everything the journal held;
//   - maxmemory-policy noeviction, so that a full Redis refuses writes (Add
//     returns the error) instead of evicting the journal;
//   - replicas of Redis, if any, with the same settings; a failover to a
//     replica that had not received the last writes loses them (WAIT is not
//     used).
//
// Open reads appendonly and maxmemory-policy with CONFIG GET and logs a Warn
// record if they put tokens at risk, or if CONFIG is not allowed (managed
// Redis: check them there). If the journal's keys vanish while it runs (a
// Redis restarted without persistence), the next Add says so in a Warn
// record and starts afresh.
//
// While Redis cannot be reached, Add returns an error wrapping Redis's
// (within JournalOptions.Timeout, 5 s by default): the journal never accepts
// a token it cannot keep, and there is no local fallback — a bot that must
// accept tokens through a Redis outage can catch the error and answer its
// user later. Tokens already held are sent on meanwhile; Remove failing
// leaves them to be sent again, never lost.
//
// # Other budgets
//
// Yespo lists some methods with budgets of their own: Generate event
// (yespo.Client.SendEvent) 350/s, Get contact ID by token 150/s. A
// yespo.Client paces each budget apart and takes a Limiter per budget
// (yespo.WithBudgetLimiter); NewBudgetLimiter makes one per budget key, so
// that replicas share each budget and a burst of events never takes the
// account's 200:
//
//	acct := yesporedis.NewBudgetLimiter(rdb, "yespo:acct-42", yespo.BudgetAccount) // = NewLimiter(rdb, "yespo:acct-42", 200)
//	events := yesporedis.NewBudgetLimiter(rdb, "yespo:acct-42", yespo.BudgetEvent) // key "yespo:acct-42:event", 350/s
//	client, err := yespo.NewClient(apiKey,
//		yespo.WithRateLimiter(acct),
//		yespo.WithBudgetLimiter(yespo.BudgetEvent, events))
//
// Options apply per Limiter: the headroom keeps events at 332/s, and a
// WithCeiling key caps only the budget whose Limiter has it.
//
// # Bunching on the way to Yespo
//
// Requests granted evenly can arrive at Yespo bunched, when a replica's
// machine stalls. A yespo.Client sees how uneven its way is from its round
// trips and asks the Limiter for its turn with WaitWindow (a
// yespo.WindowLimiter): the token then weighs one second plus that spread,
// so that every replica sharing the key leaves room for the bunches. On an
// even way it weighs one second, as Wait's does.
package yesporedis
