package yespobolt_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespobolt"
	"github.com/yespo-go/yespo/yespotest"
)

// The figures of BENCHMARKS.md for the journal, in one run:
//
//	go test -run '^$' -bench 'Journal|DiskSync' -benchtime 1x -count 3 ./yespobolt/
//
// Each benchmark runs the Batcher in memory and on a yespobolt journal side
// by side, against a fake Yespo at 50 ms per answer.

// benchBatcher returns a Batcher on a fresh fake, with a fresh journal when
// journal is true (and that journal, to count its commits).
func benchBatcher(b *testing.B, journal bool) (*yespo.Batcher, *yespobolt.Journal) {
	b.Helper()
	srv := yespotest.NewServer(yespotest.WithLatency(50 * time.Millisecond))
	b.Cleanup(srv.Close)
	app := srv.NewApp()
	opts := yespo.BatcherOptions{MaxPending: 10_000_000} // Add never waits for room: its own cost is measured
	var j *yespobolt.Journal
	if journal {
		var err error
		if j, err = yespobolt.Open(filepath.Join(b.TempDir(), "journal")); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = j.Close() })
		opts.Journal = j
	}
	bt, err := srv.Client().NewBatcher(app, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bt.Close(ctx) })
	return bt, j
}

var modes = []struct {
	name    string
	journal bool
}{{"memory", false}, {"yespobolt", true}}

// BenchmarkJournalAdd64: Add throughput with 64 concurrent callers, 100,000
// tokens per op.
func BenchmarkJournalAdd64(b *testing.B) {
	const callers, tokens = 64, 100_000
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			var elapsed time.Duration
			var commits int64
			for range b.N {
				bt, j := benchBatcher(b, m.journal)
				var before int64
				if j != nil {
					before = j.Commits()
				}
				var next atomic.Int64
				var wg sync.WaitGroup
				start := time.Now()
				for range callers {
					wg.Go(func() {
						for i := next.Add(1); i <= tokens; i = next.Add(1) {
							if err := bt.Add(ctx, tok(int(i))); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				elapsed += time.Since(start)
				if j != nil {
					commits += j.Commits() - before
				}
			}
			b.ReportMetric(float64(tokens*b.N)/elapsed.Seconds(), "tokens/s")
			if commits > 0 { // what bounds it: tokens per commit ÷ the time a commit takes
				b.ReportMetric(float64(tokens*b.N)/float64(commits), "tokens/commit")
				b.ReportMetric(float64(elapsed.Microseconds())/float64(commits), "µs/commit")
			}
		})
	}
}

// BenchmarkJournalBurstCommits: 1,000 Adds arriving at once; bbolt's
// commits (its transaction counter; each commit is two fdatasync calls)
// and page writes (DB.Stats().TxStats) until the last Add returned, and
// how long the burst took to arrive: from the start signal to the last
// goroutine's call of Add (1,000 goroutines on this machine's cores).
func BenchmarkJournalBurstCommits(b *testing.B) {
	const burst = 1000
	var commits, writes int64
	var arrival, total time.Duration
	for i := range b.N {
		bt, j := benchBatcher(b, true)
		start := make(chan struct{})
		var last atomic.Int64
		var wg sync.WaitGroup
		for k := range burst {
			wg.Go(func() {
				<-start
				last.Store(max(last.Load(), time.Now().UnixNano())) // close enough: a late store only moves it by the race
				if err := bt.Add(ctx, tok(i*burst+k)); err != nil {
					b.Error(err)
				}
			})
		}
		before, stats := j.Commits(), j.DB().Stats().TxStats
		began := time.Now()
		close(start)
		wg.Wait()
		total += time.Since(began)
		arrival += time.Duration(last.Load() - began.UnixNano())
		after := j.DB().Stats().TxStats
		commits += j.Commits() - before
		d := after.Sub(&stats)
		writes += d.GetWrite()
	}
	b.ReportMetric(float64(commits)/float64(b.N), "commits/1000adds")
	b.ReportMetric(2*float64(commits)/float64(b.N), "fdatasyncs/1000adds")
	b.ReportMetric(float64(writes)/float64(b.N), "pagewrites/1000adds")
	b.ReportMetric(float64(arrival.Microseconds())/1000/float64(b.N), "arrival-ms")
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "burst-ms")
}

// BenchmarkJournalSpreadBurstP99: 1,000 Adds spread evenly over one second
// (one every millisecond) from 64 goroutines, each taking every 64th, as a
// bot's handlers take its updates; the 99th percentile of Add's latency.
func BenchmarkJournalSpreadBurstP99(b *testing.B) {
	const n, callers = 1000, 64
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			var p99s []time.Duration
			for range b.N {
				bt, _ := benchBatcher(b, m.journal)
				lat := make([]time.Duration, n)
				var wg sync.WaitGroup
				begin := time.Now()
				for g := range callers {
					wg.Go(func() {
						for k := g; k < n; k += callers {
							time.Sleep(time.Until(begin.Add(time.Duration(k) * time.Second / n)))
							s := time.Now()
							if err := bt.Add(ctx, tok(k)); err != nil {
								b.Error(err)
							}
							lat[k] = time.Since(s)
						}
					})
				}
				wg.Wait()
				slices.Sort(lat)
				p99s = append(p99s, lat[n*99/100])
			}
			slices.Sort(p99s)
			b.ReportMetric(float64(p99s[len(p99s)/2].Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkJournalCommit: one Append at a time, no Batcher, of 1 and of
// 1,000 tokens: what one commit costs on this disk (two fdatasync calls
// and the pages), and how little of it grows with the group.
func BenchmarkJournalCommit(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			j, err := yespobolt.Open(filepath.Join(b.TempDir(), "journal"))
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			if err := j.Open(ctx, target); err != nil {
				b.Fatal(err)
			}
			toks := make([]yespo.Token, n)
			b.ResetTimer()
			for i := range b.N {
				for k := range toks {
					toks[k] = tok(i*n + k)
				}
				if _, err := j.Append(ctx, recs(toks...)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
