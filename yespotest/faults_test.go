package yespotest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespotest"
)

// The core client's retries against injected faults: each call succeeds in
// the end and every token is stored exactly once.
func TestClientRetriesThroughFaults(t *testing.T) {
	srv, app, _ := newFake(t)
	c := srv.Client(yespo.WithRetry(3, time.Millisecond, 2*time.Second))
	faults := []yespotest.Fault{
		{Status: http.StatusServiceUnavailable, Body: "maintenance"},
		{Status: http.StatusTooManyRequests, RetryAfter: time.Second, Body: "slow down"},
		{Drop: true},
	}
	for i, f := range faults {
		srv.FailNext(1, f)
		token := fmt.Sprint("tok-", i)
		start := time.Now()
		require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: token, Email: fmt.Sprintf("u%d@example.com", i)}}), "fault %+v", f)
		if f.RetryAfter > 0 {
			assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "Retry-After honoured")
		}
	}
	reqs := srv.Requests()
	require.Len(t, reqs, 6, "one failed and one successful attempt per fault")
	assert.Equal(t, []int{503, 200, 429, 200, 0, 200}, statuses(reqs))

	contacts := srv.Contacts()
	require.Len(t, contacts, 3)
	seen := map[string]int{}
	for _, c := range contacts {
		for _, tok := range c.Tokens {
			seen[tok.Token]++
		}
	}
	assert.Equal(t, map[string]int{"tok-0": 1, "tok-1": 1, "tok-2": 1}, seen)
}

func statuses(reqs []yespotest.Request) []int {
	out := make([]int, len(reqs))
	for i, r := range reqs {
		out[i] = r.Status
	}
	return out
}

// A fault answers before anything else: the request changes nothing.
func TestFaultedRequestChangesNothing(t *testing.T) {
	srv, app, _ := newFake(t)
	c := srv.Client(yespo.WithRetry(0, 0, 0))
	srv.FailNext(2, yespotest.Fault{Status: 500, Body: "boom"})
	err := c.AddAppTokens(ctx, app, []yespo.Token{{Token: "1", Email: "a@example.com"}})
	assertAPIError(t, err, 500, "boom")
	assert.Empty(t, srv.Contacts())
	assert.ErrorIs(t, c.UnmuteAppToken(ctx, app, "1"), yespo.ErrServer, "the second queued fault")
	assert.ErrorIs(t, c.UnmuteAppToken(ctx, app, "1"), yespo.ErrNotFound, "then the real answer")
}

func TestDelayFault(t *testing.T) {
	srv, app, _ := newFake(t)
	c := srv.Client(yespo.WithRetry(0, 0, 0))
	srv.FailNext(1, yespotest.Fault{Delay: 150 * time.Millisecond})
	start := time.Now()
	require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: "1", Email: "a@example.com"}}))
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond, "a pure delay, then the real answer")
	assert.Len(t, srv.Contacts(), 1)

	// A delay longer than the caller waits: the request is abandoned.
	srv.FailNext(1, yespotest.Fault{Delay: time.Minute})
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, c.AddAppTokens(short, app, []yespo.Token{{Token: "2", Email: "b@example.com"}}), context.DeadlineExceeded)
}

func TestFailRandomlyIsReproducible(t *testing.T) {
	run := func() []int {
		srv, app, _ := newFake(t, yespotest.WithSeed(42))
		c := srv.Client(yespo.WithRetry(0, 0, 0))
		srv.FailRandomly(0.5, yespotest.Fault{Status: 503}, yespotest.Fault{Status: 502})
		for i := range 100 {
			_ = c.AddAppTokens(ctx, app, []yespo.Token{{Token: fmt.Sprint(i), Email: "a@example.com"}})
		}
		srv.FailRandomly(0)
		require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: "after", Email: "a@example.com"}}), "p = 0 stops")
		return statuses(srv.Requests())
	}
	first, second := run(), run()
	assert.Equal(t, first, second, "same seed, same faults")
	counts := map[int]int{}
	for _, s := range first {
		counts[s]++
	}
	assert.Greater(t, counts[503], 10)
	assert.Greater(t, counts[502], 10)
	assert.Greater(t, counts[200], 30)
}

