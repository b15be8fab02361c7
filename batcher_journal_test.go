package yespo_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespotest"
)

// journaled is a fake Yespo, an app, and a store a Batcher's journal runs on.
func journaled(t *testing.T) (*yespotest.Server, string, *memStore) {
	t.Helper()
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	return srv, srv.NewApp(), newMemStore()
}

// assertDelivered checks that every token reached the fake.
func assertDelivered(t *testing.T, srv *yespotest.Server, app string, tokens []yespo.Token) {
	t.Helper()
	missing := 0
	for _, tk := range tokens {
		if _, ok := srv.ContactByToken(app, tk.Token); !ok {
			missing++
		}
	}
	assert.Zero(t, missing, "tokens that never reached Yespo")
}

func toks(from, n int) []yespo.Token {
	out := make([]yespo.Token, n)
	for i := range out {
		out[i] = tok(from + i)
	}
	return out
}

func TestJournalSendsWhatEarlierRunsLeftFirst(t *testing.T) {
	srv, app, store := journaled(t)
	c := srv.Client()
	left := toks(0, 1200)
	store.fill(yespo.JournalTarget{AppUUID: app, BaseURL: c.BaseURL()}, left)
	b, err := c.NewBatcher(app, yespo.BatcherOptions{Journal: store.run(), MaxBatch: 100, MaxPending: 500, Concurrency: 1})
	require.NoError(t, err)
	fresh := toks(5000, 10)
	for _, tk := range fresh {
		require.NoError(t, b.Add(ctx, tk))
	}
	require.NoError(t, b.Close(ctx))

	assertDelivered(t, srv, app, append(left, fresh...))
	reqs := srv.Requests()
	require.NotEmpty(t, reqs)
	assert.Contains(t, string(reqs[0].Body), `"token":"`+left[0].Token+`"`, "the first request carries what the earlier run left")
	assert.Zero(t, store.depth(), "every confirmed token left the journal")
	assert.LessOrEqual(t, store.maxAsked, 500, "reclaim stays within MaxPending")
	st := b.Stats()
	assert.EqualValues(t, 1200, st.Reclaimed)
	assert.EqualValues(t, 10, st.Added)
	assert.EqualValues(t, 1210, st.Sent)
	assert.Zero(t, st.Held)
	assert.Equal(t, st.Added+st.Reclaimed, st.Sent+st.Failed+st.Duplicates+st.Held)
}

func TestJournalOfAnotherTargetIsRefused(t *testing.T) {
	srv, app, store := journaled(t)
	store.fill(yespo.JournalTarget{AppUUID: app, BaseURL: "https://staging.example/api/"}, toks(0, 3))
	_, err := srv.Client().NewBatcher(app, yespo.BatcherOptions{Journal: store.run()})
	require.ErrorIs(t, err, yespo.ErrJournalTarget)
	assert.Contains(t, err.Error(), "https://staging.example/api/")
	assert.Contains(t, err.Error(), srv.URL)
	assert.Equal(t, 3, store.depth(), "nothing of the journal is touched")
	assert.Empty(t, srv.Requests(), "nothing was sent anywhere")
}

func TestJournalAddReturnsOnceAppended(t *testing.T) {
	srv, app, store := journaled(t)
	b, err := srv.Client().NewBatcher(app, yespo.BatcherOptions{Journal: store.run(), FlushInterval: time.Hour})
	require.NoError(t, err)
	require.NoError(t, b.Add(ctx, tok(1)))
	assert.Equal(t, 1, store.depth(), "the token is in the journal when Add returns")
	require.NoError(t, b.Add(ctx, tok(1)))
	assert.Equal(t, 1, store.appends, "a twin of a pending token is not appended again")
	st := b.Stats()
	assert.Equal(t, 1, st.JournalDepth)
	assert.Positive(t, st.JournalOldest)
	require.NoError(t, b.Close(ctx))
	assert.Zero(t, store.depth())
	assert.EqualValues(t, 1, b.Stats().Duplicates)
}

