package yespo_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/yespo-go/yespo"
)

// memStore is what a journal keeps, shared by the memJournals of
// successive runs, as a file outlives its processes.
type memStore struct {
	mu       sync.Mutex
	target   *yespo.JournalTarget
	seq      int
	entries  map[string]yespo.JournalEntry
	order    []string      // ids in append order
	changed  chan struct{} // closed and replaced on every change
	calls    int           // journal calls of any kind, any run
	appends  int           // Append calls
	removed  int           // entries removed
	maxAsked int           // the largest max a Reclaim asked for
	failWith error         // Append and Remove fail with it while set
	removing chan struct{} // if set, Remove waits for it to close, or for its ctx
	waiting  chan struct{} // if set, closed when a Remove starts waiting on removing
	gate     chan struct{} // if set, Append waits for it to close, or for its ctx
	gated    chan struct{} // if set, closed when an Append starts waiting on gate
}

func newMemStore() *memStore {
	return &memStore{entries: map[string]yespo.JournalEntry{}, changed: make(chan struct{})}
}

// run returns a journal on the store for one Batcher's run: a fresh writer,
// which reclaims what earlier runs left.
func (s *memStore) run() *memJournal {
	return &memJournal{s: s, mine: map[string]bool{}}
}

// fill stores tokens as an earlier run against target left them.
func (s *memStore) fill(target yespo.JournalTarget, tokens []yespo.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.target = &target
	for _, t := range tokens {
		s.addLocked(yespo.JournalRecord{Token: t})
	}
}

func (s *memStore) addLocked(r yespo.JournalRecord) yespo.JournalEntry {
	s.seq++
	e := yespo.JournalEntry{ID: strconv.Itoa(s.seq), Token: r.Token, Payload: r.Payload, Added: time.Now()}
	s.entries[e.ID] = e
	s.order = append(s.order, e.ID)
	return e
}

func (s *memStore) touchLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// depth is how many entries the store holds.
func (s *memStore) depth() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// callCount is how many journal calls were made so far.
func (s *memStore) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// waitDepth waits, at most d, until the store holds n entries.
func (s *memStore) waitDepth(n int, d time.Duration) error {
	deadline := time.After(d)
	for {
		s.mu.Lock()
		got, ch := len(s.entries), s.changed
		s.mu.Unlock()
		if got == n {
			return nil
		}
		select {
		case <-ch:
		case <-deadline:
			return fmt.Errorf("journal holds %d entries after %v, want %d", got, d, n)
		}
	}
}

// memJournal is an in-memory yespo.Journal: one run's view of a memStore.
type memJournal struct {
	s    *memStore
	mine map[string]bool // appended or reclaimed by this run
}

func (j *memJournal) Open(ctx context.Context, target yespo.JournalTarget) error {
	s := j.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	switch {
	case s.target == nil:
		s.target = &target
	case *s.target != target:
		return fmt.Errorf("%w: it holds tokens for app %s at %s, not app %s at %s",
			yespo.ErrJournalTarget, s.target.AppUUID, s.target.BaseURL, target.AppUUID, target.BaseURL)
	}
	return nil
}

func (j *memJournal) Append(ctx context.Context, records []yespo.JournalRecord) ([]yespo.JournalEntry, error) {
	s := j.s
	s.mu.Lock()
	gate, gated := s.gate, s.gated
	s.gated = nil
	s.mu.Unlock()
	if gate != nil {
		if gated != nil {
			close(gated)
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.appends++
	if s.failWith != nil {
		return nil, s.failWith
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]yespo.JournalEntry, len(records))
	for i, r := range records {
		out[i] = s.addLocked(r)
		j.mine[out[i].ID] = true
	}
	s.touchLocked()
	return out, nil
}

func (j *memJournal) Remove(ctx context.Context, ids []string) error {
	s := j.s
	s.mu.Lock()
	gate, waiting := s.removing, s.waiting
	s.waiting = nil
	s.mu.Unlock()
	if waiting != nil {
		close(waiting)
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.failWith != nil {
		return s.failWith
	}
	for _, id := range ids {
		if _, ok := s.entries[id]; ok {
			delete(s.entries, id)
			s.removed++
		}
	}
	s.touchLocked()
	return nil
}

func (j *memJournal) Reclaim(ctx context.Context, max int) ([]yespo.JournalEntry, error) {
	s := j.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.maxAsked = builtinMax(s.maxAsked, max)
	out := []yespo.JournalEntry{}
	for _, id := range s.order {
		if len(out) == max {
			break
		}
		if e, ok := s.entries[id]; ok && !j.mine[id] {
			j.mine[id] = true
			out = append(out, e)
		}
	}
	return out, nil
}

func (j *memJournal) Stats(ctx context.Context) (yespo.JournalStats, error) {
	s := j.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	var st yespo.JournalStats
	st.Depth = len(s.entries)
	for _, id := range s.order {
		if e, ok := s.entries[id]; ok {
			st.Oldest = e.Added
			break
		}
	}
	return st, nil
}

// builtinMax is max: Reclaim's parameter shadows the builtin.
func builtinMax(a, b int) int { return max(a, b) }

var errDiskFull = errors.New("no space left on device")
