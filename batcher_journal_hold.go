package yespo

import (
	"errors"
	"net/http"
)

// Outcomes of a batch with a journal: settled for good (it leaves the
// journal), held for a probe, or parked for the next Batcher. See
// batcher_journal.go.

// journalFinish is finish's hook: a batch Yespo accepted, or refused for
// good, leaves the journal before it is finished; any other failure holds
// the batch (or, while closing, parks it) and reports true: the batch is
// not finished.
func (b *Batcher) journalFinish(bt *batch, err error) (held bool) {
	if err != nil && !refusedForGood(err) {
		b.hold(bt, err)
		return true
	}
	b.mu.Lock()
	b.unfailLocked(bt)
	var ids []string
	for _, t := range bt.tokens {
		ids = append(ids, b.jr.ids[t]...)
		delete(b.jr.ids, t)
	}
	// Close does not wait for the workers: a send that comes back after it
	// gave up must not touch the journal (its entries are sent again by the
	// next Batcher), and one that comes back before is waited for.
	closing := b.jr.closing
	if !closing {
		b.jr.ops.Add(1)
	}
	b.mu.Unlock()
	if !closing {
		b.removeIDs(b.jr.ctx, ids)
		b.jr.ops.Done()
	}
	if err == nil {
		b.release()
	}
	return false
}

// refusedForGood reports whether err is Yespo refusing the batch as sent:
// a 4xx no retry and no change of configuration fixes (400 above all), or
// a batch the client would not send. 401, 403 and 404 (a key, a permission
// or an app the operator must fix), 408, 425 and 429 are not.
func refusedForGood(err error) bool {
	if errors.Is(err, ErrInvalidInput) {
		return true
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode < 400 || apiErr.StatusCode > 499 {
		return false
	}
	switch apiErr.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusProxyAuthRequired,
		http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return false
	}
	return true
}

// operatorError reports whether err is one only the operator fixes.
func operatorError(err error) bool {
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrForbidden) || errors.Is(err, ErrNotFound)
}

// hold keeps bt for a probe, or parks it once the Batcher is closing.
func (b *Batcher) hold(bt *batch, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	jr := b.jr
	jr.cause = err
	jr.where[bt] = struct{}{}
	close(jr.changed)
	jr.changed = make(chan struct{})
	if b.closed || b.abandoned {
		b.unfailLocked(bt)
		jr.parked += len(bt.tokens)
		b.checkDrainedLocked()
		return
	}
	jr.held = append(jr.held, bt)
	if _, ok := jr.failed[bt]; !ok {
		jr.failed[bt] = struct{}{}
		jr.heldN += len(bt.tokens)
	}
	if !jr.holding {
		jr.holding = true
		b.logJournal("yespo: batcher: Yespo did not accept a batch; holding its tokens in the journal and trying again", err, "tokens", len(bt.tokens))
	}
	if !jr.armed {
		jr.armed = true
		jr.probe.Reset(jr.backoff)
		limit := probeMaxTransient
		if operatorError(err) {
			limit = probeMaxOperator
		}
		jr.backoff = min(2*jr.backoff, limit)
	}
}

// probeDue sends the oldest held batch again.
func (b *Batcher) probeDue() {
	b.mu.Lock()
	defer b.mu.Unlock()
	jr := b.jr
	jr.armed = false
	if b.closed || b.abandoned || len(jr.held) == 0 {
		return
	}
	bt := jr.held[0]
	jr.held = jr.held[1:]
	delete(jr.where, bt)
	b.ready = append([]*batch{bt}, b.ready...)
	b.wake.Signal()
}

// release sends every held batch again: Yespo accepted one.
func (b *Batcher) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	jr := b.jr
	jr.backoff = probeFirst
	if !jr.holding {
		return
	}
	jr.holding = false
	if b.c.logger != nil {
		b.c.logger.Info("yespo: batcher: Yespo accepts again; sending the tokens held in the journal", "tokens", jr.heldN)
	}
	for _, bt := range jr.held {
		delete(jr.where, bt)
	}
	b.ready = append(jr.held, b.ready...)
	jr.held = nil
	b.wake.Broadcast()
}

// parkLocked leaves batches in the journal for the next Batcher: Close gave
// up on them (abandon's hook), or is under way (Close's). It returns what is
// left to fail: nothing.
func (b *Batcher) parkLocked(bts []*batch) []*batch {
	jr := b.jr
	for _, bt := range bts {
		b.unfailLocked(bt)
		jr.where[bt] = struct{}{}
		jr.parked += len(bt.tokens)
	}
	close(jr.changed)
	jr.changed = make(chan struct{})
	return nil
}

// parkHeldLocked parks the held batches: Close does not wait out an outage
// with tokens that are safe in the journal.
func (b *Batcher) parkHeldLocked() {
	jr := b.jr
	jr.probe.Stop()
	jr.armed = false
	b.parkLocked(jr.held)
	jr.held = nil
}

// unfailLocked forgets that bt failed: it is settled or parked now.
func (b *Batcher) unfailLocked(bt *batch) {
	if _, ok := b.jr.failed[bt]; ok {
		delete(b.jr.failed, bt)
		b.jr.heldN -= len(bt.tokens)
	}
}

// parkedLocked counts tokens parked; 0 without a journal.
func (b *Batcher) parkedLocked() int {
	if b.jr == nil {
		return 0
	}
	return b.jr.parked
}
