package pace

import (
	"slices"
	"time"
)

// Yespo counts a budget's requests in one-second windows, as they arrive;
// a Client knows when it granted them. The two differ by each attempt's way
// there — the scheduler, a connection, the network, the server's own queue
// — and on a loaded machine that way varies by tens of milliseconds: turns
// granted evenly at 95 % of a budget then arrive bunched, and some second
// holds more than the budget (2,000 welcome events at 332/s met 352–367 in
// one second and a few 429s).
//
// So a budget also counts its turns: in any span of one second plus the
// recent spread of round trips (how unevenly the attempts' ways run: the
// slowest answer's round trip less the fastest one's, over spreadSpan), it
// grants at most settleShare of the budget, when the user stated the budget
// (perWindow: WithAccountRate, a limiter). On a steady way the
// spread is near zero and this never binds below the pace; when the way
// grows uneven, the span widens and the turns thin out to match, so that
// the server's one-second windows hold no more than its budget. The
// round trip is counted from the grant, so a sender's own delays count too.
const (
	spreadSpan = 2 * time.Second // round trips remembered for the spread
	// The spread is capped: a round trip also holds the server's work,
	// which varies with the request (a batch of 500 tokens, a batch of
	// one) without bunching anything, and a hung attempt must not stall a
	// budget. At the cap a budget still has two thirds of its turns.
	spreadMax = 500 * time.Millisecond
)

// turnLog is a budget's recent turns and round trips; guarded by the
// budget's mutex.
type turnLog struct {
	granted []time.Time // the last turns granted (at most limit of them), oldest first
	trips   []trip      // the answers of the last spreadSpan, oldest first
	spread  time.Duration
}

type trip struct {
	at  time.Time
	rtt time.Duration
}

// perWindow is how many turns any window of one second plus the spread
// may hold, or 0 for no such bound. A stated budget is held to settleShare
// of itself, the share its pace settles at. An unstated one is not bound:
// its pace probes beyond its share to learn whether other integrations of
// the account left room (rate.go), and that probing must reach Yespo.
// Without the 429s it earns, a pace held at its share would keep it
// forever (its turns freeing exactly as its own old ones leave Yespo's
// window), and another integration of the account would be starved.
func (r *rateControl) perWindow() int {
	if !r.stated {
		return 0
	}
	return max(int(settleShare*r.documented), 1)
}

// grant notes a turn granted at now. It remembers at most limit turns
// (none without a limit), and none older than a span can be: a stated
// budget of a million a second must not keep a million times.
func (l *turnLog) grant(now time.Time, limit int) {
	if limit == 0 {
		return
	}
	old := 0
	for old < len(l.granted) && (len(l.granted)-old >= limit || now.Sub(l.granted[old]) >= time.Second+spreadMax) {
		old++
	}
	l.granted = append(slices.Delete(l.granted, 0, old), now)
}

// answered notes an attempt granted at began and answered at now, and
// updates the spread.
func (l *turnLog) answered(began, now time.Time) {
	old := 0
	for old < len(l.trips) && now.Sub(l.trips[old].at) >= spreadSpan {
		old++
	}
	l.trips = append(slices.Delete(l.trips, 0, old), trip{at: now, rtt: now.Sub(began)})
	lo, hi := l.trips[0].rtt, l.trips[0].rtt
	for _, t := range l.trips[1:] {
		lo, hi = min(lo, t.rtt), max(hi, t.rtt)
	}
	l.spread = min(hi-lo, spreadMax)
}

// nextAt returns the earliest time a turn may be granted without a window
// of one second plus the spread holding more than limit turns (0: none).
func (l *turnLog) nextAt(limit int) time.Time {
	if limit == 0 || len(l.granted) < limit {
		return time.Time{}
	}
	// The limit-th most recent turn must have left the span.
	return l.granted[len(l.granted)-limit].Add(time.Second + l.spread)
}
