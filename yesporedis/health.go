package yesporedis

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// health tracks whether Redis answers. While it does, every Wait asks it.
// Once a call fails, Waits use their local limiters and, at most once per
// probe interval, a background probe asks Redis again: no caller waits for
// a dead Redis more than once. Only a probe's success ends the outage, so a
// late success from a call made before it cannot flip the state back and
// forth. Each change is logged once.
type health struct {
	key        string
	log        *slog.Logger
	probeEvery time.Duration
	timeout    time.Duration
	probe      func(context.Context) error // asks Redis, consuming nothing

	down atomic.Bool // read without the lock on every Wait

	mu        sync.Mutex
	since     time.Time // when the outage began
	nextProbe time.Time
	probing   bool
}

// useRedis says whether a Wait asks Redis now. In an outage it says no, and
// starts a probe when one is due.
func (h *health) useRedis(now time.Time) bool {
	if !h.down.Load() {
		return true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down.Load() {
		return true
	}
	if !h.probing && !now.Before(h.nextProbe) {
		h.probing = true
		go h.runProbe()
	}
	return false
}

// runProbe asks Redis once, in the background, within the Redis timeout as
// far as dialling goes; a read that hangs ends on the client's own timeout,
// holding up no caller.
func (h *health) runProbe() {
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
	err := h.probe(ctx)
	cancel()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.probing = false
	if err != nil {
		h.nextProbe = time.Now().Add(h.probeEvery)
		return
	}
	h.down.Store(false)
	h.log.Info("yesporedis: Redis is back, sharing the budget again",
		"key", h.key, "outage", time.Since(h.since).Round(time.Millisecond))
}

// failed records a Redis error: the start of an outage, unless one is on.
func (h *health) failed(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down.Load() {
		return
	}
	now := time.Now()
	h.since, h.nextProbe = now, now.Add(h.probeEvery)
	h.down.Store(true)
	h.log.Warn("yesporedis: Redis unreachable, pacing with the local fallback limiter",
		"key", h.key, "err", err.Error(), "probe_every", h.probeEvery)
}
