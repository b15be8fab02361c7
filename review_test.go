package yespo_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
)

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

// closeCounter counts CloseIdleConnections calls that reach the transport.
type closeCounter struct {
	http.RoundTripper
	closes atomic.Int32
}

func (c *closeCounter) CloseIdleConnections() { c.closes.Add(1) }

// go-retryablehttp closes idle connections when a call fails. An HTTP error
// answer — retries exhausted, a final 4xx, a Retry-After too long — must not
// empty the pool every other call of a shared client relies on.
func TestErrorAnswersKeepSharedPool(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", answer(503, "x"))
	s.mux.HandleFunc("POST /v1/apps/{uuid}/token/mute", answer(404, "x"))
	s.mux.HandleFunc("POST /v1/apps/{uuid}/token/unmute", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		answer(429, "x")(w, r)
	})
	rt := &closeCounter{RoundTripper: http.DefaultTransport}
	c := s.client(t, yespo.WithHTTPClient(&http.Client{Transport: rt}))
	ctx := context.Background()

	require.ErrorIs(t, c.AddAppTokens(ctx, appUUID, oneToken), yespo.ErrServer)
	require.ErrorIs(t, c.MuteAppToken(ctx, appUUID, "1", 0), yespo.ErrNotFound)
	require.ErrorIs(t, c.UnmuteAppToken(ctx, appUUID, "1"), yespo.ErrRateLimited)
	assert.Zero(t, rt.closes.Load())
}

// fmt cannot call Format on a Client held in an unexported field; the key
// must still be out of its reach.
func TestNestedClientPrintsNoKey(t *testing.T) {
	c, err := yespo.NewClient(sentinel)
	require.NoError(t, err)
	type bot struct {
		client yespo.Client
		ptr    *yespo.Client
	}
	b := bot{client: *c, ptr: c}
	for _, out := range []string{fmt.Sprintf("%v", b), fmt.Sprintf("%+v", b), fmt.Sprintf("%#v", b)} {
		assert.Empty(t, leaks(out), out)
	}
}

// An echoed key that straddles the 64 KiB cut is scrubbed, not half kept.
func TestRedactionAcrossBodyLimit(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		_, _ = w.Write([]byte(strings.Repeat("x", 64<<10-5) + sentinel + strings.Repeat("y", 100)))
	})
	c, err := yespo.NewClient(sentinel, yespo.WithBaseURL(s.baseURL()))
	require.NoError(t, err)
	err = c.AddAppTokens(context.Background(), appUUID, oneToken)
	var ae *yespo.APIError
	require.ErrorAs(t, err, &ae)
	assert.Len(t, ae.Body, 64<<10)
	assert.NotContains(t, string(ae.Body), sentinel[:5], "not even the part before the cut")
	assert.True(t, strings.HasSuffix(string(ae.Body), "[REDA"), "the scrubbed key is what gets cut")
}

// deadlineLimiter answers like x/time/rate when the wait would outlast ctx.
type deadlineLimiter struct{}

func (deadlineLimiter) Wait(context.Context) error {
	return errors.New("rate: Wait(n=1) would exceed context deadline")
}

func TestLimiterDeadlineMatchesDeadlineExceeded(t *testing.T) {
	s := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := s.client(t, yespo.WithRateLimiter(deadlineLimiter{})).AddAppTokens(ctx, appUUID, oneToken)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "would exceed context deadline")
	assert.Empty(t, s.requests())
}
