package yespo_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespotest"
)

var ctx = context.Background()

func tok(i int) yespo.Token {
	return yespo.Token{Token: fmt.Sprint(1_000_000 + i), ExternalCustomerID: fmt.Sprint("c-", i)}
}

// fakeWithBatcher is a yespotest server, an app and a Batcher on it.
func fakeWithBatcher(t *testing.T, opts yespo.BatcherOptions, clientOpts ...yespo.Option) (*yespotest.Server, string, *yespo.Batcher) {
	t.Helper()
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	b, err := srv.Client(clientOpts...).NewBatcher(app, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return srv, app, b
}

// eventually waits for cond, polling, for at most 5 s.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, time.Millisecond, msg)
}

// tokensPerRequest counts the tokens in each recorded request body.
func tokensPerRequest(reqs []yespotest.Request) []int {
	var out []int
	for _, r := range reqs {
		out = append(out, strings.Count(string(r.Body), `"token":`))
	}
	return out
}

// assertStored checks that every token sits on exactly one contact, once.
func assertStored(t *testing.T, srv *yespotest.Server, want int) {
	t.Helper()
	seen := map[string]int{}
	for _, c := range srv.Contacts() {
		for _, ct := range c.Tokens {
			seen[ct.Token]++
		}
	}
	require.Len(t, seen, want)
	for token, n := range seen {
		require.Equal(t, 1, n, "token %s stored %d times", token, n)
	}
}

func TestBatchGoesOutWhenFull(t *testing.T) {
	srv, _, b := fakeWithBatcher(t, yespo.BatcherOptions{MaxBatch: 10, FlushInterval: time.Hour})
	for i := range 25 {
		require.NoError(t, b.Add(ctx, tok(i)))
	}
	eventually(t, func() bool { return b.Stats().Sent == 20 }, "two full batches without waiting for the interval")
	assert.Equal(t, 5, b.Stats().Pending, "the rest waits for more tokens or the interval")
	assert.Len(t, srv.Requests(), 2)
	require.NoError(t, b.Flush(ctx))
	assert.Equal(t, []int{10, 10, 5}, tokensPerRequest(srv.Requests()))
	require.NoError(t, b.Close(ctx))
	assertStored(t, srv, 25)
}

func TestBatchGoesOutAfterInterval(t *testing.T) {
	srv, _, b := fakeWithBatcher(t, yespo.BatcherOptions{MaxBatch: 1000, FlushInterval: 80 * time.Millisecond})
	start := time.Now()
	for i := range 3 {
		require.NoError(t, b.Add(ctx, tok(i)))
	}
	eventually(t, func() bool { return len(srv.Requests()) == 1 }, "the oldest token waited FlushInterval")
	assert.GreaterOrEqual(t, time.Since(start), 80*time.Millisecond)
	assert.Equal(t, []int{3}, tokensPerRequest(srv.Requests()))
}

func TestBatcherDuplicatesSentOnce(t *testing.T) {
	srv, _, b := fakeWithBatcher(t, yespo.BatcherOptions{FlushInterval: time.Hour})
	same := yespo.Token{Token: "7", Email: "a@example.com"}
	require.NoError(t, b.Add(ctx, same))
	require.NoError(t, b.Add(ctx, same))
	require.NoError(t, b.Add(ctx, same))
	require.NoError(t, b.Add(ctx, yespo.Token{Token: "7", Email: "a@example.com", Phone: "+15550100001"}), "differs in one field")
	require.NoError(t, b.Close(ctx))
	st := b.Stats()
	st.Pace = 0 // the Client's, tested by the simulator
	assert.Equal(t, yespo.BatcherStats{Added: 4, Duplicates: 2, Sent: 2, Batches: 1, Attempts: 1}, st)
	assert.Equal(t, []int{2}, tokensPerRequest(srv.Requests()))
}

func TestBatcherConcurrencyBound(t *testing.T) {
	var inFlight, peak atomic.Int32
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		inFlight.Add(-1)
		answer(200, `"OK"`)(w, r)
	})
	b, err := s.client(t).NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: 5, Concurrency: 3, FlushInterval: time.Hour})
	require.NoError(t, err)
	for i := range 60 {
		require.NoError(t, b.Add(ctx, tok(i)))
	}
	require.NoError(t, b.Close(ctx))
	assert.Equal(t, int32(3), peak.Load(), "never more than Concurrency requests, and that many used")
	assert.Equal(t, int64(12), b.Stats().Batches)
}

