package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/yespo-go/yespo/yespotest"
)

// BenchmarkRPS200At150ms imports with -rps 200 into a fake that answers
// after 150 ms and allows 200 requests in any one-second window, as Yespo's
// account limit does, and reports the rate reached as a fraction of 200
// requests per second and the share of answers that were 429:
//
//	go test -run '^$' -bench RPS200At150ms -benchtime 1x ./import-subscribers
func BenchmarkRPS200At150ms(b *testing.B) {
	const (
		rps      = 200
		requests = 800 // four seconds' worth
		batch    = 10
		window   = 3 * time.Second
	)
	for range b.N {
		b.StopTimer()
		srv := yespotest.NewServer(yespotest.WithLatency(150*time.Millisecond), yespotest.WithRateLimit(rps))
		app := srv.NewApp()
		path := filepath.Join(b.TempDir(), "subs.csv")
		writeRows(b, path, requests*batch)
		env := map[string]string{"YESPO_API_KEY": srv.APIKey, "YESPO_APP_UUID": app, "YESPO_BASE_URL": srv.URL}
		b.StartTimer()
		code := run(context.Background(), []string{"-rps", fmt.Sprint(rps), "-batch", fmt.Sprint(batch), path},
			func(k string) string { return env[k] }, io.Discard, io.Discard)
		b.StopTimer()
		if code != exitOK {
			b.Fatalf("exit %d", code)
		}
		reqs := srv.Requests()
		srv.Close()
		// The first request goes alone (the probe for a wrong key or app):
		// the rate is that of the requests accepted in the three seconds
		// from the second on (the tail holds the retries of the 429s).
		var limited, accepted int
		from := reqs[1].Time
		for _, r := range reqs {
			if r.Status == http.StatusTooManyRequests {
				limited++
			} else if !r.Time.Before(from) && r.Time.Sub(from) < window {
				accepted++
			}
		}
		b.ReportMetric(float64(accepted)/window.Seconds()/rps, "of-200rps")
		b.ReportMetric(100*float64(limited)/float64(len(reqs)), "%429")
		b.ReportMetric(float64(len(reqs)), "requests")
	}
}
