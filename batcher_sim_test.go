package yespo_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
)

// 2,000 tokens queued when Yespo goes down for 20 s — answering 503, or
// 429 without Retry-After: the Batcher holds them instead of spending every
// batch's retries, probes one request at a time, and once Yespo is back
// every token is sent: none failed, Close done within 5 s of the return.
func TestSimOutageHoldsTheBacklog(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sim := newSim(200, 150*time.Millisecond)
				sim.outages = []simOutage{{from: 0, to: 20 * time.Second, status: status}}
				var reports onBatchCounter
				b, err := sim.client(t).NewBatcher(appUUID, yespo.BatcherOptions{OnBatch: reports.record})
				require.NoError(t, err)
				var added []string
				for i := range 2000 {
					tk := yespo.Token{Token: fmt.Sprint("out", i), ExternalCustomerID: "c"}
					require.NoError(t, b.Add(context.Background(), tk))
					added = append(added, tk.Token)
				}
				require.NoError(t, b.Close(context.Background()))
				back := time.Since(sim.start) - 20*time.Second
				st := b.Stats()
				during := sim.span(0, 20*time.Second)
				t.Logf("Close returned %v after Yespo came back; %d requests during the outage; %+v", back, during.total, st)
				assert.Zero(t, st.Failed)
				assert.LessOrEqual(t, back, 5*time.Second)
				assert.LessOrEqual(t, during.total, 40, "one probe at a time, at most every 2 s, after the retries of the first batches")
				assert.Zero(t, sim.lost(added))
				reports.assertReportedOnce(t, st)
			})
		})
	}
}

// Without a journal a held batch fails after MaxOutage.
func TestSimOutageLongerThanMaxOutageFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := newSim(200, 150*time.Millisecond)
		sim.outages = []simOutage{{from: 0, to: time.Hour, status: http.StatusServiceUnavailable}}
		b, err := sim.client(t).NewBatcher(appUUID, yespo.BatcherOptions{MaxOutage: 30 * time.Second})
		require.NoError(t, err)
		for i := range 1000 {
			require.NoError(t, b.Add(context.Background(), tok(i)))
		}
		err = b.Close(context.Background())
		took := time.Since(sim.start)
		require.ErrorIs(t, err, yespo.ErrServer)
		assert.ErrorContains(t, err, "1000 of 1000 tokens failed")
		assert.Greater(t, took, 30*time.Second, "held for MaxOutage")
		assert.Less(t, took, 40*time.Second, "and not much longer")
	})
}

// One token Yespo refuses with a 400 among 500 in a batch: the batch is
// split until that token fails alone; the 499 others are sent.
func TestSimSplitFindsTheRefusedToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := newSim(200, 150*time.Millisecond)
		sim.refuse = map[string]bool{tok(321).Token: true}
		var reports onBatchCounter
		b, err := sim.client(t).NewBatcher(appUUID, yespo.BatcherOptions{FlushInterval: time.Hour, OnBatch: reports.record})
		require.NoError(t, err)
		for i := range 499 {
			require.NoError(t, b.Add(context.Background(), tok(i)))
		}
		err = b.AddAndWait(context.Background(), tok(499))
		require.NoError(t, err, "its piece was sent")
		err = b.Close(context.Background())
		require.ErrorIs(t, err, yespo.ErrBadRequest)
		assert.ErrorContains(t, err, "1 of 500 tokens failed")
		st := b.Stats()
		assert.Equal(t, int64(499), st.Sent)
		assert.Equal(t, int64(1), st.Failed)
		assert.LessOrEqual(t, st.Attempts, int64(20), "a binary search, not one request per token")
		reports.assertReportedOnce(t, st)
		reports.mu.Lock()
		defer reports.mu.Unlock()
		assert.Equal(t, 1, reports.failed)
	})
}

// A 400 about the whole request, which every half gets too, costs about
// 2·log2 of the batch in requests, then fails the rest.
func TestSimSplitGivesUpOnRequestWide400(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := newSim(200, 150*time.Millisecond)
		sim.refuse = map[string]bool{}
		for i := range 500 {
			sim.refuse[tok(i).Token] = true
		}
		b, err := sim.client(t).NewBatcher(appUUID, yespo.BatcherOptions{FlushInterval: time.Hour})
		require.NoError(t, err)
		for i := range 500 {
			require.NoError(t, b.Add(context.Background(), tok(i)))
		}
		require.ErrorContains(t, b.Close(context.Background()), "500 of 500 tokens failed")
		assert.LessOrEqual(t, b.Stats().Attempts, int64(2*9+2))
	})
}

