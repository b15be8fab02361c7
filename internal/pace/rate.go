package pace

import (
	"net/http"
	"time"
)

// The adaptive rate of a budget. Yespo documents its limits but not how
// much of them other integrations of the account take, and answers 429,
// without Retry-After, to what goes beyond. The rate finds the budget the
// way TCP finds a link's:
//
//   - It ramps up by doubling every rampPeriod of sending at the pace
//     while nothing is refused — from half the documented rate at first,
//     from a small fraction of the best rate after an outage — up to
//     settleShare of the best rate known to work.
//   - There it settles, and probes beyond only slowly (probeStep of the
//     best rate after a probePeriod, doubling each probePeriod), so that
//     a stable limit costs a 429 only every few seconds while a budget
//     that grew is found again within seconds.
//   - On a 429 of an attempt begun after the last cut, the best rate
//     becomes what the server accepted over the last second (at most what
//     was sent) and the rate is cut to cutFactor of what was sent. An
//     attempt begun before the cut was sent at the old rate and says
//     nothing new.
//
// Growth counts only time spent at the pace with a backlog: an idle
// sender learns nothing about the limit. A fixed limiter (WithRateLimiter)
// caps what is sent; the rate still learns from every 429 under it, since
// its cut starts from what was sent, not from its own figure.
//
// Outage: when no attempt got an answer but errors (5xx, 429, transport)
// for outageAttempts attempts spanning outageSpan, the budget holds: one
// probe at a time, on an interval growing from outageProbeFirst to outageProbeMax.
// The first 2xx ends the outage and the rate ramps up again.
const (
	rampPeriod       = 250 * time.Millisecond
	settleShare      = 0.97
	probeStep        = 0.01
	probePeriod      = time.Second
	cutFactor        = 0.7
	minRate          = 1.0 // requests per second: the floor of every cut
	outageAttempts   = 3
	outageSpan       = time.Second
	probeGapMin      = 500 * time.Millisecond
	probeGapMax      = time.Second
	probeConfirm     = 2 * time.Second
	outageProbeFirst = 250 * time.Millisecond
	outageProbeMax   = 2 * time.Second
)

// rateControl is a budget's adaptive rate and outage state; guarded by the
// budget's mutex.
type rateControl struct {
	documented float64
	rate       float64       // requests per second now
	rtt        time.Duration // round trip of accepted attempts, smoothed
	best       float64       // the rate known to work: ramps go up to settleShare of it
	from       float64       // the rate this ramp started at
	busy       time.Duration
	reach      time.Duration // busy time when the ramp reached its top; 0 while ramping
	last       time.Time     // of the last turn taken
	cutAt      time.Time     // of the last cut
	stated     bool          // the user stated the budget (believe): no probing beyond it
	// confirmed: an attempt begun after the last cut was accepted, so the
	// rate may grow again (as TCP waits for an ACK of the new window).
	confirmed bool
	accepted  window // 2xx answers
	sent      window // turns taken

	// Outage state.
	failSince  time.Time // turn of the first failed attempt since the last 2xx
	fails      int       // failed attempts since the last 2xx
	isDown     bool
	reached    bool    // an attempt got an HTTP answer, whatever its status
	bestBefore float64 // best when the failures began
	probing    bool    // a probe is in flight
	probeWait  time.Duration
	nextProbe  time.Time

	// probeGap is how long the rate settles below a best rate under the
	// documented one (other integrations take part of the account) before
	// it ramps up again to see whether they left.
	probeGap time.Duration
	before   float64       // best before a probe reached the full budget; 0 when none is on trial
	freedAt  time.Duration // busy time when it reached it
}

func newRateControl(documented float64) rateControl {
	r := rateControl{documented: documented, best: documented, probeGap: probeGapMin, rtt: 200 * time.Millisecond}
	r.restart(documented / 2)
	return r
}

// believe starts the pace at the top of the budget, as if a ramp had
// reached it: the user stated the budget.
func (r *rateControl) believe() {
	r.stated = true
	r.rate = max(settleShare*r.best, minRate)
	r.from = r.rate
	r.reach = 1 // the ramp is over: the next turns settle and probe beyond
}

// restart begins a ramp from rate.
func (r *rateControl) restart(rate float64) {
	r.rate = max(rate, minRate)
	r.from = r.rate
	r.busy, r.reach = 0, 0
	r.confirmed = true
}

// interval is the time between turns at the pace; 0 while an outage is
// held (the probes have their own interval).
func (r *rateControl) interval() time.Duration {
	if r.isDown {
		return 0
	}
	return time.Duration(float64(time.Second) / r.rate)
}

// took notes a turn granted at now; paced says the pace, not a lack of
// work, decided when. Time at the pace with a backlog makes the rate grow.
func (r *rateControl) took(now time.Time, paced bool) {
	r.sent.add(now)
	if r.isDown {
		r.probing = true
	}
	if paced && r.confirmed && !r.last.IsZero() {
		r.busy += min(now.Sub(r.last), 100*time.Millisecond)
		r.grow()
	}
	r.last = now
}

