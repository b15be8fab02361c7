package yespo_test

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespotest"
)

// bucket is a token bucket of one token refilled rate times a second, like
// rate.NewLimiter(rate, 1) from golang.org/x/time/rate, which the root
// module does not depend on.
type bucket struct {
	mu       sync.Mutex
	next     time.Time
	interval time.Duration
}

func newBucket(perSecond int) *bucket {
	return &bucket{interval: time.Second / time.Duration(perSecond)}
}

func (l *bucket) Wait(ctx context.Context) error {
	l.mu.Lock()
	at := time.Now()
	if l.next.After(at) {
		at = l.next
	}
	l.next = at.Add(l.interval)
	l.mu.Unlock()
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// paceRun is one run of the budget experiment: a backlog of tokens through
// a Batcher with the default pacing options into a fake Yespo that is
// latency away and answers 429 beyond 200 requests in any second.
type paceRun struct {
	limit   int // the server's requests per second; 0 means Yespo's 200
	latency time.Duration
	limiter bool          // the client has a 200/s limiter (WithRateLimiter)
	sendFor time.Duration // producers keep the Batcher's queue full this long
	warmup  time.Duration // left out of the measured rate
}

// paceResult is what a run measured.
type paceResult struct {
	run     paceRun
	budget  float64 // requests accepted per second in the steady part, over 200
	sent    float64 // requests sent per second in the steady part, over 200
	limited float64 // share of all requests answered 429
	lost    int64   // tokens added and not stored (must be 0)
	stats   yespo.BatcherStats
	reqs    int
	maxGap  time.Duration // longest time without a request arriving
	gapAt   time.Duration // since the start
}

func (r paceResult) String() string {
	return fmt.Sprintf("%v limiter=%v: sent %.2f, accepted %.2f of %d req/s, %.1f %% answered 429 (%d requests, %d attempts seen), %d tokens lost, pace %.0f/s, longest gap %v at %v",
		r.run.latency, r.run.limiter, r.sent, r.budget, cmp.Or(r.run.limit, 200), 100*r.limited, r.reqs, r.stats.Attempts, r.lost, r.stats.Pace, r.maxGap.Round(time.Millisecond), r.gapAt.Round(time.Millisecond))
}

// paceBatch is the batch size of the runs: small, so that 200 requests a
// second need few tokens and the race detector keeps up. Concurrency,
// FlushInterval and the pacing are the defaults, and MaxPending keeps the
// default's 200 batches in circulation.
const paceBatch = 10

func (p paceRun) run(t testing.TB) paceResult {
	limit := cmp.Or(p.limit, 200)
	srv := yespotest.NewServer(yespotest.WithRateLimit(limit), yespotest.WithLatency(p.latency))
	defer srv.Close()
	app := srv.NewApp()
	opts := []yespo.Option{yespo.WithRetry(3, 250*time.Millisecond, 5*time.Second)} // the SDK's default policy
	if p.limiter {
		opts = append(opts, yespo.WithRateLimiter(newBucket(200)))
	}
	b, err := srv.Client(opts...).NewBatcher(app, yespo.BatcherOptions{MaxBatch: paceBatch, MaxPending: 200 * paceBatch})
	require.NoError(t, err)

	start := time.Now()
	stop := start.Add(p.sendFor)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if err := b.Add(context.Background(), tok(int(next.Add(1)))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, b.Close(context.Background()))

	r := paceResult{run: p, stats: b.Stats()}
	var ok, sent, limited int
	reqs := srv.Requests()
	for _, q := range reqs {
		if q.Status == http.StatusTooManyRequests {
			limited++
		}
		if !q.Time.Before(start.Add(p.warmup)) && q.Time.Before(stop) {
			sent++
			if q.Status == http.StatusOK {
				ok++
			}
		}
	}
	r.reqs = len(reqs)
	for i := 1; i < len(reqs); i++ {
		if gap := reqs[i].Time.Sub(reqs[i-1].Time); gap > r.maxGap {
			r.maxGap, r.gapAt = gap, reqs[i-1].Time.Sub(start)
		}
	}
	steady := (p.sendFor - p.warmup).Seconds()
	r.budget = float64(ok) / steady / float64(limit)
	r.sent = float64(sent) / steady / float64(limit)
	r.limited = float64(limited) / float64(len(reqs))
	stored := map[string]bool{}
	for _, c := range srv.Contacts() {
		for _, ct := range c.Tokens {
			stored[ct.Token] = true
		}
	}
	r.lost = next.Load() - int64(len(stored))
	return r
}

var paceLatencies = []time.Duration{20 * time.Millisecond, 150 * time.Millisecond, 300 * time.Millisecond}

// BenchmarkPace prints the budget table: latency × limiter → share of 200
// req/s used, share answered 429, tokens lost. Each run takes 4 s whatever
// b.N; run it with -benchtime=1x.
func BenchmarkPace(b *testing.B) {
	for _, lat := range paceLatencies {
		for _, limiter := range []bool{true, false} {
			b.Run(fmt.Sprintf("latency=%v/limiter=%v", lat, limiter), func(b *testing.B) {
				var r paceResult
				for range b.N {
					r = paceRun{latency: lat, limiter: limiter, sendFor: 4 * time.Second, warmup: time.Second}.run(b)
				}
				b.ReportMetric(r.sent, "sent")
				b.ReportMetric(r.budget, "accepted")
				b.ReportMetric(100*r.limited, "%429")
				b.ReportMetric(float64(r.lost), "lost")
				b.ReportMetric(r.stats.Pace, "pace/s")
			})
		}
	}
	// An account whose budget other clients share: the pace must find a
	// limit below the documented one by itself.
	for _, lat := range paceLatencies {
		b.Run(fmt.Sprintf("limit=100/latency=%v/limiter=false", lat), func(b *testing.B) {
			var r paceResult
			for range b.N {
				r = paceRun{limit: 100, latency: lat, sendFor: 4 * time.Second, warmup: time.Second}.run(b)
			}
			b.ReportMetric(r.sent, "sent")
			b.ReportMetric(r.budget, "accepted")
			b.ReportMetric(100*r.limited, "%429")
			b.ReportMetric(float64(r.lost), "lost")
			b.ReportMetric(r.stats.Pace, "pace/s")
		})
	}
}
