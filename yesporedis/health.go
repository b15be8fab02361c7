package yesporedis

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// health tracks whether Redis answers. While it does, every Wait asks it.
// Once a call fails, Waits use their local limiters, and one Wait per probe
// interval asks Redis again; only that probe's answer brings Redis back, so
// that a stale success from before the outage cannot flip the state back and
// forth. Each change is logged once.
type health struct {
	key        string
	log        *slog.Logger
	probeEvery time.Duration

	down atomic.Bool // read without the lock on every Wait

	mu        sync.Mutex
	since     time.Time // when the outage began
	nextProbe time.Time
}

func newHealth(key string, log *slog.Logger, probeEvery time.Duration) *health {
	return &health{key: key, log: log, probeEvery: probeEvery}
}

// route says whether this call asks Redis, and whether it does so as the
// probe of an outage.
func (h *health) route(now time.Time) (useRedis, probe bool) {
	if !h.down.Load() {
		return true, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down.Load() {
		return true, false
	}
	if now.Before(h.nextProbe) {
		return false, false
	}
	h.nextProbe = now.Add(h.probeEvery)
	return true, true
}

// failed records a Redis error. A failed probe only keeps the outage going.
func (h *health) failed(err error, probe bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if probe || h.down.Load() {
		return
	}
	now := time.Now()
	h.since, h.nextProbe = now, now.Add(h.probeEvery)
	h.down.Store(true)
	h.log.Warn("yesporedis: Redis unreachable, pacing with the local fallback limiter",
		"key", h.key, "err", err.Error(), "probe_every", h.probeEvery)
}

// recovered records that a probe got an answer.
func (h *health) recovered() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down.Load() {
		return
	}
	h.down.Store(false)
	h.log.Info("yesporedis: Redis is back, sharing the budget again",
		"key", h.key, "outage", time.Since(h.since).Round(time.Millisecond))
}
