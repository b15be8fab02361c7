package yespotest

import (
	mathrand "math/rand/v2"
	"strconv"
	"time"
)

// Fault is a failure the server plays instead of (or before) its answer.
type Fault struct {
	Status     int           // answer with this status (0 = no status fault)
	RetryAfter time.Duration // sent as Retry-After seconds when > 0
	Body       string
	Delay      time.Duration // wait before answering (or before dropping)
	Drop       bool          // close the connection without an answer
}

// FailNext makes the next n requests get f, after any faults already queued.
func (s *Server) FailNext(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults.queue = append(s.faults.queue, f)
	}
}

// FailNextEvents makes the next n requests to Generate event (v2) get f,
// before any FailNext faults; other endpoints do not take them.
func (s *Server) FailNextEvents(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults.events = append(s.faults.events, f)
	}
}

// FailRandomly gives each request, with probability p, one of faults picked
// at random (see WithSeed); p = 0 stops it. Queued FailNext faults go first.
func (s *Server) FailRandomly(p float64, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(faults) == 0 {
		p = 0
	}
	s.faults.p, s.faults.random = p, faults
}

// faults is the injection state; its methods expect the server's lock.
type faults struct {
	events []Fault // FailNextEvents'
	queue  []Fault
	p      float64
	random []Fault
	rng    *mathrand.Rand
}

// next returns the fault for the next request, if any; event says it is
// one to Generate event.
func (f *faults) next(event bool) (Fault, bool) {
	if event && len(f.events) > 0 {
		fault := f.events[0]
		f.events = f.events[1:]
		return fault, true
	}
	if len(f.queue) > 0 {
		fault := f.queue[0]
		f.queue = f.queue[1:]
		return fault, true
	}
	if f.p > 0 && f.rng.Float64() < f.p {
		return f.random[f.rng.IntN(len(f.random))], true
	}
	return Fault{}, false
}

// rateWindow remembers when the requests of the last second were let
// through, so that no one-second window, wherever it starts, holds more than
// the limit: fixed windows would let twice the limit through across a
// window's edge. Refused requests are not counted.
type rateWindow struct {
	times []time.Time // oldest first; at most limit of them
}

// allow reports whether one more request fits under limit per second, and
// else how long until the oldest one leaves the window.
func (w *rateWindow) allow(limit int, now time.Time) (bool, time.Duration) {
	if limit <= 0 {
		return true, 0
	}
	cut := 0
	for cut < len(w.times) && now.Sub(w.times[cut]) >= time.Second {
		cut++
	}
	w.times = w.times[cut:]
	if len(w.times) < limit {
		w.times = append(w.times, now)
		return true, 0
	}
	return false, w.times[0].Add(time.Second).Sub(now)
}

// retryAfterSeconds rounds up, so that a client never comes back too early.
func retryAfterSeconds(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(secs, 1), 10)
}
