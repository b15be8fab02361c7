package yespo

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Waiting with a journal: AddAndWait, Flush and Close answer for held
// batches too, and Stats reads the journal. See batcher_journal.go.

// waitSettled waits until bt is finished or held, and returns its error:
// nil when Yespo accepted it, an error matching ErrHeld and wrapping the
// cause when held, ctx's error if ctx ends first.
func (b *Batcher) waitSettled(ctx context.Context, bt *batch) error {
	for {
		b.mu.Lock()
		_, held := b.jr.where[bt]
		changed, cause := b.jr.changed, b.jr.cause
		b.mu.Unlock()
		select {
		case <-bt.done:
			return bt.err
		default:
		}
		if held {
			return heldError(len(bt.tokens), 0, cause)
		}
		select {
		case <-bt.done:
			return bt.err
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// heldError says how many tokens are held, of how many (0: not said), and
// why.
func heldError(n, of int, cause error) error {
	count := formatCount(int64(n))
	if of > 0 {
		count += " of " + formatCount(int64(of))
	}
	return fmt.Errorf("yespo: batcher: %s tokens held in the journal, not yet accepted by Yespo (sent again when it accepts; nothing is lost): %w: %w", count, ErrHeld, cause)
}

// flushJournal is Flush with a journal: it waits until every batch cut is
// finished or held.
func (b *Batcher) flushJournal(ctx context.Context) error {
	b.mu.Lock()
	b.cutLocked()
	waiting := make([]*batch, 0, len(b.unfinished))
	for bt := range b.unfinished {
		waiting = append(waiting, bt)
	}
	b.mu.Unlock()
	var failed, held, total int
	var first error
	for _, bt := range waiting {
		err := b.waitSettled(ctx, bt)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		total += len(bt.tokens)
		switch {
		case errors.Is(err, ErrHeld):
			held += len(bt.tokens)
		case err != nil:
			failed += len(bt.tokens)
			first = cmpOr(first, err)
		}
	}
	var errs []error
	if failed > 0 {
		errs = append(errs, fmt.Errorf("yespo: batcher: %d of %d tokens failed: %w", failed, total, first))
	}
	if held > 0 {
		b.mu.Lock()
		cause := b.jr.cause
		b.mu.Unlock()
		errs = append(errs, heldError(held, total, cause))
	}
	return errors.Join(errs...)
}

// closeJournal is the end of Close with a journal: no journal call is made
// after it returns. Tokens neither sent nor failed are counted in Held; the
// returned error adds them to err.
func (b *Batcher) closeJournal(err error) error {
	jr := b.jr
	b.mu.Lock()
	again := jr.closing
	jr.closing = true
	b.mu.Unlock()
	jr.cancel()
	jr.ops.Wait()
	<-jr.reclaimer
	if !again { // a second Close asks the journal nothing
		ctx, cancel := context.WithTimeout(context.Background(), journalCleanupTimeout)
		defer cancel()
		if st, serr := jr.j.Stats(ctx); serr == nil {
			b.mu.Lock()
			jr.final = st
			b.mu.Unlock()
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stats.Held = int64(b.pendingLocked())
	if b.stats.Held == 0 {
		return err
	}
	cause := jr.cause
	if cause == nil {
		cause = errors.New("the batcher closed before they were sent")
	}
	herr := heldError(int(b.stats.Held), int(b.stats.Added+b.stats.Reclaimed-b.stats.Duplicates), cause)
	b.logJournal("yespo: batcher: closed with tokens held in the journal; the next batcher on it sends them", cause, "tokens", b.stats.Held)
	return errors.Join(err, herr)
}

// journalStats fills st's journal fields.
func (b *Batcher) journalStats(st *BatcherStats) {
	jr := b.jr
	if jr == nil {
		return
	}
	b.mu.Lock()
	closing := jr.closing
	if !closing {
		st.Held = int64(jr.heldN + jr.parked)
		jr.ops.Add(1)
	}
	js := jr.final
	b.mu.Unlock()
	if !closing {
		ctx, cancel := context.WithTimeout(jr.ctx, journalCleanupTimeout)
		if s, err := jr.j.Stats(ctx); err == nil {
			js = s
		}
		cancel()
		jr.ops.Done()
	}
	st.JournalDepth = js.Depth
	if !js.Oldest.IsZero() {
		st.JournalOldest = time.Since(js.Oldest)
	}
}