func TestFailedBatchIsReportedWithItsTokens(t *testing.T) {
	var mu sync.Mutex
	var results []yespo.BatchResult
	srv, _, b := fakeWithBatcher(t, yespo.BatcherOptions{MaxBatch: 4, FlushInterval: time.Hour, OnBatch: func(r yespo.BatchResult) {
		mu.Lock()
		results = append(results, r)
		mu.Unlock()
	}})
	srv.FailNext(1, yespotest.Fault{Status: 422, Body: "Bad things"}) // final, and not a 400, which is split
	for i := range 8 {
		require.NoError(t, b.Add(ctx, tok(i)))
	}
	err := b.Close(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "4 of 8 tokens failed")
	var ae *yespo.APIError
	require.ErrorAs(t, err, &ae, "Close wraps the first error")
	assert.Equal(t, 422, ae.StatusCode)

	require.Len(t, results, 2, "OnBatch once per request")
	var failed []yespo.Token
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, r.Tokens...)
		}
	}
	assert.Len(t, failed, 4, "the failed batch comes with its tokens")
	st := b.Stats()
	assert.Equal(t, int64(8), st.Added)
	assert.Equal(t, st.Added, st.Sent+st.Failed+st.Duplicates)
	assert.Equal(t, int64(4), st.Failed)
}

func TestBatcherAddAfterCloseAndWithDoneContext(t *testing.T) {
	_, _, b := fakeWithBatcher(t, yespo.BatcherOptions{})
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, b.Add(cancelled, tok(1)), context.Canceled)
	assert.Zero(t, b.Stats().Added, "not accepted")
	assert.ErrorIs(t, b.Add(ctx, yespo.Token{Token: "no-identifier"}), yespo.ErrInvalidInput)
	require.NoError(t, b.Close(ctx))
	assert.ErrorIs(t, b.Add(ctx, tok(2)), yespo.ErrBatcherClosed)
}

// heldServer answers token requests only once release is closed.
func heldServer(t *testing.T) (s *server, release chan struct{}) {
	release = make(chan struct{})
	s = newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", func(w http.ResponseWriter, r *http.Request) {
		<-release
		answer(200, `"OK"`)(w, r)
	})
	return s, release
}

func TestBatcherAddBlocksAtMaxPending(t *testing.T) {
	s, release := heldServer(t)
	b, err := s.client(t).NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: 5, MaxPending: 10, Concurrency: 1, FlushInterval: time.Hour})
	require.NoError(t, err)
	for i := range 10 {
		require.NoError(t, b.Add(ctx, tok(i)))
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, b.Add(short, tok(10)), context.DeadlineExceeded, "full: Add blocks until ctx ends")
	assert.Equal(t, int64(10), b.Stats().Added)

	done := make(chan error, 1)
	go func() { done <- b.Add(ctx, tok(11)) }()
	close(release)
	require.NoError(t, <-done, "a finished batch frees room")
	require.NoError(t, b.Close(ctx))
	assert.Equal(t, int64(11), b.Stats().Sent)
}

func TestBatcherCloseUnblocksWaitingAdd(t *testing.T) {
	s, release := heldServer(t)
	b, err := s.client(t).NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: 2, MaxPending: 2, Concurrency: 1, FlushInterval: time.Hour})
	require.NoError(t, err)
	require.NoError(t, b.Add(ctx, tok(0)))
	require.NoError(t, b.Add(ctx, tok(1)))
	blocked := make(chan error, 1)
	go func() { blocked <- b.Add(ctx, tok(2)) }()
	closed := make(chan error, 1)
	go func() { closed <- b.Close(ctx) }()
	assert.ErrorIs(t, <-blocked, yespo.ErrBatcherClosed)
	close(release)
	require.NoError(t, <-closed)
}

