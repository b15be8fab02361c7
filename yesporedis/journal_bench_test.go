package yesporedis_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yesporedis"
	"github.com/yespo-go/yespo/yesporedis/redistest"
	"github.com/yespo-go/yespo/yespotest"
)

// The Redis journal's figures of BENCHMARKS.md: Append as a Batcher calls
// it (one token per Add), on a Redis with appendfsync always ("durable")
// and without persistence ("memory"), on loopback:
//
//	go test -run '^$' -bench 'JournalAppend' -benchtime 1x -count 3

var redisModes = []struct {
	name string
	opts []redistest.Option
}{{"durable", []redistest.Option{redistest.Durable()}}, {"memory", nil}}

// benchJournal returns a journal of its own on rs, open for testTarget
// when open is set (a Batcher opens it for its own target).
func benchJournal(b *testing.B, rs *redistest.Server, open bool) *yesporedis.Journal {
	b.Helper()
	j, err := yesporedis.NewJournal(rs.Client(), yesporedis.JournalOptions{
		Key: fmt.Sprint("bench:", time.Now().UnixNano()), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	if open {
		if err := j.Open(context.Background(), testTarget); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() { _ = j.Close() })
	return j
}

// BenchmarkJournalAppend64: 64 concurrent callers append 20,000 tokens one
// at a time; tokens/s and script calls per 1,000 tokens (the group commit).
func BenchmarkJournalAppend64(b *testing.B) {
	const callers, tokens = 64, 20_000
	for _, m := range redisModes {
		b.Run(m.name, func(b *testing.B) {
			rs := redistest.Start(b, m.opts...)
			admin := redis.NewClient(&redis.Options{Addr: rs.Addr})
			defer admin.Close()
			var elapsed time.Duration
			var scripts int64
			for range b.N {
				j := benchJournal(b, rs, true)
				if err := admin.ConfigResetStat(context.Background()).Err(); err != nil {
					b.Fatal(err)
				}
				var next atomic.Int64
				var wg sync.WaitGroup
				start := time.Now()
				for range callers {
					wg.Go(func() {
						for i := next.Add(1); i <= tokens; i = next.Add(1) {
							if _, err := j.Append(context.Background(), recs(yespo.Token{Token: fmt.Sprint(i), ContactID: i})); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				elapsed += time.Since(start)
				m := info(b, admin, "commandstats")
				scripts += stat(m, "cmdstat_evalsha", "calls") + stat(m, "cmdstat_eval", "calls")
			}
			b.ReportMetric(float64(tokens*b.N)/elapsed.Seconds(), "tokens/s")
			b.ReportMetric(1000*float64(scripts)/float64(tokens*b.N), "scripts/1000tokens")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkJournalAppendSpreadP99: 2,000 Appends of one token spread evenly
// over one second, each from its own goroutine, as a bot's updates come;
// the 99th percentile and the median of Append's latency.
func BenchmarkJournalAppendSpreadP99(b *testing.B) {
	const n = 2000
	for _, m := range redisModes {
		b.Run(m.name, func(b *testing.B) {
			rs := redistest.Start(b, m.opts...)
			var p50s, p99s []time.Duration
			for range b.N {
				j := benchJournal(b, rs, true)
				lat := make([]time.Duration, n)
				var wg sync.WaitGroup
				begin := time.Now()
				for k := range n {
					time.Sleep(time.Until(begin.Add(time.Duration(k) * time.Second / n)))
					wg.Go(func() {
						s := time.Now()
						if _, err := j.Append(context.Background(), recs(yespo.Token{Token: fmt.Sprint(k), ContactID: int64(k) + 1})); err != nil {
							b.Error(err)
						}
						lat[k] = time.Since(s)
					})
				}
				wg.Wait()
				slices.Sort(lat)
				p50s, p99s = append(p50s, lat[n/2]), append(p99s, lat[n*99/100])
			}
			slices.Sort(p50s)
			slices.Sort(p99s)
			b.ReportMetric(float64(p50s[len(p50s)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(p99s[len(p99s)/2].Microseconds())/1000, "p99-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// benchBatcher returns a Batcher on a fresh fake Yespo (50 ms per answer,
// as yespobolt's benchmarks use), on a fresh Redis journal when rs is not
// nil, in memory otherwise.
func benchBatcher(b *testing.B, rs *redistest.Server) *yespo.Batcher {
	b.Helper()
	srv := yespotest.NewServer(yespotest.WithLatency(50 * time.Millisecond))
	b.Cleanup(srv.Close)
	opts := yespo.BatcherOptions{MaxPending: 10_000_000} // Add never waits for room: its own cost is measured
	if rs != nil {
		opts.Journal = benchJournal(b, rs, false)
	}
	bt, err := srv.Client().NewBatcher(srv.NewApp(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bt.Close(context.Background()) })
	return bt
}

// batcherModes: in memory, and on a Redis journal with appendfsync always.
var batcherModes = []struct {
	name  string
	redis bool
}{{"memory", false}, {"yesporedis-durable", true}}

// BenchmarkJournalAdd64: Batcher.Add throughput with 64 concurrent callers,
// 20,000 tokens per op, beside the Batcher in memory:
//
//	go test -run '^$' -bench 'JournalAdd' -benchtime 1x -count 3
func BenchmarkJournalAdd64(b *testing.B) {
	const callers, tokens = 64, 20_000
	for _, m := range batcherModes {
		b.Run(m.name, func(b *testing.B) {
			var rs *redistest.Server
			if m.redis {
				rs = redistest.Start(b, redistest.Durable())
			}
			var elapsed time.Duration
			for range b.N {
				bt := benchBatcher(b, rs)
				var next atomic.Int64
				var wg sync.WaitGroup
				start := time.Now()
				for range callers {
					wg.Go(func() {
						for i := next.Add(1); i <= tokens; i = next.Add(1) {
							if err := bt.Add(context.Background(), yespo.Token{Token: fmt.Sprint(i), ContactID: i}); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				elapsed += time.Since(start)
			}
			b.ReportMetric(float64(tokens*b.N)/elapsed.Seconds(), "tokens/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkJournalAddSpreadP99: 2,000 Batcher.Adds spread evenly over one
// second, each from its own goroutine; the 99th percentile of Add.
func BenchmarkJournalAddSpreadP99(b *testing.B) {
	const n = 2000
	for _, m := range batcherModes {
		b.Run(m.name, func(b *testing.B) {
			var rs *redistest.Server
			if m.redis {
				rs = redistest.Start(b, redistest.Durable())
			}
			var p99s []time.Duration
			for range b.N {
				bt := benchBatcher(b, rs)
				lat := make([]time.Duration, n)
				var wg sync.WaitGroup
				begin := time.Now()
				for k := range n {
					time.Sleep(time.Until(begin.Add(time.Duration(k) * time.Second / n)))
					wg.Go(func() {
						s := time.Now()
						if err := bt.Add(context.Background(), yespo.Token{Token: fmt.Sprint(k), ContactID: int64(k) + 1}); err != nil {
							b.Error(err)
						}
						lat[k] = time.Since(s)
					})
				}
				wg.Wait()
				slices.Sort(lat)
				p99s = append(p99s, lat[n*99/100])
			}
			slices.Sort(p99s)
			b.ReportMetric(float64(p99s[len(p99s)/2].Microseconds())/1000, "p99-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}
