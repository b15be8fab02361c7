package yespo

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// work sends batches until the Batcher stops.
func (b *Batcher) work() {
	defer b.workers.Done()
	for {
		bt := b.next()
		if bt == nil {
			return
		}
		b.send(bt)
	}
}

// next waits for a ready batch that the pace and any pause let go, and
// takes it; nil means stop. Once a Close has given up, nothing holds a
// batch back: it goes out and fails fast, its context cancelled.
func (b *Batcher) next() *batch {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		switch {
		case len(b.ready) > 0:
			now := time.Now()
			hold := b.pace.hold(now)
			if hold <= 0 || b.abandoned {
				bt := b.ready[0]
				b.ready[0] = nil
				b.ready = b.ready[1:]
				bt.paced = b.pace.take(now)
				if len(b.ready) > 0 {
					b.wake.Signal() // the next batch may be due too
				}
				return bt
			}
			b.pace.arm(hold)
		case b.quit:
			return nil
		}
		b.wake.Wait()
	}
}

// signal wakes one worker, for the pace timer; taking the lock means no
// worker can be between its check and its Wait, where a wake-up would be
// lost.
func (b *Batcher) signal() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pace.timerAt = time.Time{}
	b.wake.Signal()
}

// send makes one AddAppTokens call for bt, watching its every attempt, and
// settles bt with the outcome. When a Close gave up meanwhile, the error
// says so rather than "context canceled".
func (b *Batcher) send(bt *batch) {
	call := &attemptCall{b: b, bt: bt, began: time.Now()}
	err := b.c.sendTokens(withAttemptHook(b.ctx, call), b.app, bt.tokens)
	if err != nil && b.ctx.Err() != nil {
		err = context.Cause(b.ctx)
	}
	b.settle(bt, err)
}

// attemptCall is one send, as its attempts are paced and observed.
type attemptCall struct {
	b        *Batcher
	bt       *batch
	began    time.Time // of the current attempt, or a little before
	attempts int       // begun so far
}

// pace lets the call's first attempt go at once — next dispatched it at
// the pace — and makes each retry wait for a turn at the pace.
func (a *attemptCall) pace(ctx context.Context) error {
	a.attempts++
	if a.attempts == 1 {
		return nil
	}
	b := a.b
	b.mu.Lock()
	at := b.pace.book(time.Now())
	b.mu.Unlock()
	if d := time.Until(at); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// observe counts one attempt's outcome and feeds it to the pace. A 429
// cuts the pace only if its attempt began after the last cut: the others
// were sent at the old rate and say nothing new.
func (a *attemptCall) observe(resp *http.Response, _ error) {
	now := time.Now()
	b := a.b
	b.mu.Lock()
	b.stats.Attempts++
	if resp != nil {
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			b.stats.RateLimited++
			b.pace.limited(a.began, now)
		case resp.StatusCode >= 200 && resp.StatusCode <= 299:
			b.pace.succeeded(a.bt.paced, now)
		}
	}
	b.mu.Unlock()
	a.began = now
}

// settle pauses the Batcher for bt when the server asked for a wait longer
// than the client makes by itself — once per batch — and puts bt back at
// the front of the line; otherwise bt is finished with err.
func (b *Batcher) settle(bt *batch, err error) {
	if d, ok := b.pauseFor(err); ok {
		b.mu.Lock()
		if !bt.paused && !b.abandoned {
			bt.paused = true
			b.stats.Pauses++
			b.pace.pause(time.Now(), d)
			b.ready = append([]*batch{bt}, b.ready...)
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
	}
	b.finish(bt, err)
}

// pauseFor returns the pause err asks for: only an *APIError of a
// retryable status whose Retry-After is longer than the client's own
// longest wait (so the client gave up rather than wait) and at most
// MaxPause. A longer one is not honoured: the batch fails with it.
func (b *Batcher) pauseFor(err error) (time.Duration, bool) {
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !retryableStatus(apiErr.StatusCode) {
		return 0, false
	}
	d := apiErr.RetryAfter
	return d, d > b.c.retry.MaxWait && d <= b.opts.MaxPause
}

// finish files bt's outcome, makes room for blocked Adds, tells OnBatch
// and then the waiters on bt.
func (b *Batcher) finish(bt *batch, err error) {
	if b.jr != nil && b.journalFinish(bt, err) { // journal hook: held, not finished
		return
	}
	bt.err = err
	b.mu.Lock()
	delete(b.unfinished, bt)
	for _, t := range bt.tokens { // no longer pending: an equal token is new again
		delete(b.pending, t) // a batch holds no duplicates: t maps to bt
	}
	n := int64(len(bt.tokens))
	if err == nil {
		b.stats.Sent += n
	} else {
		b.stats.Failed += n
		b.firstErr = cmpOr(b.firstErr, err)
	}
	b.stats.Batches++
	b.settling++
	close(b.room)
	b.room = make(chan struct{})
	b.mu.Unlock()
	if b.opts.OnBatch != nil {
		b.opts.OnBatch(BatchResult{Tokens: bt.tokens, Err: err})
	}
	close(bt.done)
	b.mu.Lock()
	b.settling--
	b.checkDrainedLocked()
	b.mu.Unlock()
}
