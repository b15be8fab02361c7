package engine

import (
	"context"
	"time"

	"github.com/yespo-go/yespo/internal/batch"
	"github.com/yespo-go/yespo/internal/hold"
	"github.com/yespo-go/yespo/internal/split"
)

// send is a worker's: one request for b, and what becomes of b.
func (e *Engine[T]) send(b *batch.Batch[T]) {
	e.mu.Lock()
	e.awaitReportsLocked()
	e.inflight++
	e.mu.Unlock()
	err := e.ctx.Err()
	if err == nil {
		err = e.cfg.Send(e.ctx, b.Items, func() { b.Attempted.Store(true) })
	}
	e.mu.Lock()
	if err != nil && e.ctx.Err() != nil {
		err = e.gaveUpLocked(b)
	}
	e.mu.Unlock()
	// Still in flight while it settles: until its result is queued for
	// OnResult, awaitReportsLocked must count it, or another send slips
	// into the gap and one batch more than Concurrency is accepted and
	// unreported (an import re-sends it after a crash).
	e.settle(b, err)
	e.mu.Lock()
	e.inflight--
	e.changedLocked()
	e.mu.Unlock()
}

// awaitReportsLocked keeps OnResult in step with the sends: a send starts
// only while fewer than Concurrency batches are in flight or waiting for
// OnResult to return, as when OnResult ran on the workers — so that what
// Yespo accepted and OnResult has not heard of stays bounded (an import's
// checkpoint relies on it). A Flush, Close or Wait called from the running
// OnResult lifts the bound: it waits for sends, and OnResult for it.
func (e *Engine[T]) awaitReportsLocked() {
	for e.cfg.OnResult != nil && !e.abandoned && e.insideN == 0 {
		busy := e.inflight + len(e.results)
		if e.running {
			busy++
		}
		if busy < e.cfg.Concurrency {
			return
		}
		changed := e.changed
		e.mu.Unlock()
		<-changed
		e.mu.Lock()
	}
}

// settle decides what becomes of b after a send: sent; paused and sent
// again, when the server asked for a longer wait than the client makes by
// itself (once per batch); split, when Yespo refused several items for
// some of them; held for a later try, when time or the operator may cure
// the failure; or failed.
func (e *Engine[T]) settle(b *batch.Batch[T], err error) {
	if err == nil {
		e.finish(b, nil)
		return
	}
	e.mu.Lock()
	if _, ok := e.unfinished[b]; !ok || e.abandoned {
		e.mu.Unlock() // a Close gave up on it: filed already
		return
	}
	if !b.Paused && e.cfg.Pause(err) {
		b.Paused = true
		e.st.Pauses++
		e.pool.PushFront(b)
		e.mu.Unlock()
		return
	}
	v := e.cfg.Classify(err)
	switch {
	case v == Split && e.splitLocked(b):
		e.mu.Unlock()
		return
	case v >= Outage && e.holdsLocked(b, v):
		e.holdLocked(b, v, err)
		expired := e.expiredLocked()
		e.mu.Unlock()
		for _, x := range expired {
			e.finish(x, err)
		}
		return
	}
	e.mu.Unlock()
	e.finish(b, err)
}

// splitLocked sends b again in two halves, ahead of the line.
func (e *Engine[T]) splitLocked(b *batch.Batch[T]) bool {
	root := b.RootOf()
	if root.Search == nil {
		root.Search = split.New[T](len(root.Items))
	}
	first, _, ok := root.Search.Halve(b.Items)
	if !ok {
		return false
	}
	cut := len(b.Items) - len(first)
	pieces := []*batch.Batch[T]{b.Piece(cut, len(b.Items)), b.Piece(0, cut)}
	b.Replaced()
	delete(e.unfinished, b)
	for _, p := range pieces {
		e.unfinished[p] = struct{}{}
	}
	e.pool.PushFront(pieces...)
	return true
}

// holdsLocked is the one policy: whether b is held rather than failed. A
// durable journal holds whatever Yespo has not refused for good, for any
// time; without one, only an outage holds a batch, for MaxOutage.
func (e *Engine[T]) holdsLocked(b *batch.Batch[T], v Verdict) bool {
	if b.HeldSince.IsZero() {
		b.HeldSince = time.Now()
	}
	return e.cfg.Durable || v == Outage && time.Since(b.HeldSince) < e.cfg.MaxOutage
}

// holdLocked keeps b for a probe or, once a durable engine is closing,
// parks it: left in the journal for the next engine on it.
func (e *Engine[T]) holdLocked(b *batch.Batch[T], v Verdict, err error) {
	e.cause = err
	e.setHeldLocked(b, true)
	defer e.changedLocked()
	if e.closed && e.cfg.Durable {
		e.parkLocked(b)
		return
	}
	reason := map[Verdict]hold.Reason{Outage: hold.Outage, Transient: hold.Transient, Operator: hold.Operator}[v]
	if e.hold.Add(b, reason) {
		e.warn("yespo: batcher: Yespo did not accept a batch; holding its "+e.noun()+""+e.where()+" and trying again", err, "tokens", len(b.Items))
	}
}

