package yesporedis_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/yesporedis"
	"github.com/yespo-go/yespo/yesporedis/redistest"
)

// TestRedisCrashAndReturn kills Redis under a busy replica, checks that calls
// go on at the fallback share, restarts Redis on the same port and checks
// that the limiter shares the budget through it again. Each change is
// logged once.
func TestRedisCrashAndReturn(t *testing.T) {
	rs := redistest.Start(t)
	y := newSlidingYespo(t, 200)
	var logs logBuffer
	rdb := rs.Client()
	lim := &timedLimiter{lim: yesporedis.NewLimiter(rdb, "yespo:acct", 200,
		yesporedis.WithLogger(logs.logger()), yesporedis.WithProbeInterval(100*time.Millisecond))}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	busy(ctx, y.client(t, "bot", lim), 2, &wg)

	// Shared: the budget lives in Redis.
	waitFor(t, "the first calls", func() bool { ok, _ := y.tally("bot", time.Time{}); return ok >= 20 })
	require.Equal(t, int64(1), keyCount(rs.Addr, "rate:yespo:acct"), "the budget's key in Redis")

	rs.Kill()
	waitFor(t, "the fallback's log record", func() bool { return logs.count(logDown) > 0 })
	down := time.Now()
	waitFor(t, "calls during the outage", func() bool { ok, _ := y.tally("bot", down); return ok >= 30 })
	okDown, limitedDown := y.tally("bot", down)
	perSecond := float64(okDown) / time.Since(down).Seconds()
	t.Logf("during the outage: %d calls at %.0f/s, %d answered 429", okDown, perSecond, limitedDown)
	assert.Zero(t, limitedDown, "429s at a third of the rate")
	// A third of 190/s plus the burst; well over 200/s would mean no limit.
	assert.Less(t, perSecond, 120.0, "the fallback limiter's pace")

	rs.Restart()
	waitFor(t, "the return's log record", func() bool { return logs.count(logBack) > 0 })
	back := time.Now()
	waitFor(t, "calls after the return", func() bool { ok, _ := y.tally("bot", back); return ok >= 20 })
	assert.Equal(t, int64(1), keyCount(rs.Addr, "rate:yespo:acct"), "the budget's key in the new Redis")
	cancel()
	wg.Wait()

	assert.Equal(t, 1, logs.count(logDown), "outage records:\n%s", logs.String())
	assert.Equal(t, 1, logs.count(logBack), "return records:\n%s", logs.String())
	// Refused connections fail fast and only the probe tries Redis in an
	// outage, so a Wait takes a few fallback slots. The bound is ten times
	// the Redis timeout: only a Wait stuck on go-redis's own timeouts
	// (5 s to dial) passes it.
	assert.Less(t, lim.quantile(1), 10*250*time.Millisecond, "the longest Wait")
}

// TestRedisNeverThere: a limiter whose Redis has never been up still lets
// calls through, at its fallback pace, from the first Wait on.
func TestRedisNeverThere(t *testing.T) {
	port, err := freePort()
	require.NoError(t, err)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + itoa(port)})
	defer rdb.Close()
	var logs logBuffer
	lim := yesporedis.NewLimiter(rdb, "k", 300, yesporedis.WithLogger(logs.logger()))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for range 20 {
		require.NoError(t, lim.Wait(ctx))
	}
	assert.Equal(t, 1, logs.count(logDown), logs.String())
}

// TestRedisBlackHole: a Redis that takes the connection but never answers
// costs one Wait the Redis timeout, and the next Waits do not try it until
// the probe interval is over, whatever go-redis's own (3 s) read timeout:
// with ContextTimeoutEnabled and without (the two ways Wait calls Redis).
func TestRedisBlackHole(t *testing.T) {
	for _, ctxTimeouts := range []bool{false, true} {
		t.Run(fmt.Sprintf("ContextTimeoutEnabled=%v", ctxTimeouts), func(t *testing.T) {
			testBlackHole(t, ctxTimeouts)
		})
	}
}

func testBlackHole(t *testing.T, ctxTimeouts bool) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns sync.WaitGroup
	defer func() { ln.Close(); conns.Wait() }()
	accepted := make(chan struct{}, 100) // one per connection taken
	conns.Add(1)
	go func() { // accept and hold, never answer
		defer conns.Done()
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
			accepted <- struct{}{}
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), MaxRetries: -1, ContextTimeoutEnabled: ctxTimeouts})
	defer rdb.Close()
	lim := yesporedis.NewLimiter(rdb, "k", 1000, yesporedis.WithLogger(quiet),
		yesporedis.WithRedisTimeout(50*time.Millisecond), yesporedis.WithProbeInterval(time.Hour))

	start := time.Now()
	require.NoError(t, lim.Wait(context.Background()))
	first := time.Since(start)
	assert.GreaterOrEqual(t, first, 50*time.Millisecond, "the first Wait waits for Redis")
	assert.Less(t, first, 10*50*time.Millisecond, "the first Wait gives up on Redis after its timeout")
	<-accepted // the first Wait's connection

	for range 10 {
		require.NoError(t, lim.Wait(context.Background()))
	}
	// A Wait that tried Redis again would need a connection: the first is
	// stuck (held by go-redis until its read timeout, or closed).
	ln.Close()
	conns.Wait()
	assert.Empty(t, accepted, "connections taken after the first Wait: the next Waits tried Redis")
}

// keyCount tells whether key exists on the Redis at addr (1) or not (0).
func keyCount(addr, key string) int64 {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	n, err := c.Exists(context.Background(), key).Result()
	if err != nil {
		return -1
	}
	return n
}

// waitFor polls cond until it holds, failing the test after 10 s. The
// deadline only bounds a hung test; what passes is decided by cond.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after 10 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
