package yespo_test

import (
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

// welcomeOf is the follow-up event of tok(i).
func welcomeOf(i int) yespo.Event {
	t := tok(i)
	return yespo.Event{TypeKey: "telegram_subscribed", KeyValue: t.ExternalCustomerID, Params: []yespo.EventParam{
		{Name: "telegramChatId", Value: t.Token},
		{Name: "externalCustomerId", Value: t.ExternalCustomerID},
		{Name: "seq", Value: i},
	}}
}

// assertEventsFollowTokens checks that every event of tok(0..n-1) arrived,
// with its params, and none before Yespo stored its token.
func assertEventsFollowTokens(t *testing.T, srv *yespotest.Server, app string, n int) {
	t.Helper()
	seen := map[string]bool{}
	for _, ev := range srv.Events() {
		var chat string
		for _, p := range ev.Params {
			if p.Name == "telegramChatId" {
				require.NoError(t, json.Unmarshal(p.Value.(json.RawMessage), &chat))
			}
		}
		at, ok := srv.TokenAddedAt(app, chat)
		require.True(t, ok, "event for chat %s whose token Yespo never stored", chat)
		require.True(t, ev.Time.After(at), "event for chat %s at %v, before its token was stored at %v", chat, ev.Time, at)
		require.Len(t, ev.Params, 3)
		seen[chat] = true
	}
	for i := range n {
		assert.True(t, seen[tok(i).Token], "no event for %s", tok(i).Token)
	}
}

// Events follow their tokens over a real socket at a far server's latency:
// each after its token's 2xx, with all its params; Flush waits for them.
func TestAddWithEventFollowsToken(t *testing.T) {
	srv := yespotest.NewServer(yespotest.WithLatency(20 * time.Millisecond))
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	b, err := srv.Client().NewBatcher(app, yespo.BatcherOptions{MaxBatch: 50, FlushInterval: 5 * time.Millisecond})
	require.NoError(t, err)
	const n = 300
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { assert.NoError(t, b.AddWithEvent(ctx, tok(i), welcomeOf(i))) })
	}
	wg.Wait()
	require.NoError(t, b.Flush(ctx))
	assert.Len(t, srv.Events(), n, "Flush returned before the events were sent")
	require.NoError(t, b.Close(ctx))
	assertEventsFollowTokens(t, srv, app, n)
	st := b.Stats()
	assert.EqualValues(t, n, st.Sent)
	assert.EqualValues(t, n, st.EventsSent)
	assert.Zero(t, st.EventsFailed+st.EventsHeld)
}

// A twin of a pending token is sent once, but each call's event is sent.
func TestAddWithEventTwins(t *testing.T) {
	srv, app, b := fakeWithBatcher(t, yespo.BatcherOptions{FlushInterval: time.Hour})
	for range 3 {
		require.NoError(t, b.AddWithEvent(ctx, tok(0), welcomeOf(0)))
	}
	require.NoError(t, b.Close(ctx))
	assert.Len(t, srv.Events(), 3)
	assertEventsFollowTokens(t, srv, app, 1)
	assert.EqualValues(t, 1, b.Stats().Sent)
}

// Concurrent twins, which may share one Append (and, in memory, one
// entry id): each call's event is sent, and the journal ends empty.
func TestAddWithEventConcurrentTwins(t *testing.T) {
	srv, _, b := fakeWithBatcher(t, yespo.BatcherOptions{FlushInterval: 20 * time.Millisecond})
	const n = 64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { assert.NoError(t, b.AddWithEvent(ctx, tok(0), welcomeOf(0))) })
	}
	wg.Wait()
	require.NoError(t, b.Close(ctx))
	assert.Len(t, srv.Events(), n)
	st := b.Stats()
	assert.EqualValues(t, n, st.EventsSent)
	assert.Zero(t, st.JournalDepth)
}

