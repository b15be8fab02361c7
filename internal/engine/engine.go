// Package engine is the Batcher's engine, over any item: it gathers items
// into batches (package batch), sends them with a bounded number of workers
// (package workers), splits a batch refused for some of its items (package
// split), holds what Yespo did not accept for now (package hold) and takes
// back what a journal kept from earlier runs (package reclaim).
//
// Every item goes through a journal — the user's, or Memory — on one path.
// The one difference is Config.Durable: a durable journal keeps what is
// held, for any time, and what a Close leaves; without one a batch held
// through an outage fails after MaxOutage.
//
// Results reach OnResult on one dispatcher goroutine, after their items are
// settled: no sending worker waits on it, and Flush and Close called from it
// wait only for items to settle.
package engine

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/yespo-go/yespo/internal/batch"
	"github.com/yespo-go/yespo/internal/hold"
	"github.com/yespo-go/yespo/internal/reclaim"
	"github.com/yespo-go/yespo/internal/workers"
)

// The engine's sentinel errors; the root package exports them.
var (
	ErrClosed  = errors.New("yespo: batcher closed")
	ErrNotSent = errors.New("yespo: batch not sent")
	ErrHeld    = errors.New("yespo: tokens held in the journal")
)

// Verdict is what a failed send means for its batch.
type Verdict int

// The verdicts.
const (
	Refused   Verdict = iota // refused for good: the batch fails
	Split                    // refused for good for some item: split if several
	Outage                   // time cures it, the budget pacing the next try: an outage, a 429
	Transient                // time may cure it; the budget is up
	Operator                 // the operator must fix the key, its rights or the app
)

// Config is what the engine is made of.
type Config[T comparable] struct {
	MaxBatch, MaxPending, Concurrency int
	FlushInterval                     time.Duration
	MaxOutage                         time.Duration // without Durable, a batch held longer fails
	// Durable: the journal keeps what Yespo has not accepted, so that a
	// held batch never fails and a Close leaves it there.
	Durable bool
	Journal Journal[T]
	// Send sends items in one request; sending hears that a request
	// leaves.
	Send func(ctx context.Context, items []T, sending func()) error
	// Classify says what a failed send means.
	Classify func(err error) Verdict
	// Pause pauses the budget for a long Retry-After and reports whether
	// it did: the batch is sent again, once.
	Pause func(err error) bool
	// GaveUp is the error of a batch a Close gave up on.
	GaveUp func(cause error, attempted bool) error
	// OnResult, if set, hears each settled batch, on the dispatcher.
	OnResult func(Result[T])
	// FollowUp, if set, takes the entries with a payload of a batch Yespo
	// accepted, instead of their removal from the journal: it owns them
	// from then on, and removes them once it is done with their payloads.
	// It is called on a worker, before the batch settles, so that a Flush
	// that sees the batch settled sees them handed over.
	FollowUp func(entries []Entry[T])
	// Noun names the items in errors and log records: "tokens" if empty.
	Noun   string
	Logger *slog.Logger // nil: no logging
}

// Result is one settled batch.
type Result[T any] struct {
	Items     []T
	Payloads  [][]byte
	Err       error
	Attempted bool
}

// Stats counts what the engine did.
type Stats struct {
	Added, Duplicates, Sent, Failed, Batches, Pauses, Held, Reclaimed int64
	Pending                                                           int
	Journal                                                           JournalStats // last known
}

// The bounds on journal calls the engine makes without a caller's ctx.
const (
	OpenTimeout    = time.Minute      // NewBatcher's Open and first Reclaim
	CleanupTimeout = 10 * time.Second // each Remove, Stats and the last calls of Close
	// statsEvery is how often Stats has the journal's figures refreshed
	// in the background, at most.
	statsEvery = 2 * time.Second
	// maxAppend bounds the items of one Append.
	maxAppend = 1000
)

// Engine gathers, sends and settles items of type T.
type Engine[T comparable] struct {
	cfg     Config[T]
	ctx     context.Context // the sends'; cancelled, with a cause, when a Close gives up
	cancel  context.CancelCauseFunc
	jctx    context.Context // the journal calls'; cancelled when Close is done with it
	jcancel context.CancelFunc
	closing chan struct{} // closed by the first Close: wakes blocked Adds
	pool    *workers.Pool[*batch.Batch[T]]
	hold    *hold.Hold[*batch.Batch[T]]
	ops     sync.WaitGroup // journal calls and loops in progress; Add(1) only under mu while !done
	kick    chan struct{}  // wakes the dispatcher
	stop    sync.Once

	mu         sync.Mutex
	fill       *batch.Filler[T]
	twins      map[T][]twinEntry // journal entries of a pending item's twins, appended too
	unfinished map[*batch.Batch[T]]struct{}
	flush      *time.Timer
	armed      bool
	changed    chan struct{} // closed and replaced whenever anything settles, holds or parks
	closed     bool          // Close was called
	abandoned  bool          // a Close gave up
	done       bool          // Close is done with the journal
	giveUp     error         // the ctx error of the Close that gave up
	appendQ    []*appendReq[T]
	appending  int  // items between their Append and their queueing
	appender   bool // appendLoop runs
	results    []Result[T]
	running    bool // an OnResult call runs
	insideN    int  // Flush, Close and Wait calls from OnResult, waiting
	inflight   int  // sends under way
	st         Stats
	heldN      int64 // items of held batches
	parked     int64 // items left in the journal by a Close
	cause      error // the last failure that held a batch
	firstErr   error
	statsAt    time.Time // when the journal's figures were last read
	refreshing bool
	summed     bool // a Close read the journal's figures one last time
}

