package yesporedis_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/yespo-go/yespo"
)

// timedLimiter records how long each Wait took, to tell time spent held back
// by the limiter from time spent doing the work.
type timedLimiter struct {
	lim yespo.Limiter

	mu    sync.Mutex
	waits []time.Duration
}

func (tl *timedLimiter) Wait(ctx context.Context) error {
	start := time.Now()
	err := tl.lim.Wait(ctx)
	d := time.Since(start)
	tl.mu.Lock()
	tl.waits = append(tl.waits, d)
	tl.mu.Unlock()
	return err
}

// total is the time spent in Wait.
func (tl *timedLimiter) total() time.Duration {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var sum time.Duration
	for _, d := range tl.waits {
		sum += d
	}
	return sum
}

// quantile returns the q-quantile of the Wait durations (q in [0, 1]).
func (tl *timedLimiter) quantile(q float64) time.Duration {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if len(tl.waits) == 0 {
		return 0
	}
	s := slices.Clone(tl.waits)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// busy makes workers goroutines call Yespo through c back to back until ctx
// is done: a replica with more work than the budget lets through.
func busy(ctx context.Context, c *yespo.Client, workers int, wg *sync.WaitGroup) {
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_ = c.MuteAppToken(ctx, testAppUUID, "42", 0)
			}
		}()
	}
}

// shareResult is what one run of replicas against the fake measured.
type shareResult struct {
	perSecond float64 // accepted requests per second
	limited   float64 // share of answers that were 429
	waitShare float64 // share of the workers' time spent in Wait
}

// runShare runs one busy replica per limiter, workers goroutines each, for
// d against y and measures the lot.
func runShare(y *slidingYespo, t testing.TB, lims []yespo.Limiter, workers int, d time.Duration) shareResult {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	timed := make([]*timedLimiter, len(lims))
	start := time.Now()
	var wg sync.WaitGroup
	for i, lim := range lims {
		timed[i] = &timedLimiter{lim: lim}
		busy(ctx, y.client(t, "replica", timed[i]), workers, &wg)
	}
	wg.Wait()
	elapsed := time.Since(start)
	ok, limited := y.tally("replica", start)
	var waited time.Duration
	for _, tl := range timed {
		waited += tl.total()
	}
	return shareResult{
		perSecond: float64(ok) / elapsed.Seconds(),
		limited:   float64(limited) / float64(max(1, ok+limited)),
		waitShare: waited.Seconds() / (elapsed.Seconds() * float64(len(lims)*workers)),
	}
}
