package yespopebble_test

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
	"github.com/yespo-go/yespo/yespopebble"
	"github.com/yespo-go/yespo/yespotest"
)

// run opens the journal at path, runs a Batcher on it for srv's app, hands
// it to f, closes both and returns the Batcher's Close error and Stats.
func run(t *testing.T, srv *yespotest.Server, app, path string, closeWithin time.Duration, f func(*yespo.Batcher)) (yespo.BatcherStats, error) {
	t.Helper()
	j, err := yespopebble.Open(path)
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

func TestBatcherBurstSharesSyncs(t *testing.T) {
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	j, err := yespopebble.Open(filepath.Join(t.TempDir(), "journal"))
	require.NoError(t, err)
	defer j.Close()
	// No batch is cut before Close (MaxBatch above the burst, an hour's
	// FlushInterval), so the journal must hold every token Add accepted.
	b, err := srv.Client().NewBatcher(app, yespo.BatcherOptions{Journal: j, FlushInterval: time.Hour, MaxBatch: 2000})
	require.NoError(t, err)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Go(func() {
			<-start
			assert.NoError(t, b.Add(ctx, tok(i)))
		})
	}
	before := j.Syncs()
	close(start)
	wg.Wait()
	syncs := j.Syncs() - before
	t.Logf("%d syncs for a burst of 1,000 Adds", syncs)
	assert.Less(t, syncs, int64(100), "a burst shares syncs")
	st, err := j.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1000, st.Depth, "every Add that returned is in the journal")
	require.NoError(t, b.Close(ctx))
}

func TestBatcherRefusesAJournalOfAnotherApp(t *testing.T) {
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	first, second := srv.NewApp(), srv.NewApp()
	path := filepath.Join(t.TempDir(), "journal")
	_, err := run(t, srv, first, path, time.Minute, nil)
	require.NoError(t, err)
	j, err := yespopebble.Open(path)
	require.NoError(t, err)
	defer j.Close()
	_, err = srv.Client().NewBatcher(second, yespo.BatcherOptions{Journal: j})
	require.ErrorIs(t, err, yespo.ErrJournalTarget)
	assert.Contains(t, err.Error(), first)
	assert.Contains(t, err.Error(), second)
}
