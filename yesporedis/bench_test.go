package yesporedis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yesporedis"
	"github.com/yespo-go/yespo/yesporedis/redistest"
)

// The per-call overhead: a rate so high that no Wait ever waits, so what is
// measured is the cost of asking — one Redis round trip on loopback for
// yesporedis, a mutex for x/time/rate.

func BenchmarkWaitOverhead(b *testing.B) {
	rs := redistest.Start(b)
	ctx := context.Background()
	b.Run("yesporedis", func(b *testing.B) {
		lim := yesporedis.NewLimiter(rs.Client(), "bench", 1_000_000_000, yesporedis.WithLogger(quiet))
		for b.Loop() {
			if err := lim.Wait(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("yesporedis+ContextTimeoutEnabled", func(b *testing.B) {
		rdb := redis.NewClient(&redis.Options{Addr: rs.Addr, ContextTimeoutEnabled: true})
		defer rdb.Close()
		lim := yesporedis.NewLimiter(rdb, "bench-ctx", 1_000_000_000, yesporedis.WithLogger(quiet))
		for b.Loop() {
			if err := lim.Wait(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("redis_rate.Allow", func(b *testing.B) { // the same without yesporedis's timeout goroutine
		rl := redis_rate.NewLimiter(rs.Client())
		limit := redis_rate.Limit{Rate: 1_000_000_000, Burst: 1, Period: time.Second}
		for b.Loop() {
			if _, err := rl.Allow(ctx, "bench-raw", limit); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("x/time/rate", func(b *testing.B) {
		lim := rate.NewLimiter(1_000_000_000, 1)
		for b.Loop() {
			if err := lim.Wait(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReplicas is the table of BENCHMARKS.md: 1 to 3 busy replicas
// against a sliding 200/s limit, each pacing with yesporedis on one shared
// key, or with a rate.NewLimiter(200, 1) of its own. Each cell runs 2 s once,
// whatever b.N; read the metrics, not ns/op:
//
//	go test -run '^$' -bench Replicas -benchtime 1x
func BenchmarkReplicas(b *testing.B) {
	rs := redistest.Start(b)
	for _, shared := range []bool{true, false} {
		for replicas := 1; replicas <= 3; replicas++ {
			name := fmt.Sprintf("local/replicas=%d", replicas)
			if shared {
				name = fmt.Sprintf("yesporedis/replicas=%d", replicas)
			}
			b.Run(name, func(b *testing.B) {
				key := fmt.Sprintf("bench:%d:%d", replicas, time.Now().UnixNano())
				var r shareResult
				for b.Loop() {
					lims := make([]yespo.Limiter, replicas)
					for i := range lims {
						lims[i] = rate.NewLimiter(200, 1)
						if shared {
							lims[i] = yesporedis.NewLimiter(rs.Client(), key, 200, yesporedis.WithLogger(quiet))
						}
					}
					r = runShare(newSlidingYespo(b, 200), b, lims, 4, 2*time.Second)
				}
				b.ReportMetric(r.perSecond, "accepted/s")
				b.ReportMetric(100*r.limited, "%429")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
