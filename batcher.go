package yespo

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBatcherClosed is returned by Batcher.Add once Close has been called.
var ErrBatcherClosed = errors.New("yespo: batcher closed")

// BatcherOptions tunes a Batcher; zero fields take the defaults.
type BatcherOptions struct {
	MaxBatch      int               // tokens per request; default 500
	FlushInterval time.Duration     // a token waits at most this long; default 1s
	MaxPending    int               // tokens queued before Add blocks; default 10_000
	Concurrency   int               // requests in flight; default 2
	OnBatch       func(BatchResult) // called once per request, from the sending goroutine
}

// BatchResult is what became of one batch: sent, or failed with Err.
type BatchResult struct {
	Tokens []Token
	Err    error // nil when Yespo accepted the batch
}

// BatcherStats counts what a Batcher did. After Close,
// Added == Sent + Failed + Duplicates.
type BatcherStats struct {
	Added, Duplicates, Sent, Failed, Requests int64
	Pending                                   int
}

// Batcher gathers tokens from any number of goroutines and sends them to
// AddAppTokens in batches: for bursts of /start (one request instead of
// thousands keeps an account under Yespo's 200 requests per second) and for
// bulk imports. Memory is bounded by MaxPending, requests in flight by
// Concurrency. Every token Add accepts ends up sent or failed, and a failed
// batch reaches OnBatch with its tokens. A batch refused with a Retry-After
// longer than the client waits by itself pauses the whole Batcher for that
// long and is then sent again; OnBatch hears only its final outcome (from
// Close's goroutine for batches Close gives up on). Create it with
// Client.NewBatcher and always Close it.
type Batcher struct {
	c    *Client
	app  string
	opts BatcherOptions

	ctx      context.Context // the sends'; cancelled when Close gives up
	cancel   context.CancelFunc
	closing  chan struct{} // closed by Close: wakes blocked Adds
	workers  sync.WaitGroup
	close    sync.Once
	closeErr error

	requests atomic.Int64

	mu          sync.Mutex
	wake        *sync.Cond // workers wait on it for ready batches
	closed      bool
	stopped     bool
	filling     *batch        // accepting tokens; cut when full or due
	indexed     []*batch      // cut and not finished: waiting or in flight
	spare       []batchIndex  // indexes of finished batches, for reuse
	filter      pendingFilter // hashes of all pending tokens
	seed        maphash.Seed
	room        chan struct{} // closed when tokens finish: blocked Adds look again
	ready       []*batch      // cut, waiting for a worker
	timer       *time.Timer   // FlushInterval of the oldest queued token
	timerArmed  bool
	pausedUntil time.Time // a 429 with a long Retry-After stops all sends
	pauseTimer  *time.Timer
	added       int64
	dups        int64
	sent        int64
	failed      int64
	firstErr    error
}

// batch is one request's worth of tokens.
type batch struct {
	tokens []Token
	hashes []uint64   // of tokens, to uncount them when the batch finishes
	index  batchIndex // of tokens, while the batch is pending
	err    error
	done   chan struct{}
}

