package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errRefused = errors.New("400: refused")
var errDown = errors.New("503: down")

// fake is a server as the engine meets it: each send takes latency,
// refuses a batch holding a refused item, and fails everything while down.
type fake struct {
	latency time.Duration
	refuse  map[int]bool

	mu       sync.Mutex
	down     bool
	stored   map[int]int
	sends    int
	inflight int
	most     int // the most sends in flight at once
}

func (f *fake) send(ctx context.Context, items []int, sending func()) error {
	sending()
	f.mu.Lock()
	f.inflight++
	f.most = max(f.most, f.inflight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight--
		f.mu.Unlock()
	}()
	t := time.NewTimer(f.latency)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sends++
	if f.down {
		return errDown
	}
	for _, it := range items {
		if f.refuse[it] {
			return errRefused
		}
	}
	for _, it := range items {
		f.stored[it]++
	}
	return nil
}

func (f *fake) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func classify(err error) Verdict {
	switch {
	case errors.Is(err, errRefused):
		return Split
	case errors.Is(err, errDown):
		return Outage
	}
	return Refused
}

// reports counts what OnResult heard.
type reports struct {
	mu    sync.Mutex
	items map[int]int
	errs  map[int]error
	calls int
}

func (r *reports) record(res Result[int]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	for _, it := range res.Items {
		r.items[it]++
		if res.Err != nil {
			r.errs[it] = res.Err
		}
	}
}

func newEngine(t *testing.T, f *fake, conc int, onResult func(Result[int]), tweak ...func(*Config[int])) *Engine[int] {
	t.Helper()
	cfg := Config[int]{
		MaxBatch: 5, MaxPending: 1000, Concurrency: conc,
		FlushInterval: 10 * time.Millisecond, MaxOutage: 30 * time.Second,
		Journal:  NewMemory[int](),
		Send:     f.send,
		Classify: classify,
		Pause:    func(error) bool { return false },
		GaveUp:   func(cause error, _ bool) error { return fmt.Errorf("gave up: %w", cause) },
		OnResult: onResult,
	}
	for _, tw := range tweak {
		tw(&cfg)
	}
	e, err := New(cfg)
	require.NoError(t, err)
	return e
}

// Flush and Close called from OnResult return once the items added before
// them are settled, never waiting for OnResult: at any Concurrency, and
// while a refused batch is being split. Every item is reported once.
func TestFlushAndCloseFromOnResult(t *testing.T) {
	cases := map[string]func(ctx context.Context, e *Engine[int]) []error{
		"Flush":            func(ctx context.Context, e *Engine[int]) []error { return []error{e.Flush(ctx)} },
		"Close":            func(ctx context.Context, e *Engine[int]) []error { return []error{e.Close(ctx)} },
		"Flush then Close": func(ctx context.Context, e *Engine[int]) []error { return []error{e.Flush(ctx), e.Close(ctx)} },
		"Close then Flush": func(ctx context.Context, e *Engine[int]) []error { return []error{e.Close(ctx), e.Flush(ctx)} },
		"Close twice":      func(ctx context.Context, e *Engine[int]) []error { return []error{e.Close(ctx), e.Close(ctx)} },
	}
	for name, call := range cases {
		for _, conc := range []int{1, 2} {
			for _, splitting := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/Concurrency=%d/split=%v", name, conc, splitting), func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						f := &fake{latency: 50 * time.Millisecond, stored: map[int]int{}, refuse: map[int]bool{}}
						if splitting {
							f.refuse[3] = true
						}
						got := &reports{items: map[int]int{}, errs: map[int]error{}}
						var e *Engine[int]
						var once sync.Once
						tooLong := make(chan time.Duration, 4)
						e = newEngine(t, f, conc, func(r Result[int]) {
							got.record(r)
							once.Do(func() {
								ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
								defer cancel()
								began := time.Now()
								for _, err := range call(ctx, e) {
									assert.NotErrorIs(t, err, context.DeadlineExceeded)
								}
								tooLong <- time.Since(began)
							})
						})
						for i := range 20 {
							_, err := e.Add(context.Background(), i, nil)
							require.NoError(t, err)
						}
						took := <-tooLong
						assert.Less(t, took, 2*time.Second, "the calls from OnResult returned in time")
						require.NotErrorIs(t, e.Close(context.Background()), context.DeadlineExceeded)
						synctest.Wait()
						got.mu.Lock()
						defer got.mu.Unlock()
						for i := range 20 {
							assert.Equal(t, 1, got.items[i], "item %d reported once", i)
							want := 1
							if f.refuse[i] {
								want = 0
								assert.ErrorIs(t, got.errs[i], errRefused)
							}
							assert.Equal(t, want, f.stored[i], "item %d stored once", i)
						}
					})
				})
			}
		}
	}
}

