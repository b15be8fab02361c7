package engine

import (
	"context"
	"fmt"
	"slices"

	"github.com/yespo-go/yespo/internal/batch"
)

// Add has item appended to the journal, with payload, and queues it. It
// blocks while MaxPending items are pending, and returns the root batch
// that will carry item or its pending twin (whose entry stands for both:
// a twin is not appended). It returns ctx's error if ctx ends first — item
// is then not accepted — or ErrClosed after Close.
//
// An Add that finds no Append under way makes its own (appendOwn); the Adds
// that arrive meanwhile go into the next one together (appendLoop): one
// Append and one pass under the lock for all of them, so that a burst of
// Adds costs a few journal syncs.
func (e *Engine[T]) Add(ctx context.Context, item T, payload []byte) (*batch.Batch[T], error) {
	e.mu.Lock()
	if err := e.waitRoomLocked(ctx); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	if twin := e.fill.Twin(item); twin != nil && payload == nil { // a payload is kept: appended
		e.st.Added++
		e.st.Duplicates++
		e.mu.Unlock()
		return twin, nil
	}
	rec := Record[T]{Item: item, Payload: payload}
	e.appending++
	if !e.appender { // no Append under way: this Add makes its own, without a hop
		e.appender = true
		e.ops.Add(1)
		e.mu.Unlock()
		return e.appendOwn(ctx, rec)
	}
	r := &appendReq[T]{rec: rec, done: make(chan struct{})}
	e.appendQ = append(e.appendQ, r)
	e.mu.Unlock()
	select {
	case <-r.done:
		return r.b, r.err
	case <-ctx.Done():
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if r.settled { // meanwhile
		return r.b, r.err
	}
	if i := slices.Index(e.appendQ, r); i >= 0 { // not taken yet: withdraw it
		e.appendQ = slices.Delete(e.appendQ, i, i+1)
		e.appending--
		return nil, ctx.Err()
	}
	r.gaveUp = true // in an Append now: appendLoop takes it back
	return nil, ctx.Err()
}

// appendOwn appends rec, the caller's alone, and queues it; then it hands
// the Adds that queued meanwhile to appendLoop. Its Append ends early, and
// rec is not accepted, if ctx ends first.
func (e *Engine[T]) appendOwn(ctx context.Context, rec Record[T]) (*batch.Batch[T], error) {
	defer e.ops.Done()
	actx := e.jctx
	if ctx.Done() != nil {
		var cancel context.CancelFunc
		actx, cancel = context.WithCancel(e.jctx)
		defer cancel()
		defer context.AfterFunc(ctx, cancel)()
	}
	entries, err := e.cfg.Journal.Append(actx, []Record[T]{rec})
	if err == nil && len(entries) != 1 {
		err = fmt.Errorf("journal returned %d entries for 1 token", len(entries))
	}
	var b *batch.Batch[T]
	var takeBack []string
	e.mu.Lock()
	e.appending--
	if err == nil {
		e.journaledLocked(entries)
	}
	switch {
	case err != nil && ctx.Err() != nil:
		err = ctx.Err()
	case err != nil:
		err = fmt.Errorf("yespo: batcher: journal: token not accepted: %w", err)
	case e.closed: // too late to send it: take it back, so that nobody does
		err = ErrClosed
		takeBack = []string{entries[0].ID}
	default:
		b = e.queueLocked(rec, entries[0].ID)
	}
	if len(e.appendQ) > 0 {
		e.ops.Add(1)
		go e.appendLoop()
	} else {
		e.appender = false
	}
	e.mu.Unlock()
	e.remove(takeBack)
	return b, err
}

// appendReq is one Add waiting for its item's Append.
type appendReq[T comparable] struct {
	rec     Record[T]
	b       *batch.Batch[T] // the batch it joined (or its twin's), once appended
	err     error
	settled bool // b or err is set (under mu)
	gaveUp  bool // the Add returned early: its entry is removed, not queued
	done    chan struct{}
}

// waitRoomLocked blocks, with mu held on entry and on return, while
// MaxPending items are pending, counting those on their way into the
// journal. It returns ctx's error if ctx ends first, or ErrClosed once
// Close was called.
func (e *Engine[T]) waitRoomLocked(ctx context.Context) error {
	for !e.closed && e.pendingLocked()+e.appending >= e.cfg.MaxPending {
		changed := e.changed
		e.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			e.mu.Lock()
			return ctx.Err()
		case <-e.closing:
		}
		e.mu.Lock()
	}
	if e.closed {
		return ErrClosed
	}
	return ctx.Err()
}

