package yespobolt_test

import (
	"context"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespobolt"
	"github.com/yespo-go/yespo/yespotest"
)

// run opens the journal at path, runs a Batcher on it for srv's app, hands
// it to f, closes both and returns the Batcher's Close error and Stats.
func run(t *testing.T, srv *yespotest.Server, app, path string, closeWithin time.Duration, f func(*yespo.Batcher)) (yespo.BatcherStats, error) {
	t.Helper()
	j, err := yespobolt.Open(path, yespobolt.WithLogger(quiet))
	require.NoError(t, err)
	defer func() { require.NoError(t, j.Close()) }()
	b, err := srv.Client().NewBatcher(app, yespo.BatcherOptions{Journal: j})
	require.NoError(t, err)
	if f != nil {
		f(b)
	}
	cctx, cancel := context.WithTimeout(ctx, closeWithin)
	defer cancel()
	err = b.Close(cctx)
	return b.Stats(), err
}

// The issue's own scenario: 500 users press /start during an outage, the
// bot restarts in the middle of it; once Yespo is back, all 500 are there.
func TestOutageAcrossRestartsDeliversAll(t *testing.T) {
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	path := filepath.Join(t.TempDir(), "journal")
	srv.FailRandomly(1, yespotest.Fault{Status: http.StatusServiceUnavailable})

	st, err := run(t, srv, app, path, 5*time.Second, func(b *yespo.Batcher) {
		var wg sync.WaitGroup
		for i := range 500 {
			wg.Go(func() { assert.NoError(t, b.Add(ctx, tok(i))) })
		}
		wg.Wait()
	})
	require.ErrorIs(t, err, yespo.ErrHeld)
	assert.EqualValues(t, 500, st.Held)
	assert.Zero(t, st.Failed)
	assert.Equal(t, 500, st.JournalDepth)

	st, err = run(t, srv, app, path, 5*time.Second, nil) // restarted, Yespo still down
	require.ErrorIs(t, err, yespo.ErrHeld)
	assert.EqualValues(t, 500, st.Reclaimed)
	assert.EqualValues(t, 500, st.Held)

	srv.FailRandomly(0)
	st, err = run(t, srv, app, path, time.Minute, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 500, st.Sent)
	assert.Zero(t, st.JournalDepth)
	for i := range 500 {
		_, ok := srv.ContactByToken(app, tok(i).Token)
		require.True(t, ok, "token %d", i)
	}
}

func TestBatcherRefusesAJournalOfAnotherApp(t *testing.T) {
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	first, second := srv.NewApp(), srv.NewApp()
	path := filepath.Join(t.TempDir(), "journal")
	srv.FailRandomly(1, yespotest.Fault{Status: http.StatusServiceUnavailable}) // the token stays in the journal
	_, err := run(t, srv, first, path, time.Second, func(b *yespo.Batcher) { require.NoError(t, b.Add(ctx, tok(1))) })
	require.ErrorIs(t, err, yespo.ErrHeld)
	j, err := yespobolt.Open(path, yespobolt.WithLogger(quiet))
	require.NoError(t, err)
	defer j.Close()
	_, err = srv.Client().NewBatcher(second, yespo.BatcherOptions{Journal: j})
	require.ErrorIs(t, err, yespo.ErrJournalTarget)
	assert.Contains(t, err.Error(), "holds 1 token(s) for app "+first)
	assert.Contains(t, err.Error(), second)
}

// A journal left empty by one app's bot is taken over by the bot of
// another app (a new app uuid), which delivers its own tokens to its app.
func TestBatcherRebindsAnEmptyJournal(t *testing.T) {
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	first, second := srv.NewApp(), srv.NewApp()
	path := filepath.Join(t.TempDir(), "journal")
	_, err := run(t, srv, first, path, time.Minute, func(b *yespo.Batcher) { require.NoError(t, b.Add(ctx, tok(1))) })
	require.NoError(t, err)
	st, err := run(t, srv, second, path, time.Minute, func(b *yespo.Batcher) { require.NoError(t, b.Add(ctx, tok(2))) })
	require.NoError(t, err)
	assert.EqualValues(t, 1, st.Sent)
	_, ok := srv.ContactByToken(second, tok(2).Token)
	assert.True(t, ok)
	_, ok = srv.ContactByToken(second, tok(1).Token)
	assert.False(t, ok, "the first app's token went to the first app only")
}
