package yespo

import (
	"errors"
	"math/bits"
	"net/http"
	"sync/atomic"
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

// next waits for a ready batch and takes it; nil means stop. The batch
// then waits for its turn at the Client's pace, which every Batcher of the
// Client and its direct calls share.
func (b *Batcher) next() *batch {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		switch {
		case len(b.ready) > 0:
			bt := b.ready[0]
			b.ready[0] = nil
			b.ready = b.ready[1:]
			if len(b.ready) > 0 {
				b.wake.Signal() // another worker may take the next one
			}
			return bt
		case b.quit:
			return nil
		}
		b.wake.Wait()
	}
}

// send makes one AddAppTokens call for bt as the Batcher's own caller —
// its turns at the pace, its counters, its outage hold — and settles bt
// with the outcome. When a Close gave up meanwhile, the error says so
// rather than "context canceled".
func (b *Batcher) send(bt *batch) {
	by := &caller{
		party:       &b.party,
		attempted:   b.observe,
		sending:     func() { bt.attempted.Store(true) },
		holdsOutage: true,
	}
	err := b.c.sendTokens(b.ctx, b.app, bt.tokens, by)
	if err != nil && b.ctx.Err() != nil {
		err = b.gaveUpError(bt)
	}
	b.settle(bt, err)
}

// observe counts one attempt of a send.
func (b *Batcher) observe(status int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stats.Attempts++
	if status == http.StatusTooManyRequests {
		b.stats.RateLimited++
	}
}

// settle decides what becomes of bt after a send: sent; paused and sent
// again, when the server asked for a wait longer than the client makes by
// itself (once per batch); held and sent again during an outage; split,
// when Yespo refused several tokens with a 400, to find the one it
// refuses; or failed.
func (b *Batcher) settle(bt *batch, err error) {
	if err == nil {
		b.finish(bt, nil)
		return
	}
	b.mu.Lock()
	switch {
	case b.abandoned:
	case !bt.paused && b.pauseFor(err):
		bt.paused = true
		b.stats.Pauses++
		b.requeueLocked(bt)
		b.mu.Unlock()
		return
	case b.holdLocked(bt, err):
		b.requeueLocked(bt)
		b.mu.Unlock()
		return
	case b.splitLocked(bt, err):
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	b.finish(bt, err)
}

// requeueLocked puts bt back at the front of the line.
func (b *Batcher) requeueLocked(bt *batch) {
	b.ready = append([]*batch{bt}, b.ready...)
	b.wake.Signal()
}

// pauseFor pauses the Client's account budget, and reports true, when err
// asks for a pause: only an *APIError of a retryable status whose
// Retry-After is longer than the client's own longest wait (so the client
// gave up rather than wait) and at most MaxPause. A longer one is not
// honoured: the batch fails with it.
func (b *Batcher) pauseFor(err error) bool {
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !retryableStatus(apiErr.StatusCode) {
		return false
	}
	d := apiErr.RetryAfter
	if d <= b.c.retry.MaxWait || d > b.opts.MaxPause {
		return false
	}
	b.c.account.Pause(d)
	return true
}

// holdLocked reports whether bt is to be held rather than failed: its
// send failed for a reason that time cures (a 5xx, a 429, a transport
// error) while the Client holds an outage, and bt has been held for less
// than MaxOutage. With a journal the journal's hook in finish holds it
// instead, for any time (batcher_journal.go).
func (b *Batcher) holdLocked(bt *batch, err error) bool {
	if !transient(err) || b.keepsTransientFailures() {
		return false
	}
	if !b.c.account.Down() {
		return false
	}
	now := time.Now()
	if bt.heldSince.IsZero() {
		bt.heldSince = now
	}
	return now.Sub(bt.heldSince) < b.opts.MaxOutage
}

// keepsTransientFailures reports whether a transient failure leaves the
// tokens kept (in the journal) rather than failed, whatever its length.
func (b *Batcher) keepsTransientFailures() bool { return b.opts.Journal != nil }

// transient reports whether err is one that time may cure: an *APIError
// of a retryable status, or a transport error that is not permanent.
func transient(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return retryableStatus(apiErr.StatusCode)
	}
	var te *transportError
	return errors.As(err, &te) && !permanentError(te.cause)
}