// NewBatcher returns a running Batcher that adds tokens to appUUID. It fails
// with a *ValidationError on a malformed appUUID or a negative option, or
// when MaxPending is smaller than MaxBatch.
func (c *Client) NewBatcher(appUUID string, opts BatcherOptions) (*Batcher, error) {
	if err := ValidateAppUUID(appUUID); err != nil {
		return nil, err
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Batcher{
		c: c, app: appUUID, opts: opts,
		ctx:     ctx,
		cancel:  cancel,
		closing: make(chan struct{}),
		seed:    maphash.MakeSeed(),
		filter:  newPendingFilter(opts.MaxPending),
		room:    make(chan struct{}),
	}
	b.wake = sync.NewCond(&b.mu)
	b.filling = b.newBatch()
	b.timer = time.AfterFunc(time.Hour, b.flushDue)
	b.timer.Stop()
	b.workers.Add(opts.Concurrency)
	for range opts.Concurrency {
		go b.work()
	}
	return b, nil
}

func (o BatcherOptions) withDefaults() (BatcherOptions, error) {
	for _, f := range []struct {
		name string
		v    int64
	}{{"MaxBatch", int64(o.MaxBatch)}, {"FlushInterval", int64(o.FlushInterval)},
		{"MaxPending", int64(o.MaxPending)}, {"Concurrency", int64(o.Concurrency)}} {
		if f.v < 0 {
			return o, invalid("BatcherOptions."+f.name, "must not be negative")
		}
	}
	o.MaxBatch = cmpOr(o.MaxBatch, 500)
	o.FlushInterval = cmpOr(o.FlushInterval, time.Second)
	o.MaxPending = cmpOr(o.MaxPending, 10_000)
	o.Concurrency = cmpOr(o.Concurrency, 2)
	if o.MaxPending < o.MaxBatch {
		return o, invalid("BatcherOptions.MaxPending", "must be at least MaxBatch")
	}
	return o, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Add queues t. It validates t first (an error matching ErrInvalidInput),
// blocks while MaxPending tokens are pending, and returns ctx's error if ctx
// ends first — the token is then not accepted — or ErrBatcherClosed after
// Close. A token equal in all five fields to one still pending is counted
// in Duplicates and sent once. Add returns once t is queued: its outcome
// reaches OnBatch, Flush and Close; AddAndWait waits for it instead.
func (b *Batcher) Add(ctx context.Context, t Token) error {
	_, err := b.add(ctx, t)
	return err
}

// AddAndWait queues t like Add, then waits for the batch that carries it and
// returns that batch's outcome: nil once Yespo has accepted t, else the
// batch's error (an *APIError, a transport error, or the Close that gave up
// on it). A bot's /start handler uses it to answer a user only after Yespo
// has the user's token, while a burst of users still shares few requests.
// It returns ctx's error if ctx ends first; t may still be sent then.
func (b *Batcher) AddAndWait(ctx context.Context, t Token) error {
	bt, err := b.add(ctx, t)
	if err != nil {
		return err
	}
	select {
	case <-bt.done:
		return bt.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// add is Add; it returns the batch that will carry t (or its pending twin).
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
	b.mu.Lock()
	defer b.mu.Unlock()
	for !b.closed && b.pendingLocked() >= b.opts.MaxPending {
		room := b.room
		b.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			b.mu.Lock()
			return nil, ctx.Err()
		case <-b.closing:
		}
		b.mu.Lock()
	}
	if b.closed {
		return nil, ErrBatcherClosed
	}
	b.added++
	bt, isNew := b.accept(t)
	if !isNew {
		b.dups++
		return bt, nil
	}
	switch {
	case len(b.filling.tokens) >= b.opts.MaxBatch:
		b.cutLocked()
	case !b.timerArmed:
		b.timerArmed = true
		b.timer.Reset(b.opts.FlushInterval)
	}
	return bt, nil
}

// accept puts t in the filling batch unless an equal token is pending:
// filling, waiting or in flight. Only when the filter cannot tell — a twin,
// or another token in the same bucket — are the batches searched. It returns
// the batch that carries t or its twin, and whether t is new.
func (b *Batcher) accept(t Token) (*batch, bool) {
	h := maphash.String(b.seed, t.Token)
	f := b.filling
	if !b.filter.inc(h) {
		twin := b.pendingElsewhere(&t, h)
		if f.index.find(f.tokens, &t, h) {
			twin = f
		}
		if twin != nil {
			b.filter.dec(h)
			return twin, false
		}
	}
	f.tokens = append(f.tokens, t)
	f.hashes = append(f.hashes, h)
	f.index.add(f.tokens, len(f.tokens)-1, h)
	return f, true
}

// pendingElsewhere returns the cut batch that holds a twin of t, or nil.
func (b *Batcher) pendingElsewhere(t *Token, h uint64) *batch {
	for _, bt := range b.indexed {
		if bt.index.find(bt.tokens, t, h) {
			return bt
		}
	}
	return nil
}

// newBatch returns an empty batch with an index, reusing a spare one.
func (b *Batcher) newBatch() *batch {
	bt := &batch{
		tokens: make([]Token, 0, b.opts.MaxBatch),
		hashes: make([]uint64, 0, b.opts.MaxBatch),
		done:   make(chan struct{}),
	}
	if n := len(b.spare); n > 0 {
		bt.index, b.spare = b.spare[n-1], b.spare[:n-1]
	}
	bt.index.reset(b.opts.MaxBatch)
	return bt
}

// flushDue runs FlushInterval after a token came into an empty queue.
func (b *Batcher) flushDue() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cutLocked()
}

// cutLocked hands the filling batch, if it has tokens, to the
// workers.
func (b *Batcher) cutLocked() {
	b.timer.Stop()
	b.timerArmed = false
	bt := b.filling
	if len(bt.tokens) == 0 {
		return
	}
	b.filling = b.newBatch()
	b.indexed = append(b.indexed, bt)
	b.ready = append(b.ready, bt)
	b.wake.Broadcast()
}

// work sends ready batches until the Batcher stops.
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

// next waits for a ready batch, out of any pause; nil means stop. Once
// stopped, a pause no longer holds: what is left goes out (and fails fast,
// its context cancelled) so that no worker waits for a timer that is gone.
func (b *Batcher) next() *batch {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		paused := !b.stopped && time.Now().Before(b.pausedUntil)
		switch {
		case len(b.ready) > 0 && !paused:
			bt := b.ready[0]
			b.ready = b.ready[1:]
			return bt
		case len(b.ready) == 0 && b.stopped:
			return nil
		}
		b.wake.Wait()
	}
}