// appendLoop appends what Adds queued, up to maxAppend items in one Append,
// until the queue is empty, and queues the items for sending.
func (e *Engine[T]) appendLoop() {
	defer e.ops.Done()
	for {
		e.mu.Lock()
		n := min(len(e.appendQ), maxAppend)
		reqs := e.appendQ[:n:n] // a withdrawal edits the rest, never these
		e.appendQ = e.appendQ[n:]
		if n == 0 {
			e.appender = false
			e.mu.Unlock()
			return
		}
		e.mu.Unlock()
		records := make([]Record[T], n)
		for i, r := range reqs {
			records[i] = r.rec
		}
		entries, err := e.cfg.Journal.Append(e.jctx, records)
		if err == nil && len(entries) != n {
			err = fmt.Errorf("journal returned %d entries for %d tokens", len(entries), n)
		}
		var takeBack []string
		e.mu.Lock()
		e.appending -= n
		if err == nil {
			e.journaledLocked(entries)
		}
		for i, r := range reqs {
			r.settled = true
			switch {
			case err != nil:
				r.err = fmt.Errorf("yespo: batcher: journal: token not accepted: %w", err)
			case e.closed: // too late to send it: take it back, so that nobody does
				r.err = ErrClosed
				takeBack = append(takeBack, entries[i].ID)
			case r.gaveUp:
				takeBack = append(takeBack, entries[i].ID)
			default:
				r.b = e.queueLocked(r.rec, entries[i].ID)
			}
		}
		e.changedLocked()
		e.mu.Unlock()
		e.remove(takeBack)
		for _, r := range reqs {
			close(r.done)
		}
	}
}

// journaledLocked counts appended entries in the journal's last known
// figures, until the next read corrects them.
func (e *Engine[T]) journaledLocked(entries []Entry[T]) {
	if e.st.Journal.Depth == 0 && len(entries) > 0 {
		e.st.Journal.Oldest = entries[0].Added
	}
	e.st.Journal.Depth += len(entries)
}

// queueLocked queues rec, whose journal entry is id, and returns its
// batch: its twin's if another Add of it got here first.
func (e *Engine[T]) queueLocked(rec Record[T], id string) *batch.Batch[T] {
	e.st.Added++
	if twin := e.fill.Twin(rec.Item); twin != nil {
		e.st.Duplicates++
		e.twins[rec.Item] = append(e.twins[rec.Item], twinEntry{id, rec.Payload})
		return twin
	}
	b, full := e.fill.Add(rec.Item, rec.Payload, id)
	switch {
	case full:
		e.cutLocked()
	case !e.armed:
		e.armed = true
		e.flush.Reset(e.cfg.FlushInterval)
	}
	return b
}

// flushDue runs FlushInterval after an item came into an empty batch.
func (e *Engine[T]) flushDue() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cutLocked()
}

// cutLocked hands the open batch, if it has items, to the workers.
func (e *Engine[T]) cutLocked() {
	e.flush.Stop()
	e.armed = false
	if b := e.fill.Cut(); b != nil {
		e.unfinished[b] = struct{}{}
		e.pool.Push(b)
	}
}

// Room returns how many entries a Reclaim may take now, and a channel
// closed when that may change (reclaim.Source).
func (e *Engine[T]) Room() (int, <-chan struct{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cfg.MaxPending - e.pendingLocked() - e.appending, e.changed
}

// Take asks the journal for up to n entries that no live writer holds and
// queues them ahead of new items (reclaim.Source).
func (e *Engine[T]) Take(ctx context.Context, n int) (int, error) {
	entries, err := e.cfg.Journal.Reclaim(ctx, n)
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	items := make([]T, len(entries))
	ids := make([]string, len(entries))
	var payloads [][]byte
	for i, en := range entries {
		items[i], ids[i] = en.Item, en.ID
		if en.Payload != nil {
			if payloads == nil {
				payloads = make([][]byte, len(entries))
			}
			payloads[i] = en.Payload
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	batches, twins := e.fill.Pack(items, payloads, ids)
	for i, en := range entries {
		e.st.Reclaimed++
		if twins[i] != nil {
			e.st.Duplicates++
			e.twins[en.Item] = append(e.twins[en.Item], twinEntry{en.ID, en.Payload})
		}
	}
	for _, b := range batches {
		e.unfinished[b] = struct{}{}
	}
	e.pool.PushFront(batches...) // what earlier runs left goes first
	return len(entries), nil
}

// AppendQueue counts the Adds waiting for the next Append.
func (e *Engine[T]) AppendQueue() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.appendQ)
}
