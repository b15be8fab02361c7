package yespo_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
)

var oneToken = []yespo.Token{{Token: "111", Phone: "+380501234567"}}

func TestRetriesTransientStatusesAndReplaysBody(t *testing.T) {
	for _, status := range []int{408, 429, 500, 502, 503, 504} {
		s := newServer(t)
		s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", sequence(answer(status, "busy"), answer(status, "busy"), answer(200, `"ok"`)))
		lim := &countingLimiter{}
		err := s.client(t, yespo.WithRateLimiter(lim)).AddAppTokens(context.Background(), appUUID, oneToken)
		require.NoError(t, err, "status %d", status)
		reqs := s.requests()
		require.Len(t, reqs, 3, "status %d", status)
		for _, r := range reqs[1:] {
			assert.Equal(t, reqs[0].Body, r.Body, "the same body on every attempt")
			assert.Equal(t, testKey, r.Pass)
		}
		assert.Equal(t, 3, lim.count(), "the limiter is asked before every attempt")
	}
}

func TestNoRetryOnOther4xx(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 409, 422} {
		s := newServer(t)
		s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", answer(status, "no"))
		err := s.client(t).AddAppTokens(context.Background(), appUUID, oneToken)
		var ae *yespo.APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, 1, ae.Attempts)
		assert.Len(t, s.requests(), 1, "status %d is final", status)
	}
}

func TestRetriesExhaustedKeepLastResponse(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", answer(503, "maintenance"))
	err := s.client(t).AddAppTokens(context.Background(), appUUID, oneToken)
	var ae *yespo.APIError
	require.ErrorAs(t, err, &ae)
	assert.ErrorIs(t, err, yespo.ErrServer)
	assert.Equal(t, 503, ae.StatusCode)
	assert.Equal(t, "maintenance", ae.Message)
	assert.Equal(t, 4, ae.Attempts, "1 attempt + 3 retries")
	assert.Len(t, s.requests(), 4)
	assert.Contains(t, err.Error(), "(4 attempts)")
}

func TestNoRetries(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", answer(503, "x"))
	err := s.client(t, yespo.WithRetry(0, time.Millisecond, time.Millisecond)).AddAppTokens(context.Background(), appUUID, oneToken)
	require.ErrorIs(t, err, yespo.ErrServer)
	assert.Len(t, s.requests(), 1)
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel() // waits on timers, not the CPU: overlaps the other waiting tests
	s := newServer(t)
	var first, second time.Time
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", sequence(
		func(w http.ResponseWriter, r *http.Request) {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			answer(429, "slow down")(w, r)
		},
		func(w http.ResponseWriter, r *http.Request) {
			second = time.Now()
			answer(200, `"ok"`)(w, r)
		}))
	c := s.client(t, yespo.WithRetry(3, time.Millisecond, 2*time.Second))
	require.NoError(t, c.AddAppTokens(context.Background(), appUUID, oneToken))
	gap := second.Sub(first)
	assert.GreaterOrEqual(t, gap, 950*time.Millisecond, "Retry-After: 1 waits a second, not the 1 ms backoff")
	assert.Less(t, gap, 10*time.Second, "a generous bound: the wait is one second")
}

func TestRetryAfterLongerThanMaxWaitStopsAtOnce(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "60")
		answer(429, "Too many requests")(w, r)
	})
	start := time.Now()
	err := s.client(t).AddAppTokens(context.Background(), appUUID, oneToken)
	elapsed := time.Since(start)
	require.ErrorIs(t, err, yespo.ErrRateLimited)
	var ae *yespo.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 60*time.Second, ae.RetryAfter)
	assert.Equal(t, 1, ae.Attempts)
	assert.Len(t, s.requests(), 1)
	assert.Less(t, elapsed, 10*time.Second, "no waiting when the server asks for longer than maxWait (it asked for 60 s)")
}

func TestRetryAfterHTTPDate(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", time.Now().Add(2*time.Hour).UTC().Format(http.TimeFormat))
		answer(503, "later")(w, r)
	})
	err := s.client(t).AddAppTokens(context.Background(), appUUID, oneToken)
	var ae *yespo.APIError
	require.ErrorAs(t, err, &ae)
	assert.InDelta(t, (2 * time.Hour).Seconds(), ae.RetryAfter.Seconds(), 5)
}

func TestRetriesConnectionResets(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", sequence(reset, reset, answer(200, `"ok"`)))
	require.NoError(t, s.client(t).AddAppTokens(context.Background(), appUUID, oneToken))
	assert.Len(t, s.requests(), 3)
}

