package yespo_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/yespo-go/yespo"
)

// benchPool is a pool of distinct tokens, larger than anything pending at
// once, so that the Batcher's de-duplication never kicks in.
var benchPool = func() []yespo.Token {
	pool := make([]yespo.Token, 1<<17)
	for i := range pool {
		pool[i] = tok(i)
	}
	return pool
}()

const (
	benchBatch       = 500
	benchConcurrency = 2
)

// BenchmarkBatcher: b.N tokens through a Batcher (500 per request, 2 in
// flight, the pace lifted) into the local sink; ns/op is per token. The
// Batcher's de-duplication is a map and the body is encoded by
// encoding/json: it must stay above 500,000 tokens/s, five times what Yespo
// accepts from an account. With the default MaxPending the map grows to
// 100,000 tokens and out of the cache; pending=10000 is the earlier default.
func BenchmarkBatcher(b *testing.B) {
	for _, pending := range []int{0, 10_000} {
		b.Run(fmt.Sprintf("pending=%d", pending), func(b *testing.B) {
			c, err := yespo.NewClient("bench-key", yespo.WithBaseURL(benchSink(b).URL+"/api/"))
			if err != nil {
				b.Fatal(err)
			}
			yespo.Unpaced(c) // the CPU cost, not the pace, which would hold a local sink to Yespo's rates
			b.ReportAllocs()
			b.ResetTimer()
			bt, err := c.NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: benchBatch, Concurrency: benchConcurrency, MaxPending: pending})
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < b.N; i++ {
				if err := bt.Add(ctx, benchPool[i%len(benchPool)]); err != nil {
					b.Fatal(err)
				}
			}
			if err := bt.Close(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkBatchedLoop is the baseline: the same batches and concurrency
// written by hand with net/http and encoding/json — no validation, no
// retries, no de-duplication, no accounting.
func BenchmarkBatchedLoop(b *testing.B) {
	srv := benchSink(b)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 32
	hc := &http.Client{Transport: transport}
	url := srv.URL + "/api/v1/apps/" + appUUID + "/tokens"
	b.ReportAllocs()
	b.ResetTimer()
	batches := make(chan []yespo.Token, benchConcurrency)
	var wg sync.WaitGroup
	for range benchConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range batches {
				body, _ := json.Marshal(map[string]any{"tokens": batch})
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				req.SetBasicAuth("bot", "bench-key")
				req.Header.Set("Content-Type", "application/json; charset=UTF-8")
				resp, err := hc.Do(req)
				if err != nil {
					b.Error(err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		}()
	}
	batch := make([]yespo.Token, 0, benchBatch)
	for i := 0; i < b.N; i++ {
		batch = append(batch, benchPool[i%len(benchPool)])
		if len(batch) == benchBatch {
			batches <- batch
			batch = make([]yespo.Token, 0, benchBatch)
		}
	}
	if len(batch) > 0 {
		batches <- batch
	}
	close(batches)
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkAddAppTokensPerToken is the design the Batcher replaces: one
// request per token, as a /start handler without batching makes.
func BenchmarkAddAppTokensPerToken(b *testing.B) {
	c := benchClient(b, benchSink(b))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.AddAppTokens(ctx, appUUID, benchPool[i%len(benchPool):i%len(benchPool)+1]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
