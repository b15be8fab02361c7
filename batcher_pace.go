package yespo

import "time"

// The adaptive pace, used when the client has no rate limiter: additive
// increase while sends succeed, multiplicative decrease on a 429, as TCP's
// congestion control and the AWS SDKs' adaptive retry mode do. Yespo
// documents 200 requests per second per account, shared by all the
// account's clients, so the real budget may be lower; it may also be
// higher. The pace starts at half the documented figure, climbs quickly
// (paceFast per second) to paceNear of the best rate known — at first the
// documented one, later the rate of the last 429 — and slowly (paceSlow of
// it per second) beyond, where the limit is: each probe past the limit
// costs a few 429s, so probes are rare. On a 429 the best rate becomes what
// the server accepted over the last second — a rate-limited server accepts
// its limit — unless the Batcher sent too little for that to tell.
const (
	paceStart = 100.0 // requests per second
	paceBest  = 200.0 // Yespo's documented limit: the first guess of the best rate
	paceFast  = 100.0 // requests per second gained per second below paceNear of best
	paceNear  = 0.85  // share of best where the climb slows down
	paceSlow  = 0.03  // share of best gained per second above paceNear of it
	paceCut   = 0.7   // factor applied on a 429
	paceMin   = 1.0   // requests per second, the floor of cuts
	paceSlack = 50 * time.Millisecond
)

// pacer spaces the Batcher's sends and holds them during a pause. Its
// fields are guarded by the Batcher's mutex.
type pacer struct {
	adaptive    bool        // no client limiter: the pace is ours to find
	rate        float64     // requests per second now; 0 when not adaptive
	best        float64     // highest rate believed to work
	next        time.Time   // earliest start of the next send
	cutAt       time.Time   // of the last cut: 429s of attempts begun before it are old news
	pausedUntil time.Time   // a long Retry-After holds every send until then
	held        bool        // a ready batch waited on the pace since the last take
	accepted    []time.Time // of the 2xx answers of the last second, oldest first
	since       time.Time   // of the first 2xx answer
	timer       *time.Timer
	timerAt     time.Time // when timer fires; zero when it is not armed
}

func newPacer(adaptive bool) pacer {
	if !adaptive {
		return pacer{}
	}
	return pacer{adaptive: true, rate: paceStart, best: paceBest}
}

// hold returns how long the next send must wait: for the pause, and for
// its turn at the pace. It records that a batch was held.
func (p *pacer) hold(now time.Time) time.Duration {
	until := p.pausedUntil
	if p.adaptive && p.next.After(until) {
		until = p.next
	}
	d := until.Sub(now)
	if d > 0 {
		p.held = true
	}
	return d
}

// take books a send at now and reports whether the pace had held one back
// since the last take: then the send's success says the pace may rise.
// Up to paceSlack of unused turns may be caught up, so that timer latency
// does not slow the pace down.
func (p *pacer) take(now time.Time) (paced bool) {
	paced, p.held = p.held, false
	p.book(now)
	return paced
}

// book reserves the next turn at the pace for a retry and returns when it
// is: retries draw from the same budget as first attempts.
func (p *pacer) book(now time.Time) time.Time {
	if !p.adaptive {
		return now
	}
	if floor := now.Add(-paceSlack); p.next.Before(floor) {
		p.next = floor
	}
	at := p.next
	p.next = p.next.Add(time.Duration(float64(time.Second) / p.rate))
	return at
}

// arm makes sure a worker is woken within d.
func (p *pacer) arm(d time.Duration) {
	at := time.Now().Add(d)
	if !p.timerAt.IsZero() && !p.timerAt.After(at) {
		return
	}
	p.timerAt = at
	p.timer.Reset(d)
}

// succeeded raises the pace after a success of a send the pace held back;
// a send that went as soon as it was ready says nothing about the limit.
// Each success adds step/rate, so that the rate gains step per second.
func (p *pacer) succeeded(paced bool, now time.Time) {
	if !p.adaptive {
		return
	}
	p.accept(now)
	if !paced {
		return
	}
	step := paceFast
	if p.rate >= paceNear*p.best {
		step = paceSlow * p.best
	}
	p.rate += step / p.rate
	p.best = max(p.best, p.rate)
}

// limited cuts the pace after an attempt answered 429, once per round:
// only an attempt begun after the last cut says the new rate is too high.
func (p *pacer) limited(began, now time.Time) {
	if !p.adaptive || !began.After(p.cutAt) {
		return
	}
	p.best = max(p.acceptedRate(now), p.rate*paceCut, paceMin)
	p.rate = max(min(p.rate*paceCut, paceNear*p.best), paceMin)
	p.cutAt = now
}

// accept notes a 2xx answer, forgetting those older than a second.
func (p *pacer) accept(now time.Time) {
	if p.since.IsZero() {
		p.since = now
	}
	old := 0
	for old < len(p.accepted) && now.Sub(p.accepted[old]) >= time.Second {
		old++
	}
	p.accepted = append(p.accepted[old:], now)
}

// acceptedRate is the rate of 2xx answers over the last second, or over
// the time since the first one if shorter; 0 when too short to tell.
func (p *pacer) acceptedRate(now time.Time) float64 {
	span := min(now.Sub(p.since), time.Second)
	if p.since.IsZero() || span < 100*time.Millisecond {
		return 0
	}
	n := 0
	for _, t := range p.accepted {
		if now.Sub(t) < time.Second {
			n++
		}
	}
	return float64(n) / span.Seconds()
}

// pause holds every send until d from now, or later if already paused.
func (p *pacer) pause(now time.Time, d time.Duration) {
	if until := now.Add(d); until.After(p.pausedUntil) {
		p.pausedUntil = until
	}
}
