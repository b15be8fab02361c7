package yespo

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotSent is matched by the error of a batch that never left for Yespo:
// a Close gave up before its first attempt. Its tokens can be added again
// as they are; BatchResult.Attempted is false for it.
var ErrNotSent = errors.New("yespo: batch not sent")

// notSent is the error of a batch a Close gave up on before it left.
type notSent struct{ cause error }

func (e notSent) Error() string {
	return "yespo: batcher closed before the batch was sent: " + e.cause.Error()
}

func (e notSent) Unwrap() []error { return []error{ErrNotSent, e.cause} }

// Close flushes, then stops the Batcher: later Adds return ErrBatcherClosed.
// It waits until every token is sent or failed and the OnBatch calls for
// them have returned — at most the client's retry policy plus one pause
// (see Batcher), or MaxOutage during an outage. If ctx ends first, Close
// gives up and returns at once: requests in flight are cancelled and every
// token not yet settled fails — with an error matching ErrNotSent when its
// batch never left — without OnBatch being called for it; only OnBatch
// calls already running may finish after Close returned. OnBatch may call
// Close (it does not wait for that call itself). Each Close honours its own
// ctx, also while another Close waits. It returns an error if any batch
// ever failed, saying how many tokens and wrapping the first error; calling
// it again returns the same. A nil ctx is an error matching
// ErrInvalidInput.
func (b *Batcher) Close(ctx context.Context) error {
	if ctx == nil {
		return invalid("ctx", "must not be nil")
	}
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.closing)
		b.cutLocked()
		if b.jr != nil { // journal hook: what waits out an outage stays in the journal
			b.parkHeldLocked()
		}
	}
	me := goid()
	for !b.drainedLocked(me) {
		changed := b.room
		b.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			b.giveUp(ctx.Err())
		}
		b.mu.Lock()
	}
	b.mu.Unlock()
	b.stopped.Do(b.stop)
	if b.jr != nil { // journal hook: the last journal calls; Held
		return b.closeJournal(b.summary())
	}
	return b.summary()
}

// drainedLocked reports whether Close may return: every token settled or
// parked in the journal, and every OnBatch call returned but those running
// on goroutine me (Close called from OnBatch).
func (b *Batcher) drainedLocked(me uint64) bool {
	return b.abandoned || b.pendingLocked()-b.parkedLocked() == 0 && b.settling <= b.inCallback[me]
}

// checkDrainedLocked wakes Close to look again (the journal's hooks call it
// when they park a batch).
func (b *Batcher) checkDrainedLocked() {
	b.changedLocked()
}

// giveUp cancels the sends in flight and files every batch not yet
// settled as failed (kept, with a journal), without calling OnBatch for
// it: after it returns, nothing of the Batcher starts a callback or
// touches a batch.
func (b *Batcher) giveUp(cause error) {
	b.cancel(fmt.Errorf("yespo: batcher closed: %w", cause))
	b.mu.Lock()
	defer b.mu.Unlock()
	b.abandoned = true
	b.ready = nil
	b.giveUpCause = cause
	for bt := range b.unfinished {
		if b.jr != nil { // journal hook: left in the journal, not failed
			if _, ok := b.jr.where[bt]; ok {
				continue // held or parked already
			}
			bt.settled = true
			delete(b.unfinished, bt)
			b.parkLocked([]*batch{bt})
			continue
		}
		err := b.gaveUpErrorLocked(bt)
		b.fileLocked(bt, err)
		b.doneLocked(bt)
	}
	b.wake.Broadcast()
	b.changedLocked()
}

// gaveUpError is the error of bt when a Close gave up on it.
func (b *Batcher) gaveUpError(bt *batch) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.gaveUpErrorLocked(bt)
}

func (b *Batcher) gaveUpErrorLocked(bt *batch) error {
	cause := b.giveUpCause
	if cause == nil {
		cause = context.Canceled
	}
	if !bt.attempted.Load() {
		return notSent{cause}
	}
	return fmt.Errorf("yespo: batcher closed while the batch was in flight (it may have reached Yespo): %w", cause)
}

// stop ends the workers, which are idle once everything is settled (or
// given up), and the flush timer. It does not wait for them: a worker may
// be in an OnBatch call that outlives Close.
func (b *Batcher) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.quit = true
	b.flush.Stop()
	b.wake.Broadcast()
	b.cancel(ErrBatcherClosed)
}

// summary is Close's error: nil, or how many tokens failed and the first
// failure.
func (b *Batcher) summary() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stats.Failed == 0 {
		return nil
	}
	return fmt.Errorf("yespo: batcher: %d of %d tokens failed: %w", b.stats.Failed, b.stats.Added-b.stats.Duplicates, b.firstErr)
}
