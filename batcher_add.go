package yespo

import (
	"context"
	"fmt"
)

// Add queues t. It validates t first (an error matching ErrInvalidInput),
// blocks while MaxPending tokens are pending, and returns ctx's error if ctx
// ends first — the token is then not accepted — or ErrBatcherClosed after
// Close. A nil ctx is an error matching ErrInvalidInput. A token equal in
// all five fields to one still pending is counted in Duplicates and sent
// once. Add returns once t is queued: its outcome reaches OnBatch, Flush and
// Close; AddAndWait waits for it instead.
func (b *Batcher) Add(ctx context.Context, t Token) error {
	_, err := b.add(ctx, t)
	return err
}

// AddAndWait queues t like Add, then waits for the batch that carries t —
// or its pending twin — and returns that batch's outcome: nil once Yespo has
// accepted t, else the error of the batch (or, for a batch split after a
// 400, of the piece) that carried t: an *APIError, a transport error, or,
// when a Close gave up on it, an error wrapping that Close's context error
// (matching ErrNotSent if it never left). It returns ctx's error if ctx
// ends first; t may still be sent then. Unless a backlog, a pause or an
// outage holds the batch back, it returns within FlushInterval plus one
// round trip (and its retries, if any); a burst of callers shares few
// requests.
func (b *Batcher) AddAndWait(ctx context.Context, t Token) error {
	bt, err := b.add(ctx, t)
	if err != nil {
		return err
	}
	if b.jr != nil { // journal hook: a held batch answers too
		if err := b.waitSettled(ctx, bt); err != nil || bt.split == nil {
			return err
		}
		return bt.errOf(t)
	}
	select {
	case <-bt.done:
		return bt.errOf(t)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// add is Add; it returns the batch that will carry t or its pending twin.
func (b *Batcher) add(ctx context.Context, t Token) (*batch, error) {
	if ctx == nil {
		return nil, invalid("ctx", "must not be nil")
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if b.jr != nil { // journal hook: the token is appended before it is queued
		return b.addJournaled(ctx, t)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.waitRoomLocked(ctx); err != nil {
		return nil, err
	}
	b.stats.Added++
	if twin := b.pending[t]; twin != nil {
		b.stats.Duplicates++
		return twin, nil
	}
	return b.fillLocked(t), nil
}

// fillLocked puts t, which no pending batch holds, into the batch being
// filled, cutting it when full or arming the flush timer, and returns it.
func (b *Batcher) fillLocked(t Token) *batch {
	f := b.filling
	f.tokens = append(f.tokens, t)
	b.pending[t] = f
	switch {
	case len(f.tokens) >= b.opts.MaxBatch:
		b.cutLocked()
	case !b.flushArmed:
		b.flushArmed = true
		b.flush.Reset(b.opts.FlushInterval)
	}
	return f
}

// waitRoomLocked blocks, with b.mu held on entry and on return, while
// MaxPending tokens are pending, counting those on their way into the
// journal.
// It returns ctx's error if ctx ends first, or ErrBatcherClosed once Close
// was called.
func (b *Batcher) waitRoomLocked(ctx context.Context) error {
	for !b.closed && b.pendingLocked()+b.appendingLocked() >= b.opts.MaxPending {
		room := b.room
		b.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			b.mu.Lock()
			return ctx.Err()
		case <-b.closing:
		}
		b.mu.Lock()
	}
	if b.closed {
		return ErrBatcherClosed
	}
	return nil
}

// flushDue runs FlushInterval after a token came into an empty batch.
func (b *Batcher) flushDue() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cutLocked()
}

// cutLocked hands the filling batch, if it has tokens, to the workers.
func (b *Batcher) cutLocked() {
	b.flush.Stop()
	b.flushArmed = false
	bt := b.filling
	if len(bt.tokens) == 0 {
		return
	}
	b.filling = b.newBatch()
	b.unfinished[bt] = struct{}{}
	b.ready = append(b.ready, bt)
	b.wake.Signal()
}

// Flush cuts the batch being filled and waits until it and every batch
// already cut are settled, through any pause or outage (at most MaxOutage)
// and at the pace in force. It
// returns ctx's error if ctx ends first (nil ctx: an error matching
// ErrInvalidInput), or an error counting the tokens that failed among them
// and wrapping the first failure.
func (b *Batcher) Flush(ctx context.Context) error {
	if ctx == nil {
		return invalid("ctx", "must not be nil")
	}
	if b.jr != nil { // journal hook: a held batch does not keep Flush waiting
		return b.flushJournal(ctx)
	}
	b.mu.Lock()
	b.cutLocked()
	waiting := map[*batch]struct{}{} // the roots: pieces of a split batch report through theirs
	for bt := range b.unfinished {
		waiting[bt.rootOf()] = struct{}{}
	}
	b.mu.Unlock()
	var failed, total int
	var first error
	for bt := range waiting {
		select {
		case <-bt.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		total += len(bt.tokens)
		if n := bt.failedCount(); n > 0 {
			failed += n
			first = cmpOr(first, bt.firstErr())
		}
	}
	if failed > 0 {
		return fmt.Errorf("yespo: batcher: %d of %d tokens failed: %w", failed, total, first)
	}
	return nil
}
