package yespo

import (
	"context"
	"errors"

	"github.com/yespo-go/yespo/internal/engine"
)

// Add queues t. It validates t first (an error matching ErrInvalidInput),
// blocks while MaxPending tokens are pending, and returns ctx's error if ctx
// ends first — the token is then not accepted — or ErrBatcherClosed after
// Close. A nil ctx is an error matching ErrInvalidInput. A token equal in
// all five fields to one still pending is counted in Duplicates and sent
// once. Add returns once t is queued (with a Journal, once it is kept): its
// outcome reaches OnBatch, Flush and Close; AddAndWait waits for it instead.
func (b *Batcher) Add(ctx context.Context, t Token) error {
	if err := admit(ctx, t); err != nil {
		return err
	}
	_, err := b.eng.Add(ctx, t, nil)
	return err
}

// admit checks what every Add takes: a ctx, not done yet, and a valid t.
func admit(ctx context.Context, t Token) error {
	if ctx == nil {
		return invalid("ctx", "must not be nil")
	}
	if err := t.Validate(); err != nil {
		return err
	}
	return ctx.Err()
}

// AddAndWait queues t like Add, then waits for the batch that carries t —
// or its pending twin — and returns that batch's outcome: nil once Yespo has
// accepted t, else the error of the batch (or, for a batch split after a
// 400, of the piece) that carried t: an *APIError, a transport error, or,
// when a Close gave up on it, an error wrapping that Close's context error
// (matching ErrNotSent if it never left). With a Journal, a batch held in
// it answers too, with an error matching ErrHeld. It returns ctx's error if
// ctx ends first; t may still be sent then. Unless a backlog, a pause or an
// outage holds the batch back, it returns within FlushInterval plus one
// round trip (and its retries, if any); a burst of callers shares few
// requests.
func (b *Batcher) AddAndWait(ctx context.Context, t Token) error {
	if err := admit(ctx, t); err != nil {
		return err
	}
	bt, err := b.eng.Add(ctx, t, nil)
	if err != nil {
		return err
	}
	return b.eng.Wait(ctx, bt, t)
}

// Flush cuts the batch being filled and waits until it and every batch
// already cut are settled — sent, or failed — through any pause or outage
// (at most MaxOutage) and at the pace in force; with a Journal, a batch
// held in it counts as settled. It does not wait for OnBatch, and may be
// called from it. Then it waits, the same way, for the follow-up events
// (AddWithEvent) of the tokens Yespo accepted. It returns ctx's error if ctx ends first (nil ctx: an
// error matching ErrInvalidInput), or an error counting the tokens that
// failed among them and wrapping the first failure, joined with one
// matching ErrHeld that counts those held.
func (b *Batcher) Flush(ctx context.Context) error {
	if ctx == nil {
		return invalid("ctx", "must not be nil")
	}
	err := b.eng.Flush(ctx)
	if ctx.Err() != nil {
		return err
	}
	return errors.Join(err, b.events.Flush(ctx))
}

// Close flushes, then stops the Batcher: later Adds return ErrBatcherClosed.
// It waits until every token is settled — at most the client's retry
// policy plus one pause (see Batcher), or MaxOutage during an outage; with
// a Journal, tokens Yespo has not accepted stay in it for the next Batcher
// — and every OnBatch call has returned. Called from OnBatch, it returns
// once every token is settled: it waits neither for that call nor for the
// OnBatch calls after it, which follow once it returns. If ctx ends first,
// Close gives up and returns at once: requests in flight are cancelled and
// every token not yet settled fails — with an error matching ErrNotSent
// when its batch never left — or, with a Journal, stays in it; OnBatch is
// not called for them, nor for results not yet delivered. Each Close
// honours its own ctx, also while another Close waits. It returns an error
// if any batch ever failed, saying how many tokens and wrapping the first
// error, joined with one matching ErrHeld when tokens stay in the journal;
// calling it again returns the same. A nil ctx is an error matching
// ErrInvalidInput.
func (b *Batcher) Close(ctx context.Context) error {
	if ctx == nil {
		return invalid("ctx", "must not be nil")
	}
	err := b.eng.Close(ctx)
	if ctx.Err() != nil {
		b.stopEvents() // a handOver waiting for room gives up
	}
	err = errors.Join(err, b.events.Close(ctx))
	b.readFinalJournal()
	return err
}

// readFinalJournal reads the journal's figures once both engines are
// done with it: the token engine's last read comes before the follow-up
// events settled and left the journal.
func (b *Batcher) readFinalJournal() {
	if b.final.Load() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), engine.CleanupTimeout)
	defer cancel()
	if js, err := b.journal.Stats(ctx); err == nil {
		b.final.CompareAndSwap(nil, &js)
	}
}
