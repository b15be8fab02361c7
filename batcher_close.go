package yespo

import (
	"context"
	"fmt"
)

// Close flushes, then stops the Batcher: later Adds return ErrBatcherClosed
// and no goroutine of it is left. It waits at most the client's retry policy
// plus one pause (see Batcher). If ctx ends first, Close gives up: requests
// in flight are cancelled and every token not yet sent fails with an error
// wrapping ctx's. Each Close honours its own ctx, also while another Close
// waits. It returns an error if any batch ever failed, saying how many tokens
// and wrapping the first error; calling it again returns the same. A nil ctx
// is an error matching ErrInvalidInput.
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
		b.checkDrainedLocked()
	}
	b.mu.Unlock()
	select {
	case <-b.drained:
	case <-ctx.Done():
		select {
		case <-b.drained: // done meanwhile: nothing to give up
		default:
			b.abandon(fmt.Errorf("yespo: batcher closed before the batch was sent: %w", ctx.Err()))
			<-b.drained // quick now: every send is cancelled
		}
	}
	b.stopped.Do(b.stop)
	if b.jr != nil { // journal hook: the last journal calls; Held
		return b.closeJournal(b.summary())
	}
	return b.summary()
}

// checkDrainedLocked closes drained once the Batcher is closing and every
// token is settled, OnBatch told.
func (b *Batcher) checkDrainedLocked() {
	if b.closed && !b.isDrained && b.pendingLocked()-b.parkedLocked() == 0 && b.settling == 0 {
		b.isDrained = true
		close(b.drained)
	}
}

// abandon cancels the sends in flight and fails what is still waiting,
// with cause.
func (b *Batcher) abandon(cause error) {
	b.cancel(cause)
	b.mu.Lock()
	b.abandoned = true
	left := b.ready
	b.ready = nil
	if b.jr != nil { // journal hook: left in the journal, not failed
		left = b.parkLocked(left)
		b.checkDrainedLocked()
	}
	b.wake.Broadcast()
	b.mu.Unlock()
	for _, bt := range left {
		b.finish(bt, cause)
	}
}

// stop ends the workers, which are idle once everything is settled, and the
// timers.
func (b *Batcher) stop() {
	b.mu.Lock()
	b.quit = true
	b.flush.Stop()
	b.pace.timer.Stop()
	b.wake.Broadcast()
	b.mu.Unlock()
	b.workers.Wait()
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