// The Adds that arrive while an Append is under way go into the next one,
// together: a burst costs a few Appends, not one per token.
func TestJournalAddsArrivingTogetherShareAnAppend(t *testing.T) {
	srv, app, store := journaled(t)
	store.gate, store.gated = make(chan struct{}), make(chan struct{})
	gated := store.gated
	b, err := srv.Client().NewBatcher(app, yespo.BatcherOptions{Journal: store.run(), FlushInterval: time.Hour, MaxBatch: 2000})
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() { assert.NoError(t, b.Add(ctx, tok(0))) })
	<-gated // the first Append waits; the rest queue behind it
	for i := 1; i < 1000; i++ {
		wg.Go(func() { assert.NoError(t, b.Add(ctx, tok(i))) })
	}
	require.Eventually(t, func() bool { return b.Stats().JournalDepth == 0 && yespo.JournalQueue(b) == 999 }, 10*time.Second, time.Millisecond)
	close(store.gate)
	wg.Wait()
	store.mu.Lock()
	appends := store.appends
	store.mu.Unlock()
	assert.Equal(t, 2, appends, "the first token, then the 999 that queued behind it")
	assert.Equal(t, 1000, store.depth())
	require.NoError(t, b.Close(ctx))
	assert.Zero(t, store.depth())
	assertDelivered(t, srv, app, toks(0, 1000))
}

// An Add whose ctx ends while its token waits for the journal returns the
// ctx's error, and its token is not sent: taken back from the journal if
// it was appended meanwhile, never appended if it had not been yet.
func TestJournalAddGivingUpLeavesNothingBehind(t *testing.T) {
	srv, app, store := journaled(t)
	store.gate, store.gated = make(chan struct{}), make(chan struct{})
	gated := store.gated
	b, err := srv.Client().NewBatcher(app, yespo.BatcherOptions{Journal: store.run(), FlushInterval: time.Millisecond})
	require.NoError(t, err)
	inAppend, cancelInAppend := context.WithCancel(ctx)
	first := make(chan error, 1)
	go func() { first <- b.Add(inAppend, tok(1)) }()
	<-gated
	queuedCtx, cancelQueued := context.WithCancel(ctx)
	second := make(chan error, 1)
	go func() { second <- b.Add(queuedCtx, tok(2)) }()
	require.Eventually(t, func() bool { return yespo.JournalQueue(b) == 1 }, 10*time.Second, time.Millisecond)
	cancelQueued()
	require.ErrorIs(t, <-second, context.Canceled, "withdrawn before its Append")
	cancelInAppend()
	require.ErrorIs(t, <-first, context.Canceled)
	close(store.gate) // the Append of tok(1) now completes: the Batcher takes it back
	require.NoError(t, b.Add(ctx, tok(3)))
	require.NoError(t, b.Close(ctx))
	assert.Zero(t, store.depth(), "tok(1)'s entry was removed")
	_, sent1 := srv.ContactByToken(app, tok(1).Token)
	_, sent2 := srv.ContactByToken(app, tok(2).Token)
	assert.False(t, sent1 || sent2, "a token whose Add failed is not sent")
	assertDelivered(t, srv, app, []yespo.Token{tok(3)})
	st := b.Stats()
	assert.EqualValues(t, 1, st.Added)
	assert.Equal(t, st.Added+st.Reclaimed, st.Sent+st.Failed+st.Duplicates+st.Held)
}

func TestJournalAppendFailureRefusesTheToken(t *testing.T) {
	srv, app, store := journaled(t)
	b, err := srv.Client().NewBatcher(app, yespo.BatcherOptions{Journal: store.run()})
	require.NoError(t, err)
	store.mu.Lock()
	store.failWith = errDiskFull
	store.mu.Unlock()
	err = b.Add(ctx, tok(1))
	require.ErrorIs(t, err, errDiskFull)
	assert.Contains(t, err.Error(), "not accepted")
	assert.Zero(t, b.Stats().Added)
	store.mu.Lock()
	store.failWith = nil
	store.mu.Unlock()
	require.NoError(t, b.Close(ctx))
	assert.Empty(t, srv.Requests())
}

