package yespo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/yespo-go/yespo"
)

// benchSink is the one server both benchmarks talk to: it reads the whole
// body and answers like Yespo.
func benchSink(b *testing.B) *httptest.Server {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `"OK"`)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// benchClient is an SDK client for the sink, with the default options and
// its pace lifted: these benchmarks measure the SDK's cost per call, not
// the pace, which would hold a local sink to Yespo's 200 requests a second.
func benchClient(b *testing.B, srv *httptest.Server) *yespo.Client {
	b.Helper()
	c, err := yespo.NewClient("bench-key", yespo.WithBaseURL(srv.URL+"/api/"))
	if err != nil {
		b.Fatal(err)
	}
	yespo.Unpaced(c)
	return c
}

func benchTokens(n int) []yespo.Token {
	tokens := make([]yespo.Token, n)
	for i := range tokens {
		tokens[i] = yespo.Token{
			Token:              yespo.TelegramToken(int64(5_000_000_000 + i)),
			ExternalCustomerID: fmt.Sprintf("crm-%d", i),
			Phone:              fmt.Sprintf("+38050%07d", i),
			Email:              fmt.Sprintf("user%d@example.com", i),
		}
	}
	return tokens
}

var benchSizes = []int{1, 100}

// BenchmarkAddAppTokens is the SDK's cost per call, validation included.
func BenchmarkAddAppTokens(b *testing.B) {
	srv := benchSink(b)
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			c := benchClient(b, srv)
			tokens := benchTokens(n)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := c.AddAppTokens(ctx, appUUID, tokens); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRawHTTP is the same request written by hand with net/http and
// encoding/json, as a bot owner would without the SDK: no validation, no
// retries. It is the baseline BENCHMARKS.md compares against.
func BenchmarkRawHTTP(b *testing.B) {
	srv := benchSink(b)
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			transport := http.DefaultTransport.(*http.Transport).Clone()
			transport.MaxIdleConnsPerHost = 32
			hc := &http.Client{Transport: transport}
			url := srv.URL + "/api/v1/apps/" + appUUID + "/tokens"
			tokens := benchTokens(n)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				body, err := json.Marshal(map[string]any{"tokens": tokens})
				if err != nil {
					b.Fatal(err)
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				req.SetBasicAuth("bot", "bench-key")
				req.Header.Set("Content-Type", "application/json; charset=UTF-8")
				req.Header.Set("Accept", "application/json")
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatal(resp.Status)
				}
			}
		})
	}
}
