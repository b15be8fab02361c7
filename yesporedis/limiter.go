package yesporedis

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/yespo-go/yespo"
)

var _ yespo.WindowLimiter = (*Limiter)(nil)

// Limiter paces requests against a budget kept in Redis, shared by every
// process that uses the same key. Create it with NewLimiter; it is safe for
// concurrent use.
type Limiter struct {
	rdb     redis.UniversalClient
	budgets []*budget // ceilings first, the account last
	timeout time.Duration
	direct  bool // rdb honours ctx deadlines on reads: no goroutine needed
	health  *health
}

// budget is one key drawn from by every Wait, with the local limiter that
// stands in for it while Redis is down, and the queue of this process's
// Waits for it.
type budget struct {
	key    string // in Redis: "rate:"+key, redis_rate's prefix
	rate   int    // tokens per period
	period time.Duration
	burst  int
	local  *rate.Limiter

	// turn is held by the one Wait of this process that deals with the
	// budget: it asks Redis for a reservation and sleeps until its slot.
	// The others wait to send on it, which Go serves in arrival order, and
	// leave at once when their ctx ends, having cost Redis nothing.
	turn chan struct{}
	// spare is a reservation whose Wait ended before its slot: the next
	// holder of the turn uses it instead of asking Redis. Only the holder
	// of the turn touches it.
	spare    time.Time
	hasSpare bool
}

// NewLimiter returns a Limiter that lets through perSecond requests per
// second, minus the headroom (WithHeadroom), across all processes using key
// on the Redis behind rdb. The Redis key is "rate:"+key, in the format of
// github.com/go-redis/redis_rate. It panics if rdb is nil, key is empty,
// perSecond <= 0 or an option got a bad value, as these are programming
// errors.
func NewLimiter(rdb redis.UniversalClient, key string, perSecond int, opts ...Option) *Limiter {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if rdb == nil {
		cfg.bad("rdb is nil")
	}
	if key == "" {
		cfg.bad("key is empty")
	}
	if perSecond <= 0 {
		cfg.bad("perSecond is %d: must be positive", perSecond)
	}
	for _, c := range cfg.ceilings {
		if c.key == key {
			cfg.bad("WithCeiling(%q, ...): same key as the account", c.key)
		}
	}
	if cfg.burst == 0 {
		cfg.burst = defaultBurst(perSecond, cfg.headroom)
	}
	if len(cfg.errs) > 0 {
		panic("yesporedis: NewLimiter: " + strings.Join(cfg.errs, "; "))
	}

	l := &Limiter{rdb: rdb, timeout: cfg.redisTimeout, direct: honoursDeadlines(rdb)}
	for _, c := range cfg.ceilings {
		l.budgets = append(l.budgets, newBudget(c.key, c.perSecond, 0, cfg))
	}
	account := newBudget(key, perSecond, cfg.headroom, cfg)
	l.budgets = append(l.budgets, account)
	l.health = &health{
		key: key, log: cfg.logger, probeEvery: cfg.probeEvery, timeout: cfg.redisTimeout,
		// A cost of 0 runs the very script Wait runs and takes nothing.
		probe: func(ctx context.Context) error {
			_, err := l.runReserve(ctx, account, 0)
			return err
		},
	}
	return l
}

// defaultBurst is half the headroom, at least 1: in any one-second window at
// most perSecond × (1 − headroom/2) requests leave Redis, and the other half
// of the headroom absorbs jitter on the way to Yespo. A burst above 1 lets a
// request that comes late to its slot be made up for, instead of the slot
// being lost: with a burst of 1, busy replicas reach only ~83 % of the rate.
func defaultBurst(perSecond int, headroom float64) int {
	return max(1, int(math.Round(float64(perSecond)*headroom/2)))
}

// newBudget paces at perSecond × (1 − headroom): the rate is an integer,
// so the headroom stretches the period instead.
func newBudget(key string, perSecond int, headroom float64, cfg config) *budget {
	paced := float64(perSecond) * (1 - headroom)
	return &budget{
		key:    "rate:" + key,
		rate:   perSecond,
		period: time.Duration(float64(time.Second) / (1 - headroom)),
		burst:  cfg.burst,
		local:  rate.NewLimiter(rate.Limit(paced*cfg.fallbackShare), cfg.burst),
		turn:   make(chan struct{}, 1),
	}
}

// interval is the time between two tokens of b.
func (b *budget) interval() time.Duration { return b.period / time.Duration(b.rate) }

// Wait blocks until one request may be sent: it takes a token from every
// ceiling, then from the account. It returns nil then, and ctx.Err() as soon
// as ctx is done, whether it was queued, waiting for Redis or sleeping. A
// Redis that cannot be reached is not an error: Wait falls back to a local
// limiter.
func (l *Limiter) Wait(ctx context.Context) error { return l.wait(ctx, 1) }

// WaitWindow is Wait with the rate held over window instead of one second
// (yespo.WindowLimiter): the token it takes weighs window's seconds, so
// that any span of window lets through at most the per-second rate. A
// yespo.Client calls it with one second plus the spread of its round
// trips, and every process sharing the key then leaves room for the
// requests a loaded machine's way bunches up. A window under one second
// counts as one second. It returns as Wait does.
func (l *Limiter) WaitWindow(ctx context.Context, window time.Duration) error {
	return l.wait(ctx, max(window.Seconds(), 1))
}

// wait takes a token of weight cost (in seconds of the rate) from every
// budget.
func (l *Limiter) wait(ctx context.Context, cost float64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, b := range l.budgets {
		if err := l.take(ctx, b, cost); err != nil {
			return err
		}
	}
	return nil
}

// take waits for one token from b. The Waits of this process queue for b's
// turn; the one holding it asks Redis for a reservation (one script call per
// grant, where polling cost one per waiter per slot) and sleeps until its
// slot. A Wait whose ctx ends before its slot leaves the reservation to the
// next in line. While Redis is down, the turn's holder takes its token from
// b's local limiter instead.
func (l *Limiter) take(ctx context.Context, b *budget, cost float64) error {
	select {
	case b.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-b.turn }()

	at, ok := b.takeSpare(time.Now())
	if !ok {
		if !l.health.useRedis(time.Now()) {
			return waitLocal(ctx, b.local)
		}
		delay, err := l.reserve(ctx, b, cost)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			l.health.failed(err)
			return waitLocal(ctx, b.local)
		}
		at = time.Now().Add(delay) // kept as the spare below if ctx is done now
	}
	if err := sleep(ctx, time.Until(at)); err != nil {
		b.spare, b.hasSpare = at, true
		return err
	}
	return nil
}

// takeSpare returns the spare reservation, if there is one still good at
// now: up to one interval after its slot, so that a reservation used late
// cannot pile onto the slots after it.
func (b *budget) takeSpare(now time.Time) (time.Time, bool) {
	if !b.hasSpare {
		return time.Time{}, false
	}
	b.hasSpare = false
	if now.After(b.spare.Add(b.interval())) {
		return time.Time{}, false
	}
	return b.spare, true
}
