package yesporedis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// reserveScript takes cost tokens from a GCRA budget whatever its state and
// returns, in seconds as a string, how long the caller must wait before
// using them: a reservation, where redis_rate's allow would refuse and let
// the caller ask again. One call per grant, however busy the budget.
//
// The state is redis_rate's (github.com/go-redis/redis_rate): the same key,
// the theoretical arrival time (TAT) in seconds since 2017 as a number, the
// same expiry. So a process running an older yesporedis, polling with
// redis_rate's allow, shares the same budget during a rolling deploy. A cost
// of 0 takes nothing and is the health probe.
var reserveScript = redis.NewScript(`
redis.replicate_commands()
local key = KEYS[1]
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local interval = period / rate
local jan_1_2017 = 1483228800
local now = redis.call("TIME")
now = (now[1] - jan_1_2017) + (now[2] / 1000000)
local tat = tonumber(redis.call("GET", key) or now)
tat = math.max(tat, now)
local new_tat = tat + interval * cost
local delay = new_tat - interval * burst - now
local reset_after = new_tat - now
if reset_after > 0 then
  redis.call("SET", key, new_tat, "EX", math.ceil(reset_after))
end
return tostring(math.max(delay, 0))
`)

// reserve asks Redis for one token of b and returns how long to wait before
// using it, giving up after l.timeout whatever rdb's own timeouts are:
// go-redis ignores ctx deadlines on reads unless ContextTimeoutEnabled, and
// a bot must not hang on a black-holed Redis. Without that option the call
// runs in a goroutine that reserve can abandon, to end on rdb's own
// timeouts; that costs a second wake-up per call, hence the direct path.
func (l *Limiter) reserve(ctx context.Context, b *budget, cost float64) (time.Duration, error) {
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	if l.direct {
		d, err := l.runReserve(cctx, b, cost)
		switch {
		case err == nil:
			return d, nil
		case ctx.Err() != nil:
			return 0, ctx.Err()
		case cctx.Err() != nil:
			return 0, fmt.Errorf("no answer from Redis within %v: %w", l.timeout, err)
		}
		return 0, err
	}
	type answer struct {
		d   time.Duration
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		d, err := l.runReserve(cctx, b, cost)
		ch <- answer{d, err}
	}()
	select {
	case a := <-ch:
		return a.d, a.err
	case <-cctx.Done():
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("no answer from Redis within %v", l.timeout)
	}
}

// runReserve is one round trip: EVALSHA, or EVAL the first time a Redis
// sees the script.
func (l *Limiter) runReserve(ctx context.Context, b *budget, cost float64) (time.Duration, error) {
	s, err := reserveScript.Run(ctx, l.rdb, []string{b.key},
		b.burst, b.rate, b.period.Seconds(), cost).Text()
	if err != nil {
		return 0, err
	}
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("the reservation script answered %q: %w", s, err)
	}
	return time.Duration(secs * float64(time.Second)), nil
}