// New starts an engine: it takes what the journal holds from earlier runs,
// up to MaxPending, before it returns. It fails if that first Reclaim
// does.
func New[T comparable](cfg Config[T]) (*Engine[T], error) {
	e := &Engine[T]{
		cfg:        cfg,
		closing:    make(chan struct{}),
		kick:       make(chan struct{}, 1),
		fill:       batch.NewFiller[T](cfg.MaxBatch),
		twins:      map[T][]twinEntry{},
		unfinished: map[*batch.Batch[T]]struct{}{},
		changed:    make(chan struct{}),
	}
	e.ctx, e.cancel = context.WithCancelCause(context.Background())
	e.jctx, e.jcancel = context.WithCancel(context.Background())
	e.flush = time.AfterFunc(time.Hour, e.flushDue)
	e.flush.Stop()
	e.hold = hold.New(e.probe)
	e.pool = workers.Start(cfg.Concurrency, e.send)
	ctx, cancel := context.WithTimeout(e.jctx, OpenTimeout)
	defer cancel()
	more, err := reclaim.Once(ctx, e)
	if err != nil {
		e.shutdown()
		return nil, err
	}
	e.ops.Add(1)
	go func() {
		defer e.ops.Done()
		reclaim.Loop(e.jctx, e, more, func(err error) {
			e.warn("yespo: batcher: journal reclaim failed; trying again", err)
		})
	}()
	if cfg.OnResult != nil {
		go e.dispatch()
	}
	return e, nil
}

// Stats returns the counters and the journal's figures as last known: it
// makes no journal call, but may start a background refresh.
func (e *Engine[T]) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.done && !e.refreshing && time.Since(e.statsAt) >= statsEvery {
		e.refreshing = true
		e.ops.Add(1)
		go func() {
			defer e.ops.Done()
			ctx, cancel := context.WithTimeout(e.jctx, CleanupTimeout)
			defer cancel()
			_ = e.readJournal(ctx)
			e.mu.Lock()
			e.refreshing = false
			e.mu.Unlock()
		}()
	}
	return e.statsLocked()
}

// StatsContext returns the counters with the journal's figures read now.
// It returns ctx's error, or the journal's, with the last known figures.
func (e *Engine[T]) StatsContext(ctx context.Context) (Stats, error) {
	e.mu.Lock()
	done := e.done
	if !done {
		e.ops.Add(1)
	}
	e.mu.Unlock()
	var err error
	if !done {
		err = e.readJournal(ctx)
		e.ops.Done()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.statsLocked(), err
}

// readJournal reads the journal's figures into the last known.
func (e *Engine[T]) readJournal(ctx context.Context) error {
	js, err := e.cfg.Journal.Stats(ctx)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.statsAt = time.Now()
	if err == nil {
		e.st.Journal = js
	}
	return err
}

func (e *Engine[T]) statsLocked() Stats {
	st := e.st
	st.Pending = e.pendingLocked()
	if !e.done {
		st.Held = e.heldN + e.parked
	}
	return st
}

// pendingLocked counts items accepted and not yet sent or failed,
// duplicates aside.
func (e *Engine[T]) pendingLocked() int {
	return int(e.st.Added + e.st.Reclaimed - e.st.Duplicates - e.st.Sent - e.st.Failed)
}

// idsLocked appends b's journal entries, and its items' twins', to ids
// and forgets the twins'. With follow set, the entries that carry a payload
// go to follow instead, for FollowUp.
func (e *Engine[T]) idsLocked(b *batch.Batch[T], ids []string, follow *[]Entry[T]) []string {
	for i, id := range b.IDs {
		if follow != nil && b.Payloads != nil && b.Payloads[i] != nil {
			*follow = append(*follow, Entry[T]{ID: id, Item: b.Items[i], Payload: b.Payloads[i]})
			continue
		}
		ids = append(ids, id)
	}
	if len(e.twins) == 0 {
		return ids
	}
	for _, t := range b.Items {
		for _, tw := range e.twins[t] {
			if tw.payload != nil && follow != nil {
				*follow = append(*follow, Entry[T]{ID: tw.id, Item: t, Payload: tw.payload})
			} else {
				ids = append(ids, tw.id)
			}
		}
		delete(e.twins, t)
	}
	return ids
}

// twinEntry is the journal entry of an item appended while its twin was
// pending: an in-memory journal's entries of one Append share an id, so
// each keeps its own payload here, not in a map by id.
type twinEntry struct {
	id      string
	payload []byte
}

// noun names the items, plural.
func (e *Engine[T]) noun() string {
	if e.cfg.Noun == "" {
		return "tokens"
	}
	return e.cfg.Noun
}

// changedLocked wakes whoever waits for items to settle.
func (e *Engine[T]) changedLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// warn logs a warning, if there is a logger.
func (e *Engine[T]) warn(msg string, err error, args ...any) {
	if l := e.cfg.Logger; l != nil {
		l.Warn(msg, append([]any{"error", err}, args...)...)
	}
}