// splitLocked splits bt in two halves, both queued, when Yespo refused
// bt's several tokens with a 400: the halves that Yespo accepts are sent,
// and the search narrows down to the tokens it refuses. A 400 that is not
// about one token (every half refused) ends the search after about twice
// log2 of the batch's size in refused requests: the rest fails with it.
func (b *Batcher) splitLocked(bt *batch, err error) bool {
	var apiErr *APIError
	if len(bt.tokens) < 2 || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
		return false
	}
	root := bt.rootOf()
	if root.split == nil {
		root.split = &splitState{left: 2 * bits.Len(uint(len(root.tokens))), errs: map[Token]error{}}
	}
	if root.split.left < 2 {
		return false
	}
	root.split.left -= 2
	half := len(bt.tokens) / 2
	for _, part := range [][]Token{bt.tokens[half:], bt.tokens[:half]} {
		piece := &batch{tokens: part, root: root, heldSince: bt.heldSince, done: make(chan struct{})}
		piece.attempted.Store(bt.attempted.Load())
		b.unfinished[piece] = struct{}{}
		b.requeueLocked(piece)
	}
	delete(b.unfinished, bt)
	if bt != root {
		root.split.pieces--
	}
	root.split.pieces += 2
	return true
}

// batch is one request's worth of tokens, or a piece of one that Yespo
// refused with a 400 (see splitLocked).
type batch struct {
	tokens    []Token
	paused    bool      // a long Retry-After has paused the Batcher for it once
	heldSince time.Time // first held in an outage; zero if never
	attempted atomic.Bool
	settled   bool // its outcome is filed (guarded by the Batcher's mutex)
	err       error
	done      chan struct{} // closed once settled; a split root's once every piece is
	root      *batch        // the batch Add put its tokens in; nil for that one itself
	split     *splitState   // of a root that was split; nil otherwise
}

// splitState is a split batch's progress.
type splitState struct {
	left   int             // pieces the search may still make
	pieces int             // pieces not yet settled
	errs   map[Token]error // the failed pieces' tokens and errors
}

// rootOf returns the batch Add put bt's tokens in.
func (bt *batch) rootOf() *batch {
	if bt.root != nil {
		return bt.root
	}
	return bt
}

// errOf returns t's outcome once the batch that carried it is done.
func (bt *batch) errOf(t Token) error {
	if bt.split != nil {
		return bt.split.errs[t]
	}
	return bt.err
}

// failedCount is how many of the batch's tokens failed, once done.
func (bt *batch) failedCount() int {
	switch {
	case bt.split != nil:
		return len(bt.split.errs)
	case bt.err != nil:
		return len(bt.tokens)
	}
	return 0
}

// firstErr is the batch's failure, once done: of one of its pieces if
// it was split.
func (bt *batch) firstErr() error {
	if bt.split != nil {
		for _, err := range bt.split.errs {
			return err
		}
	}
	return bt.err
}

// finish files bt's outcome, makes room for blocked Adds, tells OnBatch
// and then the waiters on bt. A batch that a Close gave up on is filed
// already: its late outcome changes nothing.
func (b *Batcher) finish(bt *batch, err error) {
	b.mu.Lock()
	settled := bt.settled
	b.mu.Unlock()
	if settled {
		return
	}
	if b.jr != nil && b.journalFinish(bt, err) { // journal hook: held, not finished
		b.mu.Lock()
		b.changedLocked()
		b.mu.Unlock()
		return
	}
	b.mu.Lock()
	if bt.settled {
		b.mu.Unlock()
		return
	}
	b.fileLocked(bt, err)
	b.settling++
	me := goid()
	b.inCallback[me]++
	b.mu.Unlock()
	if b.opts.OnBatch != nil {
		b.opts.OnBatch(BatchResult{Tokens: bt.tokens, Err: err, Attempted: bt.attempted.Load()})
	}
	b.mu.Lock()
	b.doneLocked(bt)
	if b.inCallback[me]--; b.inCallback[me] == 0 {
		delete(b.inCallback, me)
	}
	b.settling--
	b.changedLocked()
	b.mu.Unlock()
}

// fileLocked counts bt's outcome and makes its tokens new again.
func (b *Batcher) fileLocked(bt *batch, err error) {
	bt.settled = true
	bt.err = err
	delete(b.unfinished, bt)
	root := bt.rootOf()
	for _, t := range bt.tokens { // no longer pending: an equal token is new again
		delete(b.pending, t) // a batch holds no duplicates: t maps to its root
		if err != nil && root.split != nil {
			root.split.errs[t] = err
		}
	}
	n := int64(len(bt.tokens))
	if err == nil {
		b.stats.Sent += n
	} else {
		b.stats.Failed += n
		b.firstErr = cmpOr(b.firstErr, err)
	}
	b.stats.Batches++
	b.changedLocked()
}

// doneLocked tells the waiters on bt's root once every piece is settled.
func (b *Batcher) doneLocked(bt *batch) {
	root := bt.rootOf()
	if bt != root {
		close(bt.done)
	}
	if root.split != nil {
		if root.split.pieces--; root.split.pieces > 0 {
			return
		}
	}
	close(root.done)
}

// changedLocked wakes whoever waits for tokens to settle: blocked Adds,
// Close.
func (b *Batcher) changedLocked() {
	close(b.room)
	b.room = make(chan struct{})
}