// An invalid event is refused before anything is queued.
func TestAddWithEventValidates(t *testing.T) {
	_, _, b := fakeWithBatcher(t, yespo.BatcherOptions{})
	err := b.AddWithEvent(ctx, tok(1), yespo.Event{TypeKey: "bad/key", KeyValue: "k"})
	require.ErrorIs(t, err, yespo.ErrInvalidEvent)
	require.ErrorIs(t, err, yespo.ErrInvalidInput)
	require.NoError(t, b.Close(ctx))
	assert.Zero(t, b.Stats().Added)
}

// An event refused with a 400 reaches OnEvent with the server's words and
// counts as failed; a 503 is retried; the token is not affected. A token
// Yespo refuses sends no event.
func TestAddWithEventAnswers(t *testing.T) {
	var mu sync.Mutex
	var results []yespo.EventResult
	srv, _, b := fakeWithBatcher(t, yespo.BatcherOptions{FlushInterval: time.Millisecond, OnEvent: func(r yespo.EventResult) {
		mu.Lock()
		defer mu.Unlock()
		results = append(results, r)
	}})
	srv.FailNextEvents(1, yespotest.Fault{Status: http.StatusBadRequest, Body: "invalid param seq"})
	require.NoError(t, b.AddWithEvent(ctx, tok(1), welcomeOf(1)))
	err := b.Flush(ctx)
	require.ErrorIs(t, err, yespo.ErrBadRequest)
	assert.Contains(t, err.Error(), "1 of 1 follow-up events failed")
	srv.FailNextEvents(1, yespotest.Fault{Status: http.StatusServiceUnavailable})
	require.NoError(t, b.AddWithEvent(ctx, tok(2), welcomeOf(2)))
	require.NoError(t, b.Flush(ctx))
	require.ErrorIs(t, b.Close(ctx), yespo.ErrBadRequest, "Close reports the event that failed")

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, results, 2)
	assert.Equal(t, tok(1), results[0].Token)
	assert.ErrorIs(t, results[0].Err, yespo.ErrBadRequest)
	assert.Contains(t, results[0].Err.Error(), "invalid param seq")
	assert.Equal(t, "telegram_subscribed", results[0].Event.TypeKey)
	assert.NoError(t, results[1].Err)
	st := b.Stats()
	assert.EqualValues(t, 2, st.Sent)
	assert.EqualValues(t, 1, st.EventsSent)
	assert.EqualValues(t, 1, st.EventsFailed)
	assert.Len(t, srv.Events(), 1)
}

// With a journal, an event whose token was kept but not yet accepted when
// the Batcher closed (an app Yespo does not know yet) stays in the journal
// with all its params: the next Batcher sends the token, then the event.
func TestAddWithEventSurvivesInJournal(t *testing.T) {
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	const app = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
	store := newMemStore()
	b, err := srv.Client().NewBatcher(app, yespo.BatcherOptions{Journal: store.run(), FlushInterval: time.Millisecond})
	require.NoError(t, err)
	for i := range 5 {
		require.NoError(t, b.AddWithEvent(ctx, tok(i), welcomeOf(i)))
	}
	require.ErrorIs(t, b.Flush(ctx), yespo.ErrHeld)
	require.ErrorIs(t, b.Close(ctx), yespo.ErrHeld)
	assert.Empty(t, srv.Events())

	require.NoError(t, srv.RegisterApp(app))
	b2, err := srv.Client().NewBatcher(app, yespo.BatcherOptions{Journal: store.run(), FlushInterval: time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, b2.Close(ctx))
	assertEventsFollowTokens(t, srv, app, 5)
	assert.Len(t, srv.Events(), 5)
	st := b2.Stats()
	assert.EqualValues(t, 5, st.Reclaimed)
	assert.EqualValues(t, 5, st.EventsSent)
	assert.Zero(t, st.JournalDepth, "Stats after Close: the journal as the events left it")
	js, err := store.run().Stats(ctx)
	require.NoError(t, err)
	assert.Zero(t, js.Depth, "an entry left the journal before its event was settled, or stayed after")
}