// Close from outside waits for every OnResult call to return, and a slow
// OnResult holds back the sends: no more than Concurrency batches are
// sent and not yet heard of.
func TestCloseWaitsForOnResultAndKeepsItInStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fake{latency: 10 * time.Millisecond, stored: map[int]int{}}
		got := &reports{items: map[int]int{}, errs: map[int]error{}}
		most := 0
		e := newEngine(t, f, 2, func(r Result[int]) {
			f.mu.Lock()
			stored := 0
			for _, n := range f.stored {
				stored += n
			}
			f.mu.Unlock()
			got.mu.Lock()
			heard := 0
			for _, n := range got.items {
				heard += n
			}
			most = max(most, stored-heard)
			got.mu.Unlock()
			time.Sleep(100 * time.Millisecond)
			got.record(r)
		})
		for i := range 100 {
			_, err := e.Add(context.Background(), i, nil)
			require.NoError(t, err)
		}
		require.NoError(t, e.Close(context.Background()))
		got.mu.Lock()
		defer got.mu.Unlock()
		assert.Equal(t, 20, got.calls, "every OnResult call returned before Close")
		assert.LessOrEqual(t, most, 2*5, "at most Concurrency batches accepted and not yet heard of")
	})
}

// The one policy value: without a durable journal a batch held through an
// outage fails after MaxOutage; with one it is held, and Close leaves it
// in the journal.
func TestHoldPolicy(t *testing.T) {
	for _, durable := range []bool{false, true} {
		t.Run(fmt.Sprint("durable=", durable), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fake{latency: 10 * time.Millisecond, stored: map[int]int{}}
				f.setDown(true)
				j := NewMemory[int]()
				e := newEngine(t, f, 4, nil, func(c *Config[int]) { c.Durable, c.Journal = durable, j })
				for i := range 10 {
					_, err := e.Add(context.Background(), i, nil)
					require.NoError(t, err)
				}
				began := time.Now()
				err := e.Flush(context.Background())
				if !durable {
					assert.GreaterOrEqual(t, time.Since(began), 30*time.Second, "held for MaxOutage")
					assert.ErrorIs(t, err, errDown, "failed after MaxOutage")
					assert.EqualValues(t, 10, e.Stats().Failed)
					require.Error(t, e.Close(context.Background()))
					return
				}
				assert.ErrorIs(t, err, ErrHeld)
				st := e.Stats()
				assert.EqualValues(t, 10, st.Held)
				assert.Zero(t, st.Failed)
				f.mu.Lock()
				f.most = 0
				f.mu.Unlock()
				time.Sleep(10 * time.Second)
				f.mu.Lock()
				assert.Equal(t, 1, f.most, "one probe at a time (the budget paces them)")
				f.mu.Unlock()
				err = e.Close(context.Background())
				assert.ErrorIs(t, err, ErrHeld)
				js, _ := j.Stats(context.Background())
				assert.Equal(t, 10, js.Depth, "left in the journal")
			})
		})
	}
}

// An outage's probe succeeds: everything held goes out again.
func TestHoldReleasesOnSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fake{latency: 10 * time.Millisecond, stored: map[int]int{}}
		f.setDown(true)
		e := newEngine(t, f, 4, nil)
		for i := range 20 {
			_, err := e.Add(context.Background(), i, nil)
			require.NoError(t, err)
		}
		time.Sleep(5 * time.Second)
		assert.Positive(t, e.Stats().Held)
		f.setDown(false)
		require.NoError(t, e.Close(context.Background()))
		st := e.Stats()
		assert.EqualValues(t, 20, st.Sent)
		assert.Zero(t, st.Held)
	})
}

