package pace

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Parties take turns at a budget: a party with a long queue (an import)
// and one with a few waiters (a bot) alternate, so the bot's waiters go
// out among the first turns, not after the import's queue.
func TestBudgetPartiesTakeTurns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(AccountRate, nil, false)
		b.Pause(time.Second) // let everyone queue before the first turn
		var imp, bot Party
		var mu sync.Mutex
		var order []string
		var wg sync.WaitGroup
		enqueue := func(p *Party, name string, n int) {
			for range n {
				wg.Go(func() {
					require.NoError(t, b.Wait(context.Background(), p))
					mu.Lock()
					order = append(order, name)
					mu.Unlock()
				})
				synctest.Wait() // queued in this order
			}
		}
		enqueue(&imp, "import", 10)
		enqueue(&bot, "bot", 3)
		wg.Wait()
		bots := 0
		for _, name := range order[:6] {
			if name == "bot" {
				bots++
			}
		}
		assert.Equal(t, 3, bots, "the bot's three waiters among the first six turns: %v", order)
	})
}

// A waiter whose ctx ends leaves the queue; the turn goes to the next.
func TestBudgetWaiterWithdraws(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(AccountRate, nil, false)
		b.Pause(time.Second)
		var p Party
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- b.Wait(ctx, &p) }()
		synctest.Wait()
		cancel()
		assert.ErrorIs(t, <-errc, context.Canceled)
		require.NoError(t, b.Wait(context.Background(), &p), "the queue is not stuck")
		b.mu.Lock()
		defer b.mu.Unlock()
		assert.Empty(t, b.parties)
	})
}

// An outage is declared after three failed attempts spanning a second,
// probes go one at a time on a growing interval, and the first 2xx ends
// it with a ramp from a small share of the best rate.
func TestRateOutageRules(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	r := newRateControl(AccountRate)
	r.answered(t0, t0, 503)
	r.answered(t0.Add(400*time.Millisecond), t0.Add(500*time.Millisecond), 503)
	assert.False(t, r.down(), "two failures")
	r.answered(t0.Add(600*time.Millisecond), t0.Add(700*time.Millisecond), 503)
	assert.False(t, r.down(), "three, over less than a second")
	r.answered(t0.Add(900*time.Millisecond), t0.Add(1100*time.Millisecond), 0)
	require.True(t, r.down(), "four, over more than a second")

	now := t0.Add(1100 * time.Millisecond)
	at, ok := r.probeAt(now)
	require.True(t, ok)
	assert.Equal(t, now.Add(outageProbeFirst), at)
	r.took(at, false)
	held, _ := r.probeAt(at)
	assert.True(t, held.After(at.Add(time.Second)), "no second probe while one is in flight")
	var waits []time.Duration
	for range 5 {
		r.answered(at, at.Add(100*time.Millisecond), 503)
		next, _ := r.probeAt(at.Add(100 * time.Millisecond))
		waits = append(waits, next.Sub(at.Add(100*time.Millisecond)))
		at = next
		r.took(at, false)
	}
	assert.Equal(t, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second}, waits)
	assert.True(t, r.answered(at, at.Add(100*time.Millisecond), 200), "a 2xx ends the outage")
	assert.False(t, r.down())
	assert.InDelta(t, AccountRate/16, r.rate, 1e-9, "the ramp starts low and doubles")
}
