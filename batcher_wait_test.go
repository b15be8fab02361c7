package yespo_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespotest"
)

// heldBatcher is a Batcher on a server that answers token requests only
// once release is called (at the latest when the test ends).
func heldBatcher(t *testing.T, opts yespo.BatcherOptions) (s *server, release func(), b *yespo.Batcher) {
	s, held := heldServer(t)
	release = sync.OnceFunc(func() { close(held) })
	b, err := s.client(t).NewBatcher(appUUID, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	t.Cleanup(release) // first: the Close above must not wait for a held answer
	return s, release, b
}

func TestBatcherAddAndWaitReturnsOnceStored(t *testing.T) {
	srv, app, b := fakeWithBatcher(t, yespo.BatcherOptions{})
	require.NoError(t, b.AddAndWait(ctx, tok(1)))
	_, stored := srv.ContactByToken(app, tok(1).Token)
	assert.True(t, stored, "stored before AddAndWait returned")
}

// A token equal to one in flight waits for its twin's batch, and is not
// sent again.
func TestBatcherAddAndWaitOnDuplicateWaitsForTwin(t *testing.T) {
	s, release, b := heldBatcher(t, yespo.BatcherOptions{})
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- b.AddAndWait(ctx, tok(7)) }()
	}
	eventually(t, func() bool { return b.Stats().Duplicates == 1 }, "both accepted, one as a duplicate")
	eventually(t, func() bool { return len(s.requests()) == 1 }, "the batch is in flight")
	release()
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	require.NoError(t, b.Close(ctx))
	assert.Len(t, s.requests(), 1, "sent once")
	assert.Equal(t, int64(1), b.Stats().Sent)
}

// When ctx ends first, AddAndWait returns its error; the token is still
// sent.
func TestBatcherAddAndWaitReturnsWhenContextEnds(t *testing.T) {
	s, release, b := heldBatcher(t, yespo.BatcherOptions{})
	waitCtx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- b.AddAndWait(waitCtx, tok(1)) }()
	eventually(t, func() bool { return len(s.requests()) == 1 }, "the batch is in flight")
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	release()
	require.NoError(t, b.Close(ctx))
	assert.Equal(t, int64(1), b.Stats().Sent, "sent all the same")
}

// When a Close gives up on the batch in flight, AddAndWait returns the
// error it got: it wraps that Close's context error and says the batch may
// have reached Yespo (it left: not ErrNotSent).
func TestBatcherAddAndWaitWhenCloseGivesUp(t *testing.T) {
	s, _, b := heldBatcher(t, yespo.BatcherOptions{})
	errc := make(chan error, 1)
	go func() { errc <- b.AddAndWait(ctx, tok(1)) }()
	eventually(t, func() bool { return len(s.requests()) == 1 }, "the batch is in flight")
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, b.Close(short), context.DeadlineExceeded)
	err := <-errc
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "batcher closed while the batch was in flight")
	assert.NotErrorIs(t, err, yespo.ErrNotSent)
	assert.ErrorIs(t, b.AddAndWait(ctx, tok(2)), yespo.ErrBatcherClosed)
}

// A bot's /start burst: 2,000 users in one second, each handler waiting
// for its user's token, against an account limited to 200 requests per
// second. With the default options every user is stored within 5 s, in at
// most 100 requests, none answered 429.
func TestBatcherAddAndWaitBurstOfStarts(t *testing.T) {
	t.Parallel() // spread over a second of wall time: overlaps the other waiting tests
	srv := yespotest.NewServer(yespotest.WithRateLimit(200))
	defer srv.Close()
	app := srv.NewApp()
	b, err := srv.Client().NewBatcher(app, yespo.BatcherOptions{})
	require.NoError(t, err)
	const users = 2000
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var slowest time.Duration
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / users)))
			began := time.Now()
			assert.NoError(t, b.AddAndWait(ctx, tok(i)))
			mu.Lock()
			slowest = max(slowest, time.Since(began))
			mu.Unlock()
		}()
	}
	wg.Wait()
	took := time.Since(start)
	require.NoError(t, b.Close(ctx))
	limited := 0
	for _, r := range srv.Requests() {
		if r.Status == http.StatusTooManyRequests {
			limited++
		}
	}
	t.Logf("%d /start in 1 s: all stored after %v, slowest AddAndWait %v, %d requests, %d answered 429",
		users, took.Round(time.Millisecond), slowest.Round(time.Millisecond), len(srv.Requests()), limited)
	assertStored(t, srv, users)
	assert.Less(t, took, 5*time.Second)
	assert.LessOrEqual(t, len(srv.Requests()), 100)
	assert.Zero(t, limited)
}
