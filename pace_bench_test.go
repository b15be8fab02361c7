package yespo_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/yespo-go/yespo"
)

// The simulator's scenarios on the wall clock: the same fake Yespo (a
// sliding one-second window of 200, 150 ms, 429 without Retry-After) as the
// synctest tests, driven in real time, for BENCHMARKS.md. Each runs its
// fixed length whatever b.N: run them with -benchtime=1x.

func BenchmarkWallSteadyState(b *testing.B) {
	for range b.N {
		sim := newSim(200, 150*time.Millisecond)
		bt, _ := sim.client(b).NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: simBatch, MaxPending: 200 * simBatch})
		added := feed(b, bt, "s", sim.start.Add(10*time.Second))
		_ = bt.Close(context.Background())
		steady := sim.span(2*time.Second, 10*time.Second)
		at, _ := sim.firstWindowAt(180)
		b.ReportMetric(steady.used(200), "used")
		b.ReportMetric(100*sim.span(0, time.Hour).share429(), "%429")
		b.ReportMetric(at.Seconds(), "s-to-0.9")
		b.ReportMetric(float64(sim.lost(added)), "lost")
	}
}

func BenchmarkWallOtherConsumer(b *testing.B) {
	for _, limiter := range []bool{false, true} {
		b.Run(fmt.Sprintf("limiter190=%v", limiter), func(b *testing.B) {
			for range b.N {
				sim := newSim(200, 150*time.Millisecond)
				const third = 10 * time.Second
				go sim.consume(100, third, 2*third)
				var opts []yespo.Option
				if limiter {
					opts = append(opts, yespo.WithRateLimiter(newBucket(190)))
				}
				bt, _ := sim.client(b, opts...).NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: simBatch, MaxPending: 200 * simBatch})
				added := feed(b, bt, "o", sim.start.Add(3*third))
				_ = bt.Close(context.Background())
				for i := range 3 {
					st := sim.span(time.Duration(i)*third, time.Duration(i+1)*third)
					b.ReportMetric(st.used(200), fmt.Sprintf("used-third%d", i+1))
				}
				b.ReportMetric(100*sim.span(0, time.Hour).share429(), "%429")
				b.ReportMetric(float64(sim.lost(added)), "lost")
			}
		})
	}
}

func BenchmarkWallTwoBatchers(b *testing.B) {
	for range b.N {
		sim := newSim(200, 150*time.Millisecond)
		c := sim.client(b)
		done := make(chan []string, 2)
		for i := range 2 {
			bt, _ := c.NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: simBatch, MaxPending: 200 * simBatch})
			go func() {
				added := feed(b, bt, string(rune('a'+i)), sim.start.Add(10*time.Second))
				_ = bt.Close(context.Background())
				done <- added
			}()
		}
		lost := sim.lost(<-done) + sim.lost(<-done)
		b.ReportMetric(sim.span(2*time.Second, 10*time.Second).used(200), "used")
		b.ReportMetric(100*sim.span(0, time.Hour).share429(), "%429")
		b.ReportMetric(float64(lost), "lost")
	}
}

func BenchmarkWallOutage(b *testing.B) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		b.Run(fmt.Sprint(status), func(b *testing.B) {
			for range b.N {
				sim := newSim(200, 150*time.Millisecond)
				sim.outages = []simOutage{{from: 0, to: 20 * time.Second, status: status}}
				bt, _ := sim.client(b).NewBatcher(appUUID, yespo.BatcherOptions{})
				for i := range 2000 {
					_ = bt.Add(context.Background(), yespo.Token{Token: fmt.Sprint("out", i), ExternalCustomerID: "c"})
				}
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				_ = bt.Close(ctx)
				cancel()
				b.ReportMetric(float64(bt.Stats().Failed), "failed")
				b.ReportMetric((time.Since(sim.start) - 20*time.Second).Seconds(), "s-close-after-return")
			}
		})
	}
}

func BenchmarkWallCloseBlockingOnBatch(b *testing.B) {
	for range b.N {
		sim := newSim(200, 150*time.Millisecond)
		block := make(chan struct{})
		bt, _ := sim.client(b).NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: 5, Concurrency: 1, OnBatch: func(yespo.BatchResult) { <-block }})
		for i := range 20 {
			_ = bt.Add(context.Background(), tok(i))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		began := time.Now()
		done := make(chan struct{})
		go func() { _ = bt.Close(ctx); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		b.ReportMetric(time.Since(began).Seconds(), "s-close-100ms-ctx")
		cancel()
		close(block)
	}
}

func BenchmarkWallSplit(b *testing.B) {
	for range b.N {
		sim := newSim(200, 150*time.Millisecond)
		sim.refuse = map[string]bool{tok(321).Token: true}
		bt, _ := sim.client(b).NewBatcher(appUUID, yespo.BatcherOptions{FlushInterval: time.Hour})
		for i := range 500 {
			_ = bt.Add(context.Background(), tok(i))
		}
		_ = bt.Close(context.Background())
		st := bt.Stats()
		b.ReportMetric(float64(st.Sent), "sent")
		b.ReportMetric(float64(st.Failed), "failed")
	}
}

// BenchmarkWallStatedBudget is TestSimStatedBudgetEndToEnd on the wall
// clock: a 5 s job with a limiter of 200/s, end to end.
func BenchmarkWallStatedBudget(b *testing.B) {
	for range b.N {
		sim := newSim(200, 150*time.Millisecond)
		bt, _ := sim.client(b, yespo.WithRateLimiter(newBucket(200))).NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: simBatch, MaxPending: 200 * simBatch})
		added := feed(b, bt, "e", sim.start.Add(5*time.Second))
		_ = bt.Close(context.Background())
		took := time.Since(sim.start)
		all := sim.span(0, time.Hour)
		b.ReportMetric(float64(all.ok)/took.Seconds()/200, "of-200rps-end-to-end")
		b.ReportMetric(100*all.share429(), "%429")
		b.ReportMetric(float64(sim.lost(added)), "lost")
	}
}