// expiredLocked takes out of the hold, without a durable journal, the
// batches held for MaxOutage: they fail.
func (e *Engine[T]) expiredLocked() []*batch.Batch[T] {
	if e.cfg.Durable {
		return nil
	}
	expired := e.hold.Expire(func(b *batch.Batch[T]) bool { return time.Since(b.HeldSince) >= e.cfg.MaxOutage })
	for _, b := range expired {
		e.setHeldLocked(b, false)
	}
	return expired
}

// setHeldLocked marks b held or back in line, and counts its items.
func (e *Engine[T]) setHeldLocked(b *batch.Batch[T], held bool) {
	if b.Held == held {
		return
	}
	b.SetHeld(held)
	n := int64(len(b.Items))
	if held {
		e.heldN += n
	} else {
		e.heldN -= n
	}
}

// where says where held tokens are kept, for the log.
func (e *Engine[T]) where() string {
	if e.cfg.Durable {
		return " in the journal"
	}
	return ""
}

// parkLocked leaves b, held, in the journal for the next engine on it.
func (e *Engine[T]) parkLocked(b *batch.Batch[T]) {
	e.setHeldLocked(b, true)
	e.heldN -= int64(len(b.Items))
	e.parked += int64(len(b.Items))
	delete(e.unfinished, b)
}

// probe sends a held batch again: the hold's probe. It counts as held
// until Yespo accepts it.
func (e *Engine[T]) probe(b *batch.Batch[T]) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.unfinished[b]; !ok || e.abandoned {
		return
	}
	e.pool.PushFront(b)
}

// finish files b's outcome: its entries leave the journal, its items are
// counted and settled, waiters are woken and the result is queued for
// OnResult. Yespo accepting b sends every held batch again.
func (e *Engine[T]) finish(b *batch.Batch[T], err error) {
	e.mu.Lock()
	if _, ok := e.unfinished[b]; !ok {
		e.mu.Unlock() // a Close gave up on it: filed already
		return
	}
	var follow []Entry[T]
	var followed *[]Entry[T]
	if err == nil && e.cfg.FollowUp != nil {
		followed = &follow
	}
	ids := e.idsLocked(b, make([]string, 0, len(b.Items)), followed)
	// No twin may join b once its entries are collected: it would be left
	// out of them, its entry stray in the journal and its payload unsent.
	// An equal item added from now on is new.
	e.fill.SettledFrom(b.RootOf(), b.Items)
	e.mu.Unlock()
	e.remove(ids)
	if len(follow) > 0 {
		e.cfg.FollowUp(follow)
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.unfinished[b]; !ok {
		return
	}
	e.fileLocked(b, err)
	e.hold.Settled(b)
	if err == nil {
		if released := e.hold.Sent(); len(released) > 0 {
			for _, h := range released {
				e.setHeldLocked(h, false)
			}
			if l := e.cfg.Logger; l != nil {
				l.Info("yespo: batcher: Yespo accepts again; sending the "+e.noun()+" held"+e.where(), "batches", len(released))
			}
			e.pool.PushFront(released...)
		}
	}
	if e.cfg.OnResult != nil {
		e.results = append(e.results, Result[T]{Items: b.Items, Payloads: b.Payloads, Err: err, Attempted: b.Attempted.Load()})
		select {
		case e.kick <- struct{}{}:
		default:
		}
	}
}

// fileLocked counts b's outcome, settles its items and wakes the waiters.
func (e *Engine[T]) fileLocked(b *batch.Batch[T], err error) {
	delete(e.unfinished, b)
	e.setHeldLocked(b, false)
	e.fill.SettledFrom(b.RootOf(), b.Items)
	n := int64(len(b.Items))
	if err == nil {
		e.st.Sent += n
	} else {
		e.st.Failed += n
		if e.firstErr == nil {
			e.firstErr = err
		}
	}
	e.st.Batches++
	b.Settle(err)
	e.changedLocked()
}

// remove removes journal entries, bounded in time; a failure leaves them to
// be sent again by the next engine on the journal, and is logged. Nothing
// is removed once Close is done with the journal.
func (e *Engine[T]) remove(ids []string) {
	if len(ids) == 0 {
		return
	}
	e.mu.Lock()
	if e.done {
		e.mu.Unlock()
		return
	}
	e.ops.Add(1)
	e.mu.Unlock()
	defer e.ops.Done()
	ctx, cancel := context.WithTimeout(e.jctx, CleanupTimeout)
	defer cancel()
	if err := e.cfg.Journal.Remove(ctx, ids); err != nil {
		e.warn("yespo: batcher: journal remove failed; these tokens will be sent again by the next batcher on the journal", err, "tokens", len(ids))
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.st.Journal.Depth = max(e.st.Journal.Depth-len(ids), 0); e.st.Journal.Depth == 0 {
		e.st.Journal.Oldest = time.Time{}
	}
}
