package yespo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yespo-go/yespo"
)

// simYespo is Yespo as the pace meets it, for tests run in a
// testing/synctest bubble, where time is fake and advances only when every
// goroutine waits: the real Client and Batcher send through it as their
// transport, and every figure comes out the same on any machine.
//
// It answers 429, without Retry-After (Yespo documents none), to a request
// beyond limit accepted requests in any one second — a sliding window, in
// which refused requests do not count — and 200 otherwise, latency after
// the request arrived. Outages answer their status to everything. A second
// consumer of the account (other) takes part of the same window.
type simYespo struct {
	limit   int
	latency time.Duration
	outages []simOutage
	refuse  map[string]bool      // tokens answered 400 "Invalid token"
	way     func() time.Duration // each request's way to Yespo, before its window counts it; none if nil

	mu     sync.Mutex
	start  time.Time
	window []time.Time // accepted requests of the last second, oldest first
	reqs   []simReq
	stored map[string]int // token → times accepted
}

// simOutage answers status to every request from from to to (since start).
type simOutage struct {
	from, to time.Duration
	status   int
}

// simReq is one request as the simulator saw it.
type simReq struct {
	at     time.Duration // since start
	status int
	other  bool // the second consumer's
	tokens int
}

func newSim(limit int, latency time.Duration) *simYespo {
	return &simYespo{limit: limit, latency: latency, start: time.Now(), stored: map[string]int{}}
}

// admit decides a request arriving now: the outage's status, 429 beyond
// the window, else 200; the caller holds mu.
func (s *simYespo) admitLocked(now time.Time) int {
	since := now.Sub(s.start)
	for _, o := range s.outages {
		if since >= o.from && since < o.to {
			return o.status
		}
	}
	cut := 0
	for cut < len(s.window) && now.Sub(s.window[cut]) >= time.Second {
		cut++
	}
	s.window = s.window[cut:]
	if len(s.window) >= s.limit {
		return http.StatusTooManyRequests
	}
	s.window = append(s.window, now)
	return http.StatusOK
}

// RoundTrip answers one request of the Client.
func (s *simYespo) RoundTrip(req *http.Request) (*http.Response, error) {
	var body struct{ Tokens []yespo.Token }
	if req.Body != nil {
		raw, _ := io.ReadAll(req.Body)
		_ = req.Body.Close()
		_ = json.Unmarshal(raw, &body)
	}
	if s.way != nil {
		time.Sleep(s.way())
	}
	s.mu.Lock()
	now := time.Now()
	status := s.admitLocked(now)
	if status == http.StatusOK {
		for _, t := range body.Tokens {
			if s.refuse[t.Token] {
				status = http.StatusBadRequest
			}
		}
	}
	if status == http.StatusOK {
		for _, t := range body.Tokens {
			s.stored[t.Token]++
		}
	}
	s.reqs = append(s.reqs, simReq{at: now.Sub(s.start), status: status, tokens: len(body.Tokens)})
	s.mu.Unlock()

	t := time.NewTimer(s.latency)
	defer t.Stop()
	select {
	case <-t.C:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	text := `"OK"`
	switch status {
	case http.StatusBadRequest:
		text = `{"message":"Invalid token"}`
	case http.StatusTooManyRequests:
		text = `{"message":"Too many requests"}`
	case http.StatusServiceUnavailable:
		text = `{"message":"Service unavailable"}`
	}
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(text)),
		ContentLength: int64(len(text)),
		Request:       req,
	}, nil
}

// consume runs a second consumer of the account: perSecond requests a
// second, evenly spaced, from from to to (since start). It returns when
// done; run it in its own goroutine of the bubble.
func (s *simYespo) consume(perSecond int, from, to time.Duration) {
	time.Sleep(time.Until(s.start.Add(from)))
	every := time.Second / time.Duration(perSecond)
	for time.Since(s.start) < to {
		s.mu.Lock()
		now := time.Now()
		status := s.admitLocked(now)
		s.reqs = append(s.reqs, simReq{at: now.Sub(s.start), status: status, other: true})
		s.mu.Unlock()
		time.Sleep(every)
	}
}

// client returns a Client that sends to s, with the SDK's default retry
// policy and opts.
func (s *simYespo) client(t testing.TB, opts ...yespo.Option) *yespo.Client {
	t.Helper()
	all := append([]yespo.Option{yespo.WithTransport(s), yespo.WithBaseURL("https://yespo.invalid/api/")}, opts...)
	c, err := yespo.NewClient(testKey, all...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// simStats is what a span of a run shows: our requests accepted per
// second, over what the account had left beside the second consumer, and
// the share of all our requests answered 429.
type simStats struct {
	ok, limited, total, other int
	seconds                   float64
}

// span counts the requests that arrived from from to to.
func (s *simYespo) span(from, to time.Duration) simStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := simStats{seconds: (to - from).Seconds()}
	for _, r := range s.reqs {
		if r.at < from || r.at >= to {
			continue
		}
		switch {
		case r.other:
			if r.status == http.StatusOK {
				st.other++
			}
		case r.status == http.StatusOK:
			st.ok++
			st.total++
		case r.status == http.StatusTooManyRequests:
			st.limited++
			st.total++
		default:
			st.total++
		}
	}
	return st
}

// used is our accepted rate over what the account had left in the span.
func (st simStats) used(limit int) float64 {
	avail := float64(limit) - float64(st.other)/st.seconds
	return float64(st.ok) / st.seconds / avail
}

// share429 is the share of our requests answered 429.
func (st simStats) share429() float64 {
	if st.total == 0 {
		return 0
	}
	return float64(st.limited) / float64(st.total)
}

func (st simStats) String() string {
	return fmt.Sprintf("%d accepted (%.1f/s), %d answered 429 (%.2f %%), other consumer %.1f/s",
		st.ok, float64(st.ok)/st.seconds, st.limited, 100*st.share429(), float64(st.other)/st.seconds)
}

// firstWindowAt returns when the first one-second window of our requests
// starting at a multiple of 10 ms held at least n accepted ones.
func (s *simYespo) firstWindowAt(n int) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var oks []time.Duration
	for _, r := range s.reqs {
		if !r.other && r.status == http.StatusOK {
			oks = append(oks, r.at)
		}
	}
	lo := 0
	for hi := range oks {
		for oks[hi]-oks[lo] >= time.Second {
			lo++
		}
		if hi-lo+1 >= n {
			return oks[hi], true
		}
	}
	return 0, false
}

// lost counts the tokens of want that Yespo never stored.
func (s *simYespo) lost(want []string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range want {
		if s.stored[t] == 0 {
			n++
		}
	}
	return n
}

// feed keeps b's queue full with distinct tokens, from g goroutines, until
// the fake clock reaches stop; it returns the tokens added.
func feed(t testing.TB, b *yespo.Batcher, prefix string, stop time.Time) []string {
	var mu sync.Mutex
	var added []string
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				tk := yespo.Token{Token: fmt.Sprintf("%s%d-%d", prefix, g, i), ExternalCustomerID: "c"}
				if err := b.Add(context.Background(), tk); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				added = append(added, tk.Token)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return added
}

// simBatch keeps 200 requests a second in few tokens: the simulator's
// figures are per request, and small batches keep a run cheap.
const simBatch = 10
