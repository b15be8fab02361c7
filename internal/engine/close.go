package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/yespo-go/yespo/internal/batch"
)

// Wait waits until b's root is settled or, with a durable journal, held,
// and returns item's outcome: nil when Yespo accepted it, its error when
// it failed, an error matching ErrHeld when held; ctx's error if ctx ends
// first.
func (e *Engine[T]) Wait(ctx context.Context, b *batch.Batch[T], item T) error {
	if err := e.await(ctx, []*batch.Batch[T]{b}); err != nil {
		return err
	}
	select {
	case <-b.Done():
		return b.ErrOf(item)
	default:
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := b.ErrOf(item); err != nil {
		return err
	}
	return e.heldErrorLocked(len(b.RootOf().Items), 0)
}

// await waits until every root in roots is settled or, with a durable
// journal, answered: each piece settled or held.
func (e *Engine[T]) await(ctx context.Context, roots []*batch.Batch[T]) error {
	_, exit := e.enter()
	defer exit()
	for {
		e.mu.Lock()
		for len(roots) > 0 && e.answeredLocked(roots[0]) {
			roots = roots[1:]
		}
		changed := e.changed
		e.mu.Unlock()
		if len(roots) == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (e *Engine[T]) answeredLocked(b *batch.Batch[T]) bool {
	select {
	case <-b.Done():
		return true
	default:
		return e.cfg.Durable && b.Answered()
	}
}

// Flush cuts the open batch and waits until it and every batch cut before
// are settled or, with a durable journal, held. It never waits for
// OnResult. It returns ctx's error, or an error counting the items that
// failed (wrapping the first failure) and those held.
func (e *Engine[T]) Flush(ctx context.Context) error {
	e.mu.Lock()
	e.cutLocked()
	seen := map[*batch.Batch[T]]bool{}
	var roots []*batch.Batch[T]
	for b := range e.unfinished {
		if r := b.RootOf(); !seen[r] {
			seen[r] = true
			roots = append(roots, r)
		}
	}
	e.mu.Unlock()
	if err := e.await(ctx, roots); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var failed, held, total int
	var first error
	for _, r := range roots {
		total += len(r.Items)
		n, err := r.Failed()
		failed += n
		if first == nil {
			first = err
		}
		held += r.HeldItems()
	}
	var errs []error
	if failed > 0 {
		errs = append(errs, fmt.Errorf("yespo: batcher: %d of %d %s failed: %w", failed, total, e.noun(), first))
	}
	if held > 0 {
		errs = append(errs, e.heldErrorLocked(held, total))
	}
	return errors.Join(errs...)
}

// heldErrorLocked says how many items are held, of how many (0: not
// said), and why.
func (e *Engine[T]) heldErrorLocked(n, of int) error {
	cause := e.cause
	if cause == nil {
		cause = errors.New("the batcher closed before they were sent")
	}
	count := formatCount(int64(n))
	if of > 0 {
		count += " of " + formatCount(int64(of))
	}
	return fmt.Errorf("yespo: batcher: %s %s held in the journal, not yet accepted by Yespo (sent again when it accepts; nothing is lost): %w: %w", count, e.noun(), ErrHeld, cause)
}

// Close flushes, then stops the engine: later Adds return ErrClosed. It
// waits until every item is settled (or, durable, parked in the journal)
// and OnResult has returned for every result — unless it is called from
// OnResult, which it cannot wait for: then the calls after it follow once
// it returns — or until ctx ends: then it gives up.
func (e *Engine[T]) Close(ctx context.Context) error {
	inside, exit := e.enter()
	defer exit()
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		close(e.closing)
		e.cutLocked()
		if e.cfg.Durable { // what waits out an outage stays in the journal
			for _, b := range e.hold.Stop() {
				e.parkLocked(b)
			}
			e.changedLocked()
		}
	}
	for !e.drainedLocked(inside) {
		changed := e.changed
		e.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			e.abandon(ctx.Err())
		}
		e.mu.Lock()
	}
	e.mu.Unlock()
	e.stop.Do(e.shutdown)
	return e.summary()
}

// drainedLocked reports whether Close may return: every item settled or
// parked, and the results delivered — unless Close is called from inside
// OnResult.
func (e *Engine[T]) drainedLocked(inside bool) bool {
	if e.abandoned {
		return true
	}
	if int64(e.pendingLocked())-e.parked > 0 {
		return false
	}
	return inside || len(e.results) == 0 && !e.running
}

// abandon cancels the sends in flight and files every batch not yet
// settled: failed, without OnResult, or parked with a durable journal.
// Results not yet delivered are dropped.
func (e *Engine[T]) abandon(cause error) {
	e.cancel(fmt.Errorf("yespo: batcher closed: %w", cause))
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.abandoned {
		return
	}
	e.abandoned = true
	e.giveUp = cause
	e.pool.Drop()
	e.hold.Stop()
	e.results = nil
	for b := range e.unfinished {
		if e.cfg.Durable {
			e.parkLocked(b)
			continue
		}
		e.idsLocked(b, nil, nil)
		e.fileLocked(b, e.gaveUpLocked(b))
	}
	e.changedLocked()
}

// gaveUpLocked is the error of b when a Close gave up on it.
func (e *Engine[T]) gaveUpLocked(b *batch.Batch[T]) error {
	cause := e.giveUp
	if cause == nil {
		cause = context.Canceled
	}
	return e.cfg.GaveUp(cause, b.Attempted.Load())
}

// shutdown ends the workers, the timers, the loops and the journal calls;
// the dispatcher ends once it delivered what it has. It does not wait for
// the workers: one may be in a send a Close gave up on.
func (e *Engine[T]) shutdown() {
	e.mu.Lock()
	e.done = true
	e.flush.Stop()
	e.mu.Unlock()
	e.pool.Stop()
	e.hold.Stop()
	e.cancel(ErrClosed)
	e.jcancel()
	e.ops.Wait()
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// summary is Close's error: how many items failed, with the first failure,
// and how many are held in the journal; nil when none. It reads the
// journal's figures one last time.
func (e *Engine[T]) summary() error {
	e.mu.Lock()
	final := !e.summed
	e.summed = true
	e.mu.Unlock()
	if final {
		ctx, cancel := context.WithTimeout(context.Background(), CleanupTimeout)
		if js, err := e.cfg.Journal.Stats(ctx); err == nil {
			e.mu.Lock()
			e.st.Journal = js
			e.mu.Unlock()
		}
		cancel()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.st.Held = int64(e.pendingLocked())
	var errs []error
	if e.st.Failed > 0 {
		errs = append(errs, fmt.Errorf("yespo: batcher: %d of %d %s failed: %w", e.st.Failed, e.st.Added+e.st.Reclaimed-e.st.Duplicates, e.noun(), e.firstErr))
	}
	if e.giveUp != nil && e.st.Failed == 0 && e.st.Held == 0 {
		errs = append(errs, fmt.Errorf("yespo: batcher: Close gave up waiting for OnBatch: %w", e.giveUp))
	}
	if e.st.Held > 0 {
		errs = append(errs, e.heldErrorLocked(int(e.st.Held), int(e.st.Added+e.st.Reclaimed-e.st.Duplicates)))
		e.warn("yespo: batcher: closed with "+e.noun()+" held in the journal; the next batcher on it sends them", e.cause, "tokens", e.st.Held)
	}
	return errors.Join(errs...)
}

// formatCount writes n with thousands separators: 10,000,000.
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
