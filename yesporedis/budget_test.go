package yesporedis_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yesporedis"
	"github.com/yespo-go/yespo/yesporedis/redistest"
	"github.com/yespo-go/yespo/yespotest"
)

func TestBudgetLimiterKeys(t *testing.T) {
	assert.Equal(t, "yespo:acct", yesporedis.BudgetKey("yespo:acct", yespo.BudgetAccount), "NewLimiter's key")
	assert.Equal(t, "yespo:acct:event", yesporedis.BudgetKey("yespo:acct", yespo.BudgetEvent))
	assert.Equal(t, "yespo:acct:contact-lookup", yesporedis.BudgetKey("yespo:acct", yespo.BudgetContactLookup))

	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	assert.PanicsWithValue(t, "yesporedis: NewBudgetLimiter: unknown budget Budget(0)",
		func() { yesporedis.NewBudgetLimiter(rdb, "k", 0) })
	assert.PanicsWithValue(t, "yesporedis: NewBudgetLimiter: account is empty",
		func() { yesporedis.NewBudgetLimiter(rdb, "", yespo.BudgetEvent) })
	assert.Panics(t, func() { yesporedis.NewBudgetLimiter(nil, "k", yespo.BudgetEvent) })
}

// A budget limiter takes from its own key at its budget's rate, and from
// no other: two processes' event limiters share one budget — however busy,
// together they get no more than its burst plus 332.5/s (350 less the
// headroom) — and the account's key is left untouched: its whole burst is
// still there.
func TestBudgetLimiterDrawsFromItsKey(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	var lims []*yesporedis.Limiter
	for range 2 {
		lims = append(lims, yesporedis.NewBudgetLimiter(rs.Client(), "yespo:acct", yespo.BudgetEvent, yesporedis.WithLogger(quiet)))
	}
	var mu sync.Mutex
	granted := 0
	start := time.Now()
	var wg sync.WaitGroup
	for _, l := range lims {
		for range 4 {
			wg.Go(func() {
				for time.Since(start) < 600*time.Millisecond {
					require.NoError(t, l.Wait(ctx))
					mu.Lock()
					granted++
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	const burst = 9 // round(350 × 0.05 / 2)
	t.Logf("%d Waits granted in %.2f s: %.1f/s", granted, elapsed, float64(granted)/elapsed)
	assert.LessOrEqual(t, float64(granted), burst+332.5*elapsed+1, "the two processes share one event budget")

	account := yesporedis.NewLimiter(rs.Client(), "yespo:acct", 200, yesporedis.WithLogger(quiet), yesporedis.WithBurst(100))
	start = time.Now()
	for range 100 {
		require.NoError(t, account.Wait(ctx))
	}
	assert.Less(t, time.Since(start), 250*time.Millisecond, "the account's burst is whole: no event drew from it")
	n, err := rs.Client().Exists(ctx, "rate:yespo:acct:event", "rate:yespo:acct").Result()
	require.NoError(t, err)
	assert.EqualValues(t, 2, n, "one Redis key per budget")
}

// Two replicas, each a Client with its own Redis connection and a limiter
// per budget, all busy sending tokens and events to a fake with Yespo's
// windows (200/s for the account, 350/s for events): together they stay
// within each budget (no more than 0.5 % answered 429, the limiter's
// promise), and the events go beyond the account's 200/s.
func TestBudgetLimitersShareEachBudget(t *testing.T) {
	rs := redistest.Start(t)
	ys := yespotest.NewServer(yespotest.WithRateLimit(200), yespotest.WithBudgetRateLimit(yespo.BudgetEvent, 350),
		yespotest.WithLatency(20*time.Millisecond), yespotest.WithoutHistory())
	defer ys.Close()
	app := ys.NewApp()

	type tally struct{ ok, limited, failed int }
	var mu sync.Mutex
	counts := map[string]*tally{"events": {}, "tokens": {}}
	record := func(kind string, err error, counted bool) {
		if !counted {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch c := counts[kind]; {
		case err == nil:
			c.ok++
		case errors.Is(err, yespo.ErrRateLimited):
			c.limited++
		default:
			c.failed++
			t.Log(err)
		}
	}
	warm, run := 500*time.Millisecond, 2500*time.Millisecond
	start := time.Now()
	var wg sync.WaitGroup
	for r := range 2 {
		rdb := rs.Client()
		c := ys.Client(yespo.WithRetry(0, 0, 0),
			yespo.WithRateLimiter(yesporedis.NewBudgetLimiter(rdb, "yespo:acct", yespo.BudgetAccount, yesporedis.WithLogger(quiet))),
			yespo.WithBudgetLimiter(yespo.BudgetEvent, yesporedis.NewBudgetLimiter(rdb, "yespo:acct", yespo.BudgetEvent, yesporedis.WithLogger(quiet))))
		for g := range 8 {
			wg.Go(func() {
				for i := 0; time.Since(start) < run; i++ {
					err := c.SendEvent(context.Background(), yespo.Event{TypeKey: "t", KeyValue: fmt.Sprint(r, "-", g, "-", i)})
					record("events", err, time.Since(start) > warm)
				}
			})
		}
		for g := range 4 {
			wg.Go(func() {
				for i := 0; time.Since(start) < run; i++ {
					err := c.AddAppTokens(context.Background(), app, []yespo.Token{{Token: fmt.Sprint(r, "-", g, "-", i), Email: "a@example.com"}})
					record("tokens", err, time.Since(start) > warm)
				}
			})
		}
	}
	wg.Wait()
	secs := (run - warm).Seconds()
	for kind, c := range counts {
		total := c.ok + c.limited + c.failed
		t.Logf("%s: %.1f/s accepted, %d answered 429 of %d, %d failed otherwise", kind, float64(c.ok)/secs, c.limited, total, c.failed)
		require.NotZero(t, total, kind)
		assert.LessOrEqual(t, float64(c.limited)/float64(total), 0.005, "%s answered 429", kind)
		assert.Zero(t, c.failed, kind)
	}
	perSecond := float64(counts["events"].ok) / secs
	switch {
	case perSecond > 200:
	case raceEnabled:
		t.Logf("under -race on a loaded machine, events at %.1f/s: not asserted beyond the account's 200", perSecond)
	default:
		t.Errorf("events at %.1f/s: want more than the account's 200, from their own 350", perSecond)
	}
}