func TestJournalOutageHoldsTokensThenDelivers(t *testing.T) {
	srv, app, store := journaled(t)
	var results []yespo.BatchResult
	var mu sync.Mutex
	logs := &syncBuffer{}
	client := srv.Client(yespo.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	b, err := client.NewBatcher(app, yespo.BatcherOptions{Journal: store.run(), MaxBatch: 50,
		OnBatch: func(r yespo.BatchResult) { mu.Lock(); results = append(results, r); mu.Unlock() }})
	require.NoError(t, err)
	srv.FailRandomly(1, yespotest.Fault{Status: http.StatusServiceUnavailable})
	tokens := toks(0, 200)
	for _, tk := range tokens {
		require.NoError(t, b.Add(ctx, tk))
	}
	err = b.Flush(ctx)
	require.ErrorIs(t, err, yespo.ErrHeld)
	require.ErrorIs(t, err, yespo.ErrServer, "the error says why")
	assert.Contains(t, err.Error(), "200 of 200 tokens held")
	st := b.Stats()
	assert.EqualValues(t, 200, st.Held)
	assert.Zero(t, st.Failed, "held is not failed")
	assert.Equal(t, 200, st.JournalDepth)
	err = b.AddAndWait(ctx, tok(999))
	require.ErrorIs(t, err, yespo.ErrHeld, "AddAndWait: nil only once Yespo accepted")

	srv.FailRandomly(0)
	require.NoError(t, store.waitDepth(0, 20*time.Second), "Yespo is back: every held token goes out")
	require.NoError(t, b.Flush(ctx))
	require.NoError(t, b.Close(ctx))
	assertDelivered(t, srv, app, append(tokens, tok(999)))
	st = b.Stats()
	assert.EqualValues(t, 201, st.Sent)
	assert.Zero(t, st.Failed)
	assert.Zero(t, st.Held)
	text := logs.String()
	assert.Equal(t, 1, strings.Count(text, "holding its tokens in the journal"), "the outage is logged once:\n%s", text)
	assert.Equal(t, 1, strings.Count(text, "Yespo accepts again"), "and so is its end:\n%s", text)
	assert.NotContains(t, text, srv.APIKey)
	mu.Lock()
	defer mu.Unlock()
	for _, r := range results {
		assert.NoError(t, r.Err, "OnBatch hears only of batches settled for good")
	}
}

func TestJournalOperatorErrorHoldsUntilAFixedRun(t *testing.T) {
	srv, app, store := journaled(t)
	bad, err := yespo.NewClient("not-the-key", yespo.WithBaseURL(srv.URL))
	require.NoError(t, err)
	b, err := bad.NewBatcher(app, yespo.BatcherOptions{Journal: store.run()})
	require.NoError(t, err)
	tokens := toks(0, 50)
	for _, tk := range tokens {
		require.NoError(t, b.Add(ctx, tk))
	}
	err = b.Close(ctx)
	require.ErrorIs(t, err, yespo.ErrHeld)
	require.ErrorIs(t, err, yespo.ErrUnauthorized, "the error names the cause")
	assert.NotContains(t, err.Error(), "not-the-key")
	st := b.Stats()
	assert.EqualValues(t, 50, st.Held)
	assert.Zero(t, st.Failed)
	assert.Equal(t, 50, store.depth())

	fixed, err := srv.Client().NewBatcher(app, yespo.BatcherOptions{Journal: store.run()})
	require.NoError(t, err)
	require.NoError(t, fixed.Close(ctx))
	assertDelivered(t, srv, app, tokens)
	assert.Zero(t, store.depth())
}

func TestJournalBadRequestLeavesTheJournalAndFails(t *testing.T) {
	srv, app, store := journaled(t)
	var failed []yespo.BatchResult
	b, err := srv.Client().NewBatcher(app, yespo.BatcherOptions{Journal: store.run(),
		OnBatch: func(r yespo.BatchResult) {
			if r.Err != nil {
				failed = append(failed, r)
			}
		}})
	require.NoError(t, err)
	srv.FailNext(1, yespotest.Fault{Status: http.StatusBadRequest, Body: "Invalid token"})
	require.NoError(t, b.Add(ctx, tok(1)))
	err = b.Close(ctx)
	require.ErrorIs(t, err, yespo.ErrBadRequest)
	assert.NotErrorIs(t, err, yespo.ErrHeld)
	assert.Zero(t, store.depth(), "a token refused for good leaves the journal")
	require.Len(t, failed, 1)
	assert.EqualValues(t, 1, b.Stats().Failed)
}

func TestJournalCloseGivingUpLeavesTokensAndTouchesNothingAfter(t *testing.T) {
	srv := yespotest.NewServer(yespotest.WithLatency(2 * time.Second))
	t.Cleanup(srv.Close)
	app, store := srv.NewApp(), newMemStore()
	b, err := srv.Client().NewBatcher(app, yespo.BatcherOptions{Journal: store.run(), MaxBatch: 10})
	require.NoError(t, err)
	for _, tk := range toks(0, 30) {
		require.NoError(t, b.Add(ctx, tk))
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err = b.Close(cctx)
	require.ErrorIs(t, err, yespo.ErrHeld)
	assert.Contains(t, err.Error(), "30 of 30 tokens held")
	calls := store.callCount()
	st := b.Stats()
	assert.EqualValues(t, 30, st.Held)
	assert.Zero(t, st.Failed)
	assert.Equal(t, 30, st.JournalDepth, "from the journal as Close left it")
	require.ErrorIs(t, b.Add(ctx, tok(100)), yespo.ErrBatcherClosed)
	require.ErrorIs(t, b.Close(ctx), yespo.ErrHeld)
	assert.Equal(t, calls, store.callCount(), "no journal call after Close returned")
	assert.Equal(t, 30, store.depth())
}

func TestJournalHeldErrorReadsWell(t *testing.T) {
	srv, app, store := journaled(t)
	b, err := srv.Client().NewBatcher(app, yespo.BatcherOptions{Journal: store.run()})
	require.NoError(t, err)
	srv.FailRandomly(1, yespotest.Fault{Status: http.StatusServiceUnavailable, Body: "maintenance"})
	require.NoError(t, b.Add(ctx, tok(1)))
	err = b.Close(ctx)
	require.Error(t, err)
	msg := err.Error()
	assert.True(t, strings.HasPrefix(msg, "yespo: batcher: 1 of 1 tokens held in the journal"), msg)
	assert.Contains(t, msg, "503")
	assert.Contains(t, msg, "maintenance")
	assert.False(t, errors.Is(err, yespo.ErrBatcherClosed))
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestJournalCloseDoesNotWaitOutASlowJournal(t *testing.T) {
	srv, app, store := journaled(t)
	store.removing = make(chan struct{}) // never opens: the journal hangs in Remove
	waiting := make(chan struct{})
	store.waiting = waiting
	b, err := srv.Client().NewBatcher(app, yespo.BatcherOptions{Journal: store.run()})
	require.NoError(t, err)
	require.NoError(t, b.Add(ctx, tok(1)))
	select {
	case <-waiting: // Yespo accepted the batch; the journal hangs forgetting it
	case <-time.After(10 * time.Second):
		t.Fatal("the batch was not accepted")
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.Close(cctx) }()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second): // 100x Close's ctx
		t.Fatal("Close waits for a journal that hangs")
	}
	require.ErrorIs(t, err, yespo.ErrHeld, "the token is left in the journal")
	calls := store.callCount()
	assert.EqualValues(t, 1, b.Stats().Held)
	assert.Equal(t, calls, store.callCount(), "no journal call after Close returned")
	assert.Equal(t, 1, store.depth(), "the entry stays: the next Batcher sends it again (at least once)")
}
