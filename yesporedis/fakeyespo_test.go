package yesporedis_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yespo-go/yespo"
)

// slidingYespo is the least of a Yespo that matters here: every request is
// answered 200, unless limit requests were already accepted in the last
// second — ANY one-second window, sliding, the strictest reading of "200
// requests per second" — when it is answered 429. yespotest's own limit is
// a fixed window (being changed elsewhere), hence this one.
type slidingYespo struct {
	URL     string
	limit   int
	latency time.Duration // how long each answer takes, counted from arrival

	mu       sync.Mutex
	accepted []time.Time // within the last second, oldest first
	answers  []answer
}

// answer is one request as the fake saw it; who is the first word of the
// User-Agent, set per client with yespo.WithUserAgent.
type answer struct {
	at     time.Time
	who    string
	status int
}

const testAppUUID = "0b9c7e0e-4c1a-4e8f-a1d2-3f4e5a6b7c8d"

func newSlidingYespo(t testing.TB, limit int) *slidingYespo {
	return newSlowYespo(t, limit, 0)
}

// newSlowYespo is a slidingYespo that takes latency to answer, as Yespo far
// away does: requests are admitted on arrival.
func newSlowYespo(t testing.TB, limit int, latency time.Duration) *slidingYespo {
	y := &slidingYespo{limit: limit, latency: latency}
	srv := httptest.NewServer(http.HandlerFunc(y.serve))
	t.Cleanup(srv.Close)
	y.URL = srv.URL + "/api/"
	return y
}

func (y *slidingYespo) serve(w http.ResponseWriter, r *http.Request) {
	who, _, _ := strings.Cut(r.UserAgent(), " ")
	status := y.admit(who, time.Now())
	if y.latency > 0 {
		select {
		case <-time.After(y.latency):
		case <-r.Context().Done():
			return
		}
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "Too many requests", status)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write([]byte(`"ok"`))
}

func (y *slidingYespo) admit(who string, now time.Time) int {
	y.mu.Lock()
	defer y.mu.Unlock()
	cut := 0
	for cut < len(y.accepted) && !y.accepted[cut].After(now.Add(-time.Second)) {
		cut++
	}
	y.accepted = y.accepted[cut:]
	status := http.StatusOK
	if len(y.accepted) >= y.limit {
		status = http.StatusTooManyRequests
	} else {
		y.accepted = append(y.accepted, now)
	}
	y.answers = append(y.answers, answer{now, who, status})
	return status
}

// tally counts the answers to who ("" for everyone) from since on.
func (y *slidingYespo) tally(who string, since time.Time) (ok, limited int) {
	y.mu.Lock()
	defer y.mu.Unlock()
	for _, a := range y.answers {
		if a.at.Before(since) || (who != "" && a.who != who) {
			continue
		}
		if a.status == http.StatusOK {
			ok++
		} else {
			limited++
		}
	}
	return ok, limited
}

// client returns a yespo client for the fake tagged who, pacing with lim.
// Retries are off so that each call is one request and a 429 is counted
// once, as the caller sees it.
func (y *slidingYespo) client(t testing.TB, who string, lim yespo.Limiter) *yespo.Client {
	opts := []yespo.Option{yespo.WithBaseURL(y.URL), yespo.WithRetry(0, 0, 0), yespo.WithUserAgent(who)}
	if lim != nil {
		opts = append(opts, yespo.WithRateLimiter(lim))
	}
	c, err := yespo.NewClient("test-key", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