func TestConnectionErrorWrappedAfterRetries(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nobody listens there now

	c, err := yespo.NewClient(testKey, yespo.WithBaseURL("http://"+addr+"/api/"), yespo.WithRetry(2, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	err = c.AddAppTokens(context.Background(), appUUID, oneToken)
	require.Error(t, err)
	var ue *url.Error
	assert.ErrorAs(t, err, &ue, "the transport error is wrapped with %w")
	var oe *net.OpError
	assert.ErrorAs(t, err, &oe)
	assert.Contains(t, err.Error(), "(3 attempts)")
}

// cancelDuring calls AddAppTokens, cancels its context 100 ms in, and
// returns how long after the cancel the call returned, and its error.
func cancelDuring(c *yespo.Client) (time.Duration, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cancelled := make(chan time.Time, 1)
	time.AfterFunc(100*time.Millisecond, func() { cancelled <- time.Now(); cancel() })
	err := c.AddAppTokens(ctx, appUUID, oneToken)
	returned := time.Now()
	return returned.Sub(<-cancelled), err
}

func TestCancelDuringBackoffReturnsPromptly(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", answer(503, "x"))
	c := s.client(t, yespo.WithRetry(5, 10*time.Second, 10*time.Second))
	latency, err := cancelDuring(c)
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, latency, 5*time.Second, "a generous bound: the backoff would last 10 s")
	assert.Len(t, s.requests(), 1)
}

func TestCancelDuringRequestReturnsPromptly(t *testing.T) {
	s := newServer(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	latency, err := cancelDuring(s.client(t))
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, latency, 5*time.Second, "a generous bound: the server never answers")
	assert.Len(t, s.requests(), 1, "a cancelled attempt is not retried")
}

func TestDeadlineExceeded(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", answer(503, "x"))
	c := s.client(t, yespo.WithRetry(5, time.Second, time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := c.AddAppTokens(ctx, appUUID, oneToken)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestLimiterErrorStopsBeforeSending(t *testing.T) {
	s := newServer(t)
	lim := &countingLimiter{err: errors.New("limiter closed")}
	err := s.client(t, yespo.WithRateLimiter(lim)).AddAppTokens(context.Background(), appUUID, oneToken)
	require.ErrorContains(t, err, "limiter closed")
	assert.Empty(t, s.requests())
}

func TestSameHostRedirectFollowedWithBody(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, prefix+"v1/apps/"+r.PathValue("uuid")+"/tokens2", http.StatusTemporaryRedirect)
	})
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens2", answer(200, `"ok"`))
	require.NoError(t, s.client(t).AddAppTokens(context.Background(), appUUID, oneToken))
	reqs := s.requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, reqs[0].Body, reqs[1].Body, "307 resends the body")
	assert.Equal(t, testKey, reqs[1].Pass, "same host keeps the credentials")
}

func TestRedirectToAnotherHostSendsNoCredentials(t *testing.T) {
	otherURL, auths := newOtherHost(t)
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherURL+"/steal", http.StatusTemporaryRedirect)
	})
	err := s.client(t).AddAppTokens(context.Background(), appUUID, oneToken)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "redirect to another host")
	assert.Empty(t, auths(), "the default client does not follow cross-host redirects at all")
	assert.Len(t, s.requests(), 1, "a refused redirect is not retried")
}

// With a user's own http.Client (Go's default redirect policy), a redirect
// to another host is followed but still carries no credentials.
func TestRedirectWithOwnHTTPClientDropsCredentials(t *testing.T) {
	otherURL, auths := newOtherHost(t)
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherURL+"/x", http.StatusTemporaryRedirect)
	})
	c := s.client(t, yespo.WithHTTPClient(&http.Client{Timeout: 5 * time.Second}))
	require.NoError(t, c.AddAppTokens(context.Background(), appUUID, oneToken))
	assert.Equal(t, []string{""}, auths(), "one request, without Authorization")
}

func TestRequestBodyMarshalledOnce(t *testing.T) {
	// Attempts carry byte-identical bodies even when the caller changes its
	// slice after the call started: the body is encoded once, up front.
	s := newServer(t)
	tokens := []yespo.Token{{Token: "1", Email: "a@example.com"}}
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", sequence(
		func(w http.ResponseWriter, r *http.Request) {
			tokens[0].Email = "changed@example.com"
			answer(503, "")(w, r)
		},
		answer(200, `"ok"`)))
	require.NoError(t, s.client(t).AddAppTokens(context.Background(), appUUID, tokens))
	reqs := s.requests()
	require.Len(t, reqs, 2)
	assert.True(t, bytes.Equal(reqs[0].Body, reqs[1].Body))
	assert.Contains(t, string(reqs[1].Body), "a@example.com")
}

// A same-host 301, 302 or 303 would turn the POST into a bodiless GET whose
// 2xx says nothing about the tokens: it must surface as an error.
func TestMethodChangingRedirectIsAnError(t *testing.T) {
	for _, status := range []int{301, 302, 303} {
		s := newServer(t)
		var gets atomic.Int32
		s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, prefix+"elsewhere", status)
		})
		s.mux.HandleFunc("GET /elsewhere", func(w http.ResponseWriter, r *http.Request) {
			gets.Add(1)
			_, _ = w.Write([]byte("<html>welcome</html>"))
		})
		err := s.client(t).AddAppTokens(context.Background(), appUUID, oneToken)
		var ae *yespo.APIError
		require.ErrorAs(t, err, &ae, "status %d", status)
		assert.Equal(t, status, ae.StatusCode)
		assert.Zero(t, gets.Load(), "status %d: the redirect is not followed", status)
	}
}

// deadlineLimiter answers like x/time/rate when the wait would outlast ctx.
type deadlineLimiter struct{}

func TestLimiterDeadlineMatchesDeadlineExceeded(t *testing.T) {
	s := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := s.client(t, yespo.WithRateLimiter(deadlineLimiter{})).AddAppTokens(ctx, appUUID, oneToken)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "would exceed context deadline")
	assert.Empty(t, s.requests())
}

func (deadlineLimiter) Wait(context.Context) error {
	return errors.New("rate: Wait(n=1) would exceed context deadline")
}
