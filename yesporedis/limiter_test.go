package yesporedis_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/yesporedis"
	"github.com/yespo-go/yespo/yesporedis/redistest"
)

func TestNewLimiterPanicsOnBadArguments(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	for name, f := range map[string]func(){
		"nil rdb":             func() { yesporedis.NewLimiter(nil, "k", 200) },
		"empty key":           func() { yesporedis.NewLimiter(rdb, "", 200) },
		"zero rate":           func() { yesporedis.NewLimiter(rdb, "k", 0) },
		"burst 0":             func() { yesporedis.NewLimiter(rdb, "k", 200, yesporedis.WithBurst(0)) },
		"headroom 1":          func() { yesporedis.NewLimiter(rdb, "k", 200, yesporedis.WithHeadroom(1)) },
		"share 0":             func() { yesporedis.NewLimiter(rdb, "k", 200, yesporedis.WithFallbackShare(0)) },
		"nil logger":          func() { yesporedis.NewLimiter(rdb, "k", 200, yesporedis.WithLogger(nil)) },
		"zero timeout":        func() { yesporedis.NewLimiter(rdb, "k", 200, yesporedis.WithRedisTimeout(0)) },
		"zero probe interval": func() { yesporedis.NewLimiter(rdb, "k", 200, yesporedis.WithProbeInterval(0)) },
		"ceiling rate 0":      func() { yesporedis.NewLimiter(rdb, "k", 200, yesporedis.WithCeiling("b", 0)) },
		"ceiling on account":  func() { yesporedis.NewLimiter(rdb, "k", 200, yesporedis.WithCeiling("k", 100)) },
	} {
		assert.Panics(t, f, name)
	}
	assert.PanicsWithValue(t, "yesporedis: NewLimiter: rdb is nil; perSecond is 0: must be positive",
		func() { yesporedis.NewLimiter(nil, "k", 0) }, "the message names every problem")
}

// TestWaitHonoursCtx: a done ctx ends Wait at once with ctx.Err(), before
// Redis is asked, while sleeping for RetryAfter, and while pacing locally.
func TestWaitHonoursCtx(t *testing.T) {
	rs := redistest.Start(t)
	lim := yesporedis.NewLimiter(rs.Client(), "slow", 1, yesporedis.WithLogger(quiet))

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, lim.Wait(canceled), context.Canceled, "a canceled ctx")

	require.NoError(t, lim.Wait(context.Background()), "the one token of the second")
	assertEndsWithCtx(t, lim, "sleeping for Redis's RetryAfter")

	rs.Kill()
	dead := yesporedis.NewLimiter(rs.Client(), "slow", 1, yesporedis.WithLogger(quiet))
	require.NoError(t, dead.Wait(context.Background()), "the fallback's one token")
	assertEndsWithCtx(t, dead, "pacing with the local limiter")
}

// assertEndsWithCtx checks that a Wait which would last about a second ends
// with ctx's 50 ms deadline, returning ctx's error rather than one of its
// own.
func assertEndsWithCtx(t *testing.T, lim *yesporedis.Limiter, while string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := lim.Wait(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded, while)
	assert.Equal(t, ctx.Err(), err, while)
	assert.Less(t, time.Since(start), 500*time.Millisecond, while)
}

// WaitWindow weighs its token by its window: the budget's theoretical
// arrival time in Redis moves on by window's seconds of the rate, so that
// any span of window lets through the per-second rate; under a second it
// counts as Wait.
func TestWaitWindowWeighsTheTokenByItsWindow(t *testing.T) {
	rs := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	ctx := context.Background()
	interval := time.Second / 10 * 100 / 95 // 10 a second, less the default headroom of 5 %
	for _, tc := range []struct {
		window time.Duration // 0: Wait
		moves  time.Duration
	}{{0, interval}, {2 * time.Second, 2 * interval}, {1500 * time.Millisecond, 3 * interval / 2}, {500 * time.Millisecond, interval}} {
		key := "ww:" + tc.window.String()
		lim := yesporedis.NewLimiter(rdb, key, 10, yesporedis.WithBurst(5)) // a burst: no wait
		if tc.window == 0 {
			require.NoError(t, lim.Wait(ctx))
		} else {
			require.NoError(t, lim.WaitWindow(ctx, tc.window))
		}
		tat, err := rdb.Get(ctx, "rate:"+key).Float64()
		require.NoError(t, err)
		now, err := rdb.Time(ctx).Result()
		require.NoError(t, err)
		ahead := time.Duration((tat - now.Sub(time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)).Seconds()) * float64(time.Second))
		assert.InDelta(t, tc.moves.Seconds(), ahead.Seconds(), 0.02, "window %v: the budget moved on by %v", tc.window, ahead)
	}
}
