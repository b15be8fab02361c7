package yespo_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespotest"
)

// onBatchCounter records OnBatch calls, to check that each batch is
// reported exactly once.
type onBatchCounter struct {
	mu      sync.Mutex
	calls   int
	tokens  int
	failed  int
	lastErr error
}

func (c *onBatchCounter) record(r yespo.BatchResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	c.tokens += len(r.Tokens)
	if r.Err != nil {
		c.failed += len(r.Tokens)
		c.lastErr = r.Err
	}
}

// assertReportedOnce checks OnBatch against the counters: one call per
// batch outcome, every settled token in exactly one of them.
func (c *onBatchCounter) assertReportedOnce(t *testing.T, st yespo.BatcherStats) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	assert.Equal(t, st.Batches, int64(c.calls), "OnBatch once per batch")
	assert.Equal(t, st.Sent+st.Failed, int64(c.tokens), "every token in one OnBatch")
	assert.Equal(t, st.Failed, int64(c.failed))
	assert.Zero(t, st.Pending)
	assert.Equal(t, st.Added, st.Sent+st.Failed+st.Duplicates)
}

// assertGaveUp checks OnBatch after a Close gave up: the batches it gave up
// on are not reported, those settled before are, once; the counters add up.
func (c *onBatchCounter) assertGaveUp(t *testing.T, st yespo.BatcherStats) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	assert.LessOrEqual(t, int64(c.calls), st.Batches, "OnBatch at most once per batch")
	assert.LessOrEqual(t, int64(c.tokens), st.Sent+st.Failed)
	assert.Zero(t, st.Pending)
	assert.Equal(t, st.Added, st.Sent+st.Failed+st.Duplicates+st.Held)
}

// barrierServer answers the first n token requests 429 with a Retry-After of
// one second, only once all n have arrived, so that they are all in flight
// together; later requests are stored by a yespotest server behind it.
func barrierServer(t *testing.T, n int) (*server, *yespotest.Server, string) {
	fake := yespotest.NewServer()
	t.Cleanup(fake.Close)
	app := fake.NewApp()
	proxy := fake.Client(yespo.WithRetry(0, 0, 0))
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived++
		mine := arrived
		if arrived == n {
			close(all)
		}
		mu.Unlock()
		if mine <= n {
			select {
			case <-all:
			case <-time.After(10 * time.Second):
				t.Errorf("only %d of %d requests came in flight together", arrived, n)
			}
			w.Header().Set("Retry-After", "1")
			answer(http.StatusTooManyRequests, "slow down")(w, r)
			return
		}
		var body struct{ Tokens []yespo.Token }
		if err := jsonBody(r, &body); err != nil {
			t.Error(err)
		}
		if err := proxy.AddAppTokens(r.Context(), app, body.Tokens); err != nil {
			answer(http.StatusInternalServerError, err.Error())(w, r)
			return
		}
		answer(http.StatusOK, `"OK"`)(w, r)
	})
	return s, fake, app
}

// Two 429s with a Retry-After beyond the client's wait, answered to two
// requests in flight together, pause the whole Batcher once — not once per
// worker, one after the other — and both batches are sent again.
func TestBatcherLongRetryAfterPausesOnce(t *testing.T) {
	t.Parallel() // waits on timers, not the CPU: overlaps the other waiting tests
	s, fake, _ := barrierServer(t, 2)
	var reports onBatchCounter
	b, err := s.client(t, yespo.WithRetry(3, time.Millisecond, 10*time.Millisecond)).NewBatcher(appUUID,
		yespo.BatcherOptions{MaxBatch: 5, Concurrency: 2, FlushInterval: time.Hour, OnBatch: reports.record})
	require.NoError(t, err)
	start := time.Now()
	for i := range 20 {
		require.NoError(t, b.Add(ctx, tok(i)))
	}
	require.NoError(t, b.Close(ctx))
	assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "the pause was honoured")
	st := b.Stats()
	assert.Equal(t, int64(20), st.Sent)
	assert.Equal(t, int64(2), st.Pauses, "each refused batch paused once, the pauses overlapping")
	assert.Equal(t, int64(6), st.Attempts, "4 batches + the 2 refused ones again")
	assert.Equal(t, int64(2), st.RateLimited)
	assert.Equal(t, int64(4), st.Batches)
	reports.assertReportedOnce(t, st)
	assertStored(t, fake, 20)
}