// journal is a durable journal whose Stats blocks until released, and
// which holds what an earlier run left.
type journal struct {
	*Memory[int]
	left    []Entry[int]
	release chan struct{}
}

func (j *journal) Reclaim(_ context.Context, n int) ([]Entry[int], error) {
	n = min(n, len(j.left))
	out := j.left[:n]
	j.left = j.left[n:]
	return out, nil
}

func (j *journal) Stats(ctx context.Context) (JournalStats, error) {
	select {
	case <-j.release:
		return j.Memory.Stats(ctx)
	case <-ctx.Done():
		return JournalStats{}, ctx.Err()
	}
}

// What the journal kept from an earlier run goes out first, its payload
// handed back with it; Stats never waits on the journal, StatsContext
// does, up to its ctx.
func TestReclaimAndStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fake{latency: 10 * time.Millisecond, stored: map[int]int{}}
		j := &journal{Memory: NewMemory[int](), release: make(chan struct{})}
		j.left = []Entry[int]{{ID: "a", Item: 100, Payload: []byte("event")}, {ID: "b", Item: 101}}
		var mu sync.Mutex
		var first []Result[int]
		e := newEngine(t, f, 1, func(r Result[int]) { mu.Lock(); first = append(first, r); mu.Unlock() },
			func(c *Config[int]) { c.Durable, c.Journal = true, j })
		_, err := e.Add(context.Background(), 1, nil)
		require.NoError(t, err)
		require.NoError(t, e.Flush(context.Background()))
		synctest.Wait()
		mu.Lock()
		require.NotEmpty(t, first)
		assert.Equal(t, []int{100, 101}, first[0].Items, "what an earlier run left goes first")
		assert.Equal(t, [][]byte{[]byte("event"), nil}, first[0].Payloads, "with its payload")
		mu.Unlock()

		began := time.Now()
		st := e.Stats()
		assert.Equal(t, time.Duration(0), time.Since(began), "Stats does no I/O")
		assert.EqualValues(t, 2, st.Reclaimed)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err = e.StatsContext(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded, "StatsContext reads the journal, within its ctx")
		close(j.release)
		st, err = e.StatsContext(context.Background())
		require.NoError(t, err)
		assert.Zero(t, st.Journal.Depth)
		require.NoError(t, e.Close(context.Background()))
		assert.True(t, slices.Equal([]int{1, 1, 1}, []int{f.stored[1], f.stored[100], f.stored[101]}))
	})
}

// The in-memory journal counts what it holds and knows its oldest entry,
// whatever order entries leave in.
func TestMemoryJournal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory[int]()
		ctx := context.Background()
		first, err := m.Append(ctx, []Record[int]{{Item: 1}, {Item: 2, Payload: []byte("p")}})
		require.NoError(t, err)
		assert.Equal(t, []byte("p"), first[1].Payload)
		began := time.Now()
		time.Sleep(time.Second)
		second, err := m.Append(ctx, []Record[int]{{Item: 3}})
		require.NoError(t, err)
		st, _ := m.Stats(ctx)
		assert.Equal(t, JournalStats{Depth: 3, Oldest: began}, st)
		require.NoError(t, m.Remove(ctx, []string{first[0].ID}))
		st, _ = m.Stats(ctx)
		assert.Equal(t, JournalStats{Depth: 2, Oldest: began}, st, "one of the first Append's entries is left")
		require.NoError(t, m.Remove(ctx, []string{first[1].ID, "nonsense"}))
		st, _ = m.Stats(ctx)
		assert.Equal(t, JournalStats{Depth: 1, Oldest: began.Add(time.Second)}, st)
		require.NoError(t, m.Remove(ctx, []string{second[0].ID, second[0].ID}))
		st, _ = m.Stats(ctx)
		assert.Equal(t, JournalStats{}, st, "a removed entry's ID removes nothing more")
		entries, err := m.Reclaim(ctx, 10)
		assert.NoError(t, err)
		assert.Empty(t, entries)
	})
}