// grow sets the rate for the busy time of this ramp: doubling every
// rampPeriod up to settleShare of best, then probing beyond.
func (r *rateControl) grow() {
	top := settleShare * r.best
	if r.reach == 0 {
		rate := r.from * pow2(r.busy.Seconds()/rampPeriod.Seconds())
		if rate < top {
			r.rate = rate
			return
		}
		r.reach = max(r.busy, 1)
	}
	settled := r.busy - r.reach
	if full := settleShare * r.documented; top < full {
		// Part of the account is taken: after probeGap, ramp up again as
		// from the start; once at the documented rate, it is free again.
		if settled < r.probeGap {
			r.rate = top
			return
		}
		r.rate = top * pow2((settled-r.probeGap).Seconds()/rampPeriod.Seconds())
		if r.rate >= full {
			// Free again, it seems: the next cut tells, within
			// probeConfirm, whether the rate holds.
			r.before = r.best
			r.best, r.rate = r.documented, full
			r.reach, r.freedAt = r.busy, r.busy
		}
		return
	}
	if r.before > 0 && r.busy-r.freedAt >= probeConfirm {
		r.before = 0 // the full budget held: the other integrations left
		r.probeGap = probeGapMin
	}
	t := settled.Seconds() / probePeriod.Seconds()
	r.rate = max(r.rate, top*(1+probeStep*(pow2(t)-1)))
	if r.stated {
		// Nothing is to be found beyond the stated budget: the turns are
		// held under settleShare of it anyway (perWindow, window.go).
		r.rate = min(r.rate, r.documented)
	}
}

// answered feeds one attempt's outcome: began is when its turn was
// granted, status its HTTP status or 0 for a transport error. It reports
// whether an outage just ended.
func (r *rateControl) answered(began, now time.Time, status int) (up bool) {
	r.probing = false
	if status != 0 {
		r.reached = true
	}
	switch {
	case status >= 200 && status <= 299:
		r.accepted.add(now)
		r.rtt += (now.Sub(began) - r.rtt) / 8
		if began.After(r.cutAt) {
			r.confirmed = true
		}
		r.fails, r.failSince = 0, time.Time{}
		if r.isDown {
			r.isDown = false
			r.restart(r.best / 16)
			return true
		}
	case status == 0 && !r.reached:
		// Nothing ever answered: a wrong base URL or a network that
		// lets nothing out, not an outage to wait out; the retry policy
		// decides.
	case status == http.StatusTooManyRequests || status == 0 || status >= 500:
		if status == http.StatusTooManyRequests && !r.isDown {
			r.limited(began, now)
		}
		r.failed(began, now)
	}
	return false
}

// limited cuts the rate after a 429 of an attempt begun after the last cut.
func (r *rateControl) limited(began, now time.Time) {
	// Only an attempt sent at the new rate says it is still too high; and
	// until one of those is accepted, the server's window may still be
	// full of what went before: give it two round trips.
	if !began.After(r.cutAt) || !r.confirmed && now.Sub(r.cutAt) < 2*r.rtt {
		return
	}
	sent := r.rate
	if s, ok := r.sent.rate(now); ok {
		sent = min(sent, s)
	}
	old, probing := r.best, r.reach > 0 && r.busy-r.reach >= r.probeGap
	if r.before > 0 { // the probe reached the full budget, which did not hold
		old, probing = r.before, true
		r.before = 0
	}
	switch a, ok := r.accepted.rate(now); {
	case r.reach == 0:
		// Refused on the way up: the best rate is below what was sent.
		r.best = max(min(r.best, sent), minRate)
	case ok:
		r.best = max(min(a, sent), minRate)
	default:
		r.best = max(min(r.best, sent*cutFactor), minRate)
	}
	if probing && r.best < 1.05*old {
		r.probeGap = min(2*r.probeGap, probeGapMax) // a probe that found nothing more
	}
	r.restart(sent * cutFactor)
	r.confirmed = false
	r.cutAt = now
}

// failed counts an attempt answered with an error worth retrying, and
// declares an outage when nothing else came back for long enough.
func (r *rateControl) failed(began, now time.Time) {
	if r.fails == 0 {
		r.failSince = began
		r.bestBefore = r.best
	}
	r.fails++
	switch {
	case r.isDown:
		r.probeWait = min(2*r.probeWait, outageProbeMax)
		r.nextProbe = now.Add(r.probeWait)
	case r.fails >= outageAttempts && now.Sub(r.failSince) >= outageSpan:
		r.isDown = true
		r.best = max(r.best, r.bestBefore) // 429s of an outage say nothing of the budget
		r.probeWait = outageProbeFirst
		r.nextProbe = now.Add(r.probeWait)
	}
}

// released notes a granted turn that was not used.
func (r *rateControl) released() { r.probing = false }

// down reports whether an outage is held.
func (r *rateControl) down() bool { return r.isDown }

// probeAt returns, during an outage, when the next probe may go: never
// while one is in flight.
func (r *rateControl) probeAt(now time.Time) (time.Time, bool) {
	switch {
	case !r.isDown:
		return time.Time{}, false
	case r.probing:
		return now.Add(outageProbeMax), true // re-armed when its answer comes
	}
	return r.nextProbe, true
}

// pow2 returns 2 to the power x, for x ≥ 0, capped at 2^20.
func pow2(x float64) float64 {
	x = min(max(x, 0), 20)
	p := 1.0
	for x >= 1 {
		p *= 2
		x--
	}
	// 2^x for x in [0,1): close enough with the linear blend of a
	// doubling, and monotonic.
	return p * (1 + x)
}

// window holds the times of the events of the last second.
type window struct {
	times []time.Time // oldest first
	first time.Time   // of the first event ever
}

// add records an event at now and forgets those older than a second.
func (w *window) add(now time.Time) {
	if w.first.IsZero() {
		w.first = now
	}
	old := 0
	for old < len(w.times) && now.Sub(w.times[old]) >= time.Second {
		old++
	}
	w.times = append(w.times[old:], now)
}

// rate is the events per second over the last second, or over the time
// since the first if shorter; false when too short to tell.
func (w *window) rate(now time.Time) (float64, bool) {
	span := min(now.Sub(w.first), time.Second)
	if w.first.IsZero() || span < 100*time.Millisecond {
		return 0, false
	}
	n := 0
	for _, t := range w.times {
		if now.Sub(t) < time.Second {
			n++
		}
	}
	return float64(n) / span.Seconds(), true
}
