package yespo_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
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