// During an outage whose Retry-After is longer than the client waits, each
// batch pauses the account's budget once, is sent again, is held through
// the outage for MaxOutage, and then fails with the *APIError:
// Close(context.Background()) returns.
func TestOutagePausesOncePerBatchThenFails(t *testing.T) {
	t.Parallel() // waits on timers, not the CPU: overlaps the other waiting tests
	var reports onBatchCounter
	srv, _, b := fakeWithBatcher(t, yespo.BatcherOptions{MaxBatch: 5, FlushInterval: time.Hour, OnBatch: reports.record, MaxOutage: time.Second},
		yespo.WithRetry(3, time.Millisecond, 10*time.Millisecond))
	srv.FailRandomly(1, yespotest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second, Body: "slow down"})
	for i := range 9 {
		require.NoError(t, b.Add(ctx, tok(i)))
	}
	err := b.AddAndWait(ctx, tok(9)) // fills the second batch
	var ae *yespo.APIError
	require.ErrorAs(t, err, &ae, "AddAndWait returns the batch's failure")
	assert.ErrorIs(t, err, yespo.ErrRateLimited)
	assert.Equal(t, time.Second, ae.RetryAfter)
	err = b.Close(context.Background())
	require.ErrorContains(t, err, "10 of 10 tokens failed")
	st := b.Stats()
	assert.Equal(t, int64(2), st.Pauses, "one pause per batch")
	assert.GreaterOrEqual(t, st.Attempts, int64(4), "each batch sent at least twice: before and after its pause")
	assert.Equal(t, st.Attempts, st.RateLimited)
	reports.assertReportedOnce(t, st)
}

// A Retry-After beyond MaxPause is not honoured: the batch fails at once
// with the *APIError, which says how long the server asked to wait.
func TestBatcherRetryAfterBeyondMaxPauseFailsAtOnce(t *testing.T) {
	var reports onBatchCounter
	srv, _, b := fakeWithBatcher(t, yespo.BatcherOptions{MaxBatch: 5, FlushInterval: time.Hour, OnBatch: reports.record})
	srv.FailRandomly(1, yespotest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 24 * time.Hour, Body: "come back tomorrow"})
	for i := range 10 {
		require.NoError(t, b.Add(ctx, tok(i)))
	}
	err := b.Close(context.Background())
	var ae *yespo.APIError
	require.ErrorAs(t, err, &ae)
	assert.ErrorIs(t, err, yespo.ErrRateLimited)
	assert.Equal(t, 24*time.Hour, ae.RetryAfter)
	st := b.Stats()
	assert.Zero(t, st.Pauses)
	assert.Equal(t, int64(2), st.Attempts, "one attempt per batch: the client does not wait a day either")
	assert.Equal(t, int64(10), st.Failed)
	reports.assertReportedOnce(t, st)
}

// A Close whose context ends gives up on a pause: what is waiting fails at
// once with an error wrapping the context's.
func TestBatcherCloseCutsPauseShort(t *testing.T) {
	var reports onBatchCounter
	srv, _, b := fakeWithBatcher(t, yespo.BatcherOptions{MaxBatch: 5, FlushInterval: time.Hour, OnBatch: reports.record},
		yespo.WithRetry(0, 0, 0))
	srv.FailRandomly(1, yespotest.Fault{Status: 429, RetryAfter: 30 * time.Second})
	for i := range 12 {
		require.NoError(t, b.Add(ctx, tok(i)))
	}
	closeCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err := b.Close(closeCtx)
	require.ErrorContains(t, err, "12 of 12 tokens failed")
	st := b.Stats()
	assert.Equal(t, int64(12), st.Failed)
	assert.Positive(t, st.Pauses)
	reports.assertGaveUp(t, st)
	assert.Equal(t, err, b.Close(ctx), "Close again returns the same")
}

// A second Close honours its own context while the first, without a
// deadline, waits for a server that does not answer: it gives up, which
// ends the first one too.
func TestBatcherSecondCloseHonoursItsOwnContext(t *testing.T) {
	s, release := heldServer(t)
	t.Cleanup(func() { close(release) })
	var reports onBatchCounter
	b, err := s.client(t).NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: 5, OnBatch: reports.record})
	require.NoError(t, err)
	for i := range 12 {
		require.NoError(t, b.Add(ctx, tok(i)))
	}
	first := make(chan error, 1)
	go func() { first <- b.Close(context.Background()) }()
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	second := make(chan error, 1)
	go func() { second <- b.Close(short) }()
	for name, ch := range map[string]chan error{"second": second, "first": first} {
		select {
		case err := <-ch:
			require.ErrorIs(t, err, context.DeadlineExceeded, name)
			require.ErrorContains(t, err, "12 of 12 tokens failed", name)
		case <-time.After(10 * time.Second):
			t.Fatalf("the %s Close did not return", name)
		}
	}
	reports.assertGaveUp(t, b.Stats())
}

// jsonBody decodes a request's JSON body into v.
func jsonBody(r *http.Request, v any) error {
	return json.NewDecoder(r.Body).Decode(v)
}
