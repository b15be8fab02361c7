package yesporedis_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/yesporedis"
	"github.com/yespo-go/yespo/yesporedis/redistest"
)

// scriptCalls is how many times Redis ran a script since the last reset.
func scriptCalls(t *testing.T, admin *redis.Client) int64 {
	t.Helper()
	m := info(t, admin, "commandstats")
	return stat(m, "cmdstat_evalsha", "calls") + stat(m, "cmdstat_eval", "calls")
}

// TestQueuedWaitersCostNothing: Waits queued behind the one dealing with
// Redis leave at once when their ctx ends, without a call to Redis; the
// reservation of a Wait cancelled before its slot goes to the next in line,
// again without a call.
func TestQueuedWaitersCostNothing(t *testing.T) {
	rs := redistest.Start(t)
	admin := rs.Client()
	// 2 per second, burst 1: the second Wait sleeps ~0.5 s for its slot.
	lim := yesporedis.NewLimiter(rs.Client(), "q", 2, yesporedis.WithBurst(1), yesporedis.WithHeadroom(0), yesporedis.WithLogger(quiet))
	ctx := context.Background()
	require.NoError(t, lim.Wait(ctx), "the first token")
	require.NoError(t, admin.ConfigResetStat(ctx).Err())

	headCtx, cancelHead := context.WithCancel(ctx)
	headDone := make(chan error, 1)
	go func() { headDone <- lim.Wait(headCtx) }()
	waitFor(t, "the head's reservation", func() bool { return scriptCalls(t, admin) == 1 })

	queued, cancelQueued := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() { errs <- lim.Wait(queued) })
	}
	time.Sleep(20 * time.Millisecond) // let them queue; if they have not, the test is only weaker
	start := time.Now()
	cancelQueued()
	wg.Wait()
	close(errs)
	assert.Less(t, time.Since(start), 300*time.Millisecond, "queued Waits leave at once, not at the head's slot")
	for err := range errs {
		assert.ErrorIs(t, err, context.Canceled)
	}
	assert.Equal(t, int64(1), scriptCalls(t, admin), "script calls: the head's reservation only")

	// The head gives up before its slot; the next Wait inherits the slot.
	cancelHead()
	assert.ErrorIs(t, <-headDone, context.Canceled)
	require.NoError(t, lim.Wait(ctx), "the next Wait, on the head's reservation")
	assert.Equal(t, int64(1), scriptCalls(t, admin), "script calls: still the head's reservation only")
}

// TestSharesStateWithRedisRate: the reservations are made on redis_rate's
// state, so a process still polling with redis_rate (an older yesporedis,
// during a rolling deploy) sees the tokens this one took, and the other
// way round.
func TestSharesStateWithRedisRate(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	// One token a second: a slow machine cannot let one come back in the
	// meantime.
	lim := yesporedis.NewLimiter(rs.Client(), "mixed", 1, yesporedis.WithBurst(5), yesporedis.WithHeadroom(0), yesporedis.WithLogger(quiet))
	old := redis_rate.NewLimiter(rs.Client())
	limit := redis_rate.Limit{Rate: 1, Burst: 5, Period: time.Second}

	for range 5 {
		require.NoError(t, lim.Wait(ctx), "the burst")
	}
	res, err := old.Allow(ctx, "mixed", limit)
	require.NoError(t, err)
	assert.Zero(t, res.Allowed, "redis_rate after the new limiter took the burst")
	assert.Positive(t, res.RetryAfter, "redis_rate's wait: up to a second")

	// And the other way: with the burst taken by redis_rate, a Wait
	// reserves a slot in the future; a ctx shorter than that ends it.
	require.NoError(t, rs.Client().Del(ctx, "rate:mixed").Err())
	res, err = old.AllowN(ctx, "mixed", limit, 5)
	require.NoError(t, err)
	require.Equal(t, 5, res.Allowed)
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, lim.Wait(short), context.DeadlineExceeded, "the new limiter after redis_rate took the burst")
}