// Close keeps its word: with an OnBatch that blocks, it returns when its
// ctx ends (plus a little), and reports what it gave up on.
func TestSimCloseReturnsWithBlockingOnBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := newSim(200, 150*time.Millisecond)
		block := make(chan struct{})
		b, err := sim.client(t).NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: 5, Concurrency: 1, OnBatch: func(yespo.BatchResult) { <-block }})
		require.NoError(t, err)
		for i := range 20 {
			require.NoError(t, b.Add(context.Background(), tok(i)))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		began := time.Now()
		err = b.Close(ctx)
		took := time.Since(began)
		assert.LessOrEqual(t, took, time.Second+100*time.Millisecond)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorIs(t, err, yespo.ErrNotSent, "the batches behind the blocked callback never left")
		st := b.Stats()
		assert.Equal(t, st.Added, st.Sent+st.Failed+st.Duplicates+st.Held)
		close(block) // the callback running finishes behind Close
	})
}

// OnBatch may call Flush and Close: neither deadlocks.
func TestSimCloseAndFlushFromOnBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := newSim(200, 150*time.Millisecond)
		var b *yespo.Batcher
		var first atomic.Bool
		errs := make(chan error, 2)
		b, err := sim.client(t).NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: 5, OnBatch: func(yespo.BatchResult) {
			if first.CompareAndSwap(false, true) {
				errs <- b.Flush(context.Background())
				errs <- b.Close(context.Background())
			}
		}})
		require.NoError(t, err)
		for i := range 20 {
			require.NoError(t, b.Add(context.Background(), tok(i)))
		}
		require.NoError(t, <-errs, "Flush from OnBatch")
		require.NoError(t, <-errs, "Close from OnBatch")
		require.NoError(t, b.Close(context.Background()))
		assert.Equal(t, int64(20), b.Stats().Sent)
	})
}

// A batch a Close gave up on before it left says so.
func TestSimNotSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := newSim(200, 150*time.Millisecond)
		sim.outages = []simOutage{{from: 0, to: time.Hour, status: http.StatusServiceUnavailable}}
		b, err := sim.client(t).NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: 5, Concurrency: 1})
		require.NoError(t, err)
		for i := range 9 {
			require.NoError(t, b.Add(context.Background(), tok(i)))
		}
		waited := make(chan error, 1)
		go func() { waited <- b.AddAndWait(context.Background(), tok(9)) }()
		time.Sleep(10 * time.Second) // down, held
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err = b.Close(ctx)
		require.ErrorIs(t, err, context.Canceled)
		werr := <-waited
		assert.True(t, errors.Is(werr, yespo.ErrNotSent) || errors.Is(werr, yespo.ErrServer) || errors.Is(werr, context.Canceled), "%v", werr)
		assert.Equal(t, int64(10), b.Stats().Failed)
	})
}

// A bot's /start burst: 2,000 users in one second, each handler waiting
// for its user's token, on an account limited to 200 requests per second.
// With the default options every user is stored within 5 s, in at most 100
// requests, none answered 429.
func TestSimAddAndWaitBurstOfStarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := newSim(200, 150*time.Millisecond)
		b, err := sim.client(t).NewBatcher(appUUID, yespo.BatcherOptions{})
		require.NoError(t, err)
		const users = 2000
		var wg sync.WaitGroup
		var mu sync.Mutex
		var slowest time.Duration
		var added []string
		for i := range users {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * time.Second / users)
				tk := yespo.Token{Token: fmt.Sprint("start", i), ExternalCustomerID: "c"}
				began := time.Now()
				assert.NoError(t, b.AddAndWait(context.Background(), tk))
				mu.Lock()
				slowest = max(slowest, time.Since(began))
				added = append(added, tk.Token)
				mu.Unlock()
			})
		}
		wg.Wait()
		took := time.Since(sim.start)
		require.NoError(t, b.Close(context.Background()))
		all := sim.span(0, time.Hour)
		t.Logf("%d /start in 1 s: all stored after %v, slowest AddAndWait %v, %d requests, %d answered 429", users, took, slowest, all.total, all.limited)
		assert.Zero(t, sim.lost(added))
		assert.Less(t, took, 5*time.Second)
		assert.LessOrEqual(t, slowest, 500*time.Millisecond, "FlushInterval + a round trip")
		assert.LessOrEqual(t, all.total, 100)
		assert.Zero(t, all.limited)
	})
}

// A burst of 5,000 /start within a second from 100 goroutines, fire and
// forget: batching keeps it to a handful of requests and no 429.
func TestSimBurstStaysUnderRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := newSim(200, 150*time.Millisecond)
		b, err := sim.client(t).NewBatcher(appUUID, yespo.BatcherOptions{})
		require.NoError(t, err)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var added []string
		for g := range 100 {
			wg.Go(func() {
				for i := range 50 {
					time.Sleep(20 * time.Millisecond)
					tk := yespo.Token{Token: fmt.Sprint("burst", g, "-", i), ExternalCustomerID: "c"}
					assert.NoError(t, b.Add(context.Background(), tk))
					mu.Lock()
					added = append(added, tk.Token)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		require.NoError(t, b.Close(context.Background()))
		all := sim.span(0, time.Hour)
		t.Logf("burst: 5000 Adds from 100 goroutines in 1 s: %d requests, %d answered 429", all.total, all.limited)
		assert.Zero(t, sim.lost(added))
		assert.Zero(t, all.limited)
		assert.LessOrEqual(t, all.total, 20)
	})
}
