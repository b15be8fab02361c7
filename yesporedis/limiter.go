package yesporedis

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/yespo-go/yespo"
)

var _ yespo.Limiter = (*Limiter)(nil)

// Limiter paces requests against a budget kept in Redis, shared by every
// process that uses the same key. Create it with NewLimiter; it is safe for
// concurrent use.
type Limiter struct {
	rl      *redis_rate.Limiter
	budgets []budget // ceilings first, the account last
	timeout time.Duration
	direct  bool // rdb honours ctx deadlines on reads: no goroutine needed
	health  *health
}

// budget is one key drawn from by every Wait, with the local limiter that
// stands in for it while Redis is down.
type budget struct {
	key   string
	limit redis_rate.Limit
	local *rate.Limiter
}

// NewLimiter returns a Limiter that lets through perSecond requests per
// second, minus the headroom (WithHeadroom), across all processes using key
// on the Redis behind rdb. The Redis key is "rate:"+key (redis_rate's
// prefix). It panics if rdb is nil, key is empty, perSecond <= 0 or an
// option got a bad value, as these are programming errors.
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

	l := &Limiter{rl: redis_rate.NewLimiter(rdb), timeout: cfg.redisTimeout, direct: honoursDeadlines(rdb)}
	for _, c := range cfg.ceilings {
		l.budgets = append(l.budgets, newBudget(c.key, c.perSecond, 0, cfg))
	}
	account := newBudget(key, perSecond, cfg.headroom, cfg)
	l.budgets = append(l.budgets, account)
	l.health = &health{
		key: key, log: cfg.logger, probeEvery: cfg.probeEvery, timeout: cfg.redisTimeout,
		// A cost of 0 runs the very script Wait runs and takes nothing.
		probe: func(ctx context.Context) error {
			_, err := l.rl.AllowN(ctx, account.key, account.limit, 0)
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

// newBudget paces at perSecond × (1 − headroom): redis_rate's Rate is an
// integer, so the headroom stretches the Period instead.
func newBudget(key string, perSecond int, headroom float64, cfg config) budget {
	period := time.Duration(float64(time.Second) / (1 - headroom))
	paced := float64(perSecond) * (1 - headroom)
	return budget{
		key:   key,
		limit: redis_rate.Limit{Rate: perSecond, Burst: cfg.burst, Period: period},
		local: rate.NewLimiter(rate.Limit(paced*cfg.fallbackShare), cfg.burst),
	}
}

// Wait blocks until one request may be sent: it takes a token from every
// ceiling, then from the account. It returns nil then, and ctx.Err() as soon
// as ctx is done, whether it was waiting for Redis or sleeping. A Redis that
// cannot be reached is not an error: Wait falls back to a local limiter.
func (l *Limiter) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for i := range l.budgets {
		if err := l.take(ctx, &l.budgets[i]); err != nil {
			return err
		}
	}
	return nil
}

// take waits for one token from b: from Redis while it answers, else from
// b's local limiter.
func (l *Limiter) take(ctx context.Context, b *budget) error {
	for {
		if !l.health.useRedis(time.Now()) {
			return waitLocal(ctx, b.local)
		}
		res, err := l.allow(ctx, b)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			l.health.failed(err)
			return waitLocal(ctx, b.local)
		}
		if res.Allowed > 0 {
			return nil
		}
		if err := sleep(ctx, res.RetryAfter); err != nil {
			return err
		}
	}
}

// allow asks Redis for one token of b, giving up after l.timeout whatever
// rdb's own timeouts are: go-redis ignores ctx deadlines on reads unless
// ContextTimeoutEnabled, and a bot must not hang on a black-holed Redis.
// Without that option the call runs in a goroutine that allow can abandon,
// to end on rdb's own timeouts; that costs a second wake-up per call, about
// as much again as the round trip on loopback, hence the direct path.
func (l *Limiter) allow(ctx context.Context, b *budget) (*redis_rate.Result, error) {
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	if l.direct {
		res, err := l.rl.Allow(cctx, b.key, b.limit)
		switch {
		case err == nil:
			return res, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case cctx.Err() != nil:
			return nil, fmt.Errorf("no answer from Redis within %v: %w", l.timeout, err)
		}
		return nil, err
	}
	type answer struct {
		res *redis_rate.Result
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		res, err := l.rl.Allow(cctx, b.key, b.limit)
		ch <- answer{res, err}
	}()
	select {
	case a := <-ch:
		return a.res, a.err
	case <-cctx.Done():
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("no answer from Redis within %v", l.timeout)
	}
}