func TestNewBatcherValidates(t *testing.T) {
	c, err := yespo.NewClient(testKey)
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		app   string
		opts  yespo.BatcherOptions
		field string
	}{
		"bad uuid":          {"nope", yespo.BatcherOptions{}, "appUUID"},
		"negative batch":    {appUUID, yespo.BatcherOptions{MaxBatch: -1}, "BatcherOptions.MaxBatch"},
		"negative interval": {appUUID, yespo.BatcherOptions{FlushInterval: -time.Second}, "BatcherOptions.FlushInterval"},
		"pending < batch":   {appUUID, yespo.BatcherOptions{MaxBatch: 100, MaxPending: 10}, "BatcherOptions.MaxPending"},
		"huge batch":        {appUUID, yespo.BatcherOptions{MaxBatch: math.MaxInt}, "BatcherOptions.MaxBatch"},
		"batch 1<<36":       {appUUID, yespo.BatcherOptions{MaxBatch: 1 << 36}, "BatcherOptions.MaxBatch"},
		"batch 10,001":      {appUUID, yespo.BatcherOptions{MaxBatch: 10_001}, "BatcherOptions.MaxBatch"},
		"huge pending":      {appUUID, yespo.BatcherOptions{MaxPending: 10_000_001}, "BatcherOptions.MaxPending"},
		"huge concurrency":  {appUUID, yespo.BatcherOptions{Concurrency: math.MaxInt}, "BatcherOptions.Concurrency"},
		"concurrency 1025":  {appUUID, yespo.BatcherOptions{Concurrency: 1025}, "BatcherOptions.Concurrency"},
		"negative pause":    {appUUID, yespo.BatcherOptions{MaxPause: -1}, "BatcherOptions.MaxPause"},
		"pause of 2h":       {appUUID, yespo.BatcherOptions{MaxPause: 2 * time.Hour}, "BatcherOptions.MaxPause"},
		"interval of 2h":    {appUUID, yespo.BatcherOptions{FlushInterval: 2 * time.Hour}, "BatcherOptions.FlushInterval"},
		"interval of 1µs":   {appUUID, yespo.BatcherOptions{FlushInterval: time.Microsecond}, "BatcherOptions.FlushInterval"},
	} {
		var err error
		allocs := testing.AllocsPerRun(1, func() { _, err = c.NewBatcher(tc.app, tc.opts) })
		var ve *yespo.ValidationError
		require.ErrorAs(t, err, &ve, name)
		assert.ErrorIs(t, err, yespo.ErrInvalidInput, name)
		assert.Equal(t, tc.field, ve.Field, name)
		assert.Less(t, allocs, 20.0, "%s: nothing allocated for the refused value", name)
	}
	b, err := c.NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: 10_000, MaxPending: 10_000_000, Concurrency: 1024,
		MaxPause: time.Hour, FlushInterval: time.Hour})
	require.NoError(t, err, "the bounds themselves are allowed")
	require.NoError(t, b.Close(ctx))
}

// A nil context is refused with an error, never a panic.
func TestBatcherNilContextIsInvalidInput(t *testing.T) {
	_, _, b := fakeWithBatcher(t, yespo.BatcherOptions{})
	var nilCtx context.Context
	assert.ErrorIs(t, b.Add(nilCtx, tok(1)), yespo.ErrInvalidInput)
	assert.ErrorIs(t, b.AddAndWait(nilCtx, tok(1)), yespo.ErrInvalidInput)
	assert.ErrorIs(t, b.Flush(nilCtx), yespo.ErrInvalidInput)
	assert.ErrorIs(t, b.Close(nilCtx), yespo.ErrInvalidInput)
	assert.Zero(t, b.Stats().Added)
	require.NoError(t, b.Close(ctx), "still open: the nil Close did nothing")
}

// A burst of a few tokens is not split to keep idle workers busy.
func TestBatcherFewTokensGoInOneRequest(t *testing.T) {
	srv, _, b := fakeWithBatcher(t, yespo.BatcherOptions{})
	for i := range 5 {
		require.NoError(t, b.Add(ctx, tok(i)))
	}
	require.NoError(t, b.Flush(ctx))
	assert.LessOrEqual(t, len(srv.Requests()), 2, "one request, two if the interval fell between the Adds")
	assertStored(t, srv, 5)
}

func TestBatcherManyGoroutinesAndNoLeaks(t *testing.T) {
	srv, _, b := fakeWithBatcher(t, yespo.BatcherOptions{MaxBatch: 50, FlushInterval: 5 * time.Millisecond, MaxPending: 200})
	var wg sync.WaitGroup
	for g := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				assert.NoError(t, b.Add(ctx, tok(g*1000+i%20))) // every goroutine repeats 10 tokens
			}
		}()
	}
	wg.Wait()
	require.NoError(t, b.Close(ctx))
	st := b.Stats()
	assert.Equal(t, int64(3000), st.Added)
	assert.Equal(t, st.Added, st.Sent+st.Failed+st.Duplicates)
	assert.Zero(t, st.Failed)
	assertStored(t, srv, 2000)
	eventually(t, func() bool { return !batcherGoroutines() }, "no goroutine of the Batcher is left after Close")
}

// batcherGoroutines reports whether any goroutine is running Batcher code.
func batcherGoroutines() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Contains(string(buf), "yespo.(*Batcher)")
}