// send makes one request. A 429 (or 503) that asks for a wait longer than
// the client would make pauses the whole Batcher once, and the batch goes
// back to the front of the line.
func (b *Batcher) send(bt *batch) {
	err := b.c.sendTokens(b.ctx, b.app, bt.tokens)
	b.requests.Add(1)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 && retryableStatus(apiErr.StatusCode) && b.ctx.Err() == nil {
		b.pause(bt, apiErr.RetryAfter)
		return
	}
	b.finish(bt, err)
}

func (b *Batcher) pause(bt *batch, d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ready = append([]*batch{bt}, b.ready...)
	if until := time.Now().Add(d); until.After(b.pausedUntil) {
		b.pausedUntil = until
		if b.pauseTimer != nil {
			b.pauseTimer.Stop()
		}
		b.pauseTimer = time.AfterFunc(d, b.broadcast)
	}
}

// broadcast wakes the workers; taking the lock means no worker can be
// between its check and its Wait, where a wake-up would be lost.
func (b *Batcher) broadcast() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.wake.Broadcast()
}

// pendingLocked counts tokens accepted and not yet sent or failed,
// duplicates aside.
func (b *Batcher) pendingLocked() int {
	return int(b.added - b.dups - b.sent - b.failed)
}

// finish files bt's outcome, makes room for blocked Adds and tells OnBatch.
func (b *Batcher) finish(bt *batch, err error) {
	bt.err = err
	b.mu.Lock()
	if i := slices.Index(b.indexed, bt); i >= 0 { // its tokens are no longer pending
		b.indexed = slices.Delete(b.indexed, i, i+1)
		b.spare = append(b.spare, bt.index)
		bt.index = batchIndex{}
		for _, h := range bt.hashes {
			b.filter.dec(h)
		}
	}
	if err == nil {
		b.sent += int64(len(bt.tokens))
	} else {
		b.failed += int64(len(bt.tokens))
		if b.firstErr == nil {
			b.firstErr = err
		}
	}
	close(b.room)
	b.room = make(chan struct{})
	b.mu.Unlock()
	if b.opts.OnBatch != nil {
		b.opts.OnBatch(BatchResult{Tokens: bt.tokens, Err: err})
	}
	close(bt.done)
}

// Flush sends everything queued so far, at once, and waits until those
// batches and the ones already in flight are done, through any pause. It
// returns ctx's error if ctx ends first, or an error counting the tokens
// that failed among them.
func (b *Batcher) Flush(ctx context.Context) error {
	b.mu.Lock()
	b.cutLocked()
	waiting := slices.Clone(b.indexed)
	b.mu.Unlock()
	var failed, total int
	var first error
	for _, bt := range waiting {
		select {
		case <-bt.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		total += len(bt.tokens)
		if bt.err != nil {
			failed += len(bt.tokens)
			first = cmpOr(first, bt.err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("yespo: batcher: %d of %d tokens failed: %w", failed, total, first)
	}
	return nil
}

// Close flushes, then stops the Batcher: later Adds return ErrBatcherClosed
// and no goroutine of it is left. If ctx ends first, Close gives up: requests
// in flight are cancelled and every token not yet sent fails with ctx's
// error. It returns an error if any batch ever failed, saying how many tokens
// and wrapping the first error; calling it again returns the same.
func (b *Batcher) Close(ctx context.Context) error {
	b.close.Do(func() {
		b.mu.Lock()
		b.closed = true
		close(b.closing)
		b.mu.Unlock()
		if err := b.Flush(ctx); err != nil && ctx.Err() != nil {
			b.abandon(ctx.Err())
		}
		b.stop()
		b.closeErr = b.summary()
	})
	return b.closeErr
}

// abandon cancels the sends in flight and fails what is still waiting.
func (b *Batcher) abandon(cause error) {
	b.cancel()
	b.mu.Lock()
	left := b.ready
	b.ready = nil
	b.pausedUntil = time.Time{}
	b.mu.Unlock()
	for _, bt := range left {
		b.finish(bt, fmt.Errorf("yespo: batcher closed before sending: %w", cause))
	}
}

// stop ends the workers, once their current request is done, and the timers.
func (b *Batcher) stop() {
	b.mu.Lock()
	b.stopped = true
	b.timer.Stop()
	if b.pauseTimer != nil {
		b.pauseTimer.Stop()
	}
	b.wake.Broadcast()
	b.mu.Unlock()
	b.workers.Wait()
	b.cancel()
}

func (b *Batcher) summary() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failed == 0 {
		return nil
	}
	return fmt.Errorf("yespo: batcher: %d of %d tokens failed: %w", b.failed, b.added-b.dups, b.firstErr)
}

// Stats returns the counters so far.
func (b *Batcher) Stats() BatcherStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return BatcherStats{
		Added:      b.added,
		Duplicates: b.dups,
		Sent:       b.sent,
		Failed:     b.failed,
		Requests:   b.requests.Load(),
		Pending:    b.pendingLocked(),
	}
}
