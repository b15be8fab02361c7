// Package hold keeps batches Yespo did not accept for now and sends them
// again: one at a time, as a probe, until one is accepted, and then all.
//
// The probe of an outage goes out at once: the Client's budget, which
// knows Yespo is down, holds it until its own probe turn (one per budget).
// A batch held for another reason — a 5xx or 429 while the budget is not
// down, a 401, 403 or 404 the operator must fix — is probed on an interval
// growing from First to MaxTransient, or MaxOperator for the operator's.
package hold

import (
	"sync"
	"time"
)

// Reason is why a batch is held.
type Reason int

// The reasons, which set the probe interval.
const (
	Outage    Reason = iota // the budget holds an outage: it paces the probe
	Transient               // a 5xx, 429 or transport error while the budget is up
	Operator                // a 401, 403 or 404: the operator must fix the key or app
)

// The probe intervals.
const (
	First        = 100 * time.Millisecond
	MaxTransient = 2 * time.Second
	MaxOperator  = 30 * time.Second
)

// Hold keeps batches of type B for a later try.
type Hold[B comparable] struct {
	release func(B) // sends a probe

	mu      sync.Mutex
	held    []B // oldest first: the first is the next probe
	probe   B   // the probe out, if out
	out     bool
	timer   *time.Timer
	armed   bool
	backoff time.Duration
	stopped bool
}

// New returns a Hold that sends each probe with release, called on a
// goroutine of its own with no lock held.
func New[B comparable](release func(B)) *Hold[B] {
	h := &Hold[B]{release: release, backoff: First}
	h.timer = time.AfterFunc(time.Hour, h.fire)
	h.timer.Stop()
	return h
}

// Add holds b for reason and reports whether the hold began with it
// (nothing was held). A probe that comes back here frees the next probe.
func (h *Hold[B]) Add(b B, reason Reason) (began bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.out && h.probe == b {
		h.out = false
	}
	began = len(h.held) == 0 && !h.out
	h.held = append(h.held, b)
	if h.out || h.armed || h.stopped {
		return began
	}
	wait := time.Duration(0)
	if reason != Outage {
		wait = h.backoff
		limit := MaxTransient
		if reason == Operator {
			limit = MaxOperator
		}
		h.backoff = min(2*h.backoff, limit)
	}
	h.armed = true
	h.timer.Reset(wait)
	return began
}

// fire sends the oldest held batch as the probe.
func (h *Hold[B]) fire() {
	h.mu.Lock()
	h.armed = false
	if h.out || h.stopped || len(h.held) == 0 {
		h.mu.Unlock()
		return
	}
	b := h.held[0]
	var zero B
	h.held[0] = zero
	h.held = h.held[1:]
	h.probe, h.out = b, true
	h.mu.Unlock()
	h.release(b)
}

// Settled notes that b was settled for good (refused, say): if it was the
// probe, the next one may go.
func (h *Hold[B]) Settled(b B) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.out || h.probe != b {
		return
	}
	h.out = false
	if len(h.held) > 0 && !h.armed && !h.stopped {
		h.armed = true
		h.timer.Reset(h.backoff)
	}
}

// Sent notes that Yespo accepted a batch: it returns every held batch, to
// be sent again, and the probe interval starts over.
func (h *Hold[B]) Sent() []B {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.backoff = First
	h.out = false
	h.timer.Stop()
	h.armed = false
	held := h.held
	h.held = nil
	return held
}

// Stop ends probing and returns what is held.
func (h *Hold[B]) Stop() []B {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	h.timer.Stop()
	h.armed = false
	held := h.held
	h.held = nil
	return held
}

// Expire takes out and returns the held batches old says are too old to
// hold any longer.
func (h *Hold[B]) Expire(old func(B) bool) []B {
	h.mu.Lock()
	defer h.mu.Unlock()
	var expired []B
	kept := h.held[:0]
	for _, b := range h.held {
		if old(b) {
			expired = append(expired, b)
		} else {
			kept = append(kept, b)
		}
	}
	clear(h.held[len(kept):])
	h.held = kept
	return expired
}

// Len returns how many batches are held, the probe out aside.
func (h *Hold[B]) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.held)
}