func TestRateLimit(t *testing.T) {
	srv, app, _ := newFake(t, yespotest.WithRateLimit(10))
	c := srv.Client(yespo.WithRetry(0, 0, 0))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var limited []*yespo.APIError
	for i := range 25 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.AddAppTokens(ctx, app, []yespo.Token{{Token: fmt.Sprint(i), Email: "a@example.com"}})
			var ae *yespo.APIError
			if errors.As(err, &ae) {
				mu.Lock()
				limited = append(limited, ae)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// 25 requests within well under a second (or two windows at worst).
	require.GreaterOrEqual(t, len(limited), 5)
	for _, ae := range limited {
		assert.Equal(t, http.StatusTooManyRequests, ae.StatusCode)
		assert.GreaterOrEqual(t, ae.RetryAfter, time.Second)
	}
	got := srv.Contacts()
	require.Len(t, got, 1)
	assert.Len(t, got[0].Tokens, 25-len(limited), "limited requests change nothing")
}

func TestClientPanicsOnMisuse(t *testing.T) {
	srv := yespotest.NewServer()
	defer srv.Close()
	assert.Panics(t, func() { srv.Client(yespo.WithRetry(-1, 0, 0)) })
	require.ErrorIs(t, srv.RegisterApp("not-a-uuid"), yespo.ErrInvalidInput)
	seed := srv.AddContact(yespotest.Contact{ID: 5})
	assert.Equal(t, int64(5), seed.ID)
	assert.Panics(t, func() { srv.AddContact(yespotest.Contact{ID: 5}) })
	assert.Equal(t, int64(6), srv.AddContact(yespotest.Contact{}).ID, "assigned IDs follow seeded ones")
}

func TestAPIKey(t *testing.T) {
	srv := yespotest.NewServer(yespotest.WithAPIKey("my-key"))
	defer srv.Close()
	assert.Equal(t, "my-key", srv.APIKey)
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+/api/$`, srv.URL)
	other := yespotest.NewServer()
	defer other.Close()
	assert.NotEmpty(t, other.APIKey)
	if os.Getenv("YESPOTEST_API_KEY") == "" {
		third := yespotest.NewServer()
		defer third.Close()
		assert.NotEqual(t, other.APIKey, third.APIKey, "each server makes up its own key")
	}
}

// Requests wait out the latency side by side: with a latency of a minute,
// twenty requests are all in the server at once, none answered yet — no
// clock decides it. A lone request takes the latency at least.
func TestLatency(t *testing.T) {
	srv, app, c := newFake(t, yespotest.WithLatency(time.Minute))
	waiting, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			_ = c.AddAppTokens(waiting, app, []yespo.Token{{Token: fmt.Sprint(i), Email: "a@example.com"}})
		})
	}
	require.Eventually(t, func() bool { return len(srv.Requests()) == 20 }, 30*time.Second, time.Millisecond)
	for _, r := range srv.Requests() {
		assert.Zero(t, r.Status, "every request still waits")
	}
	cancel()
	wg.Wait()

	const latency = 50 * time.Millisecond
	_, app, c = newFake(t, yespotest.WithLatency(latency))
	start := time.Now()
	require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: "1", Email: "a@example.com"}}))
	assert.GreaterOrEqual(t, time.Since(start), latency)
}

// A body over MaxBody is answered 413 with words that say so, not "Invalid
// JSON: unexpected EOF". The body is raw bytes: what matters is its size.
func TestBodyTooLarge(t *testing.T) {
	srv, app, _ := newFake(t)
	body := bytes.Repeat([]byte(" "), yespotest.MaxBody+1)
	req, err := http.NewRequest(http.MethodPost, srv.URL+"v1/apps/"+app+"/tokens", bytes.NewReader(body))
	require.NoError(t, err)
	req.SetBasicAuth("user", srv.APIKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Contains(t, string(text), "too large")
	assert.Empty(t, srv.Contacts())
}
