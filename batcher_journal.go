package yespo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// A Batcher with a journal (BatcherOptions.Journal) keeps every token it
// accepted on stable storage until Yespo accepted it or refused it for good.
// Its state is journalState, guarded by the Batcher's mu; the hooks in
// NewBatcher, add, finish, abandon, Flush, Close and Stats call into this
// file and do nothing else.
//
// A batch that fails in a way no retry of the client fixed — an outage, a
// 429 or 5xx after the client's retries, a transport error, a 401, 403 or
// 404 the operator must fix — is held: not finished, not counted Failed,
// its tokens kept in memory and in the journal. One held batch at a time
// goes out again as a probe, on a growing interval; the first success
// releases them all. While closing, a failed batch is parked instead: left
// in the journal for the next Batcher on it.

// The probe interval of held batches: it starts at probeFirst and doubles up
// to probeMaxTransient (Yespo may come back any second) or, while the cause
// is one the operator must fix, probeMaxOperator.
const (
	probeFirst        = 100 * time.Millisecond
	probeMaxTransient = 2 * time.Second
	probeMaxOperator  = 30 * time.Second
	// reclaimEvery is how often an idle Batcher asks the journal again for
	// entries no live writer holds: a shared journal's dead replica leaves
	// some at any time.
	reclaimEvery = 10 * time.Second
	// reclaimChunk bounds one Reclaim call, so that a large MaxPending does
	// not make one call (and NewBatcher) read the whole journal at once.
	reclaimChunk = 10_000
	// journalOpenTimeout bounds Open and the first Reclaim in NewBatcher,
	// which has no ctx; journalCleanupTimeout bounds the calls Close makes.
	journalOpenTimeout    = time.Minute
	journalCleanupTimeout = 10 * time.Second
)

// journalState is what the Batcher knows of its journal.
type journalState struct {
	j       Journal
	ctx     context.Context // every journal call's; cancelled once Close is done with the journal
	cancel  context.CancelFunc
	ids     map[Token][]string  // entry ids of each pending token: several when a twin was journaled twice
	held    []*batch            // failed for now, in the order they failed: the first is the next probe
	where   map[*batch]struct{} // held or parked batches
	changed chan struct{}       // closed and replaced when a batch is held or parked
	failed  map[*batch]struct{} // failed for now and not settled since: held, or out again
	parked  int                 // tokens of batches left in the journal for the next Batcher
	heldN   int                 // tokens of failed batches: Stats.Held while running
	cause   error               // the last failure that held a batch
	probe   *time.Timer
	armed   bool // the probe timer runs
	backoff time.Duration
	holding bool // an outage is on: logged once when it begins and when it ends

	appending int            // Adds between their Append and their queueing
	ops       sync.WaitGroup // journal calls in progress; Add(1) only under mu while !closing
	closing   bool           // Close is done with the journal: no new calls
	reclaimer chan struct{}  // closed when the reclaim loop returns
	final     JournalStats   // what the journal held when Close returned
}

// openJournal binds the journal to the Batcher's app and base URL, takes
// what earlier runs left (up to MaxPending) and starts the loop that takes
// the rest as room frees. On error the Batcher is not usable.
func (b *Batcher) openJournal() error {
	jr := &journalState{
		j: b.opts.Journal, ids: map[Token][]string{}, where: map[*batch]struct{}{}, failed: map[*batch]struct{}{},
		changed: make(chan struct{}), backoff: probeFirst, reclaimer: make(chan struct{}),
	}
	jr.ctx, jr.cancel = context.WithCancel(context.Background())
	jr.probe = time.AfterFunc(time.Hour, b.probeDue)
	jr.probe.Stop()
	b.jr = jr
	ctx, cancel := context.WithTimeout(jr.ctx, journalOpenTimeout)
	defer cancel()
	if err := jr.j.Open(ctx, JournalTarget{AppUUID: b.app, BaseURL: b.c.BaseURL()}); err != nil {
		jr.cancel()
		return fmt.Errorf("yespo: batcher: journal: %w", err)
	}
	more, err := b.reclaim(ctx)
	if err != nil {
		jr.cancel()
		return fmt.Errorf("yespo: batcher: journal: reclaim: %w", err)
	}
	go b.reclaimLoop(more)
	return nil
}

// reclaim asks the journal for as many entries as there is room for and
// queues them ahead of new tokens. It reports whether the journal may hold
// more.
func (b *Batcher) reclaim(ctx context.Context) (bool, error) {
	b.mu.Lock()
	room := min(b.opts.MaxPending-b.pendingLocked()-b.jr.appending, reclaimChunk)
	b.mu.Unlock()
	if room <= 0 {
		return true, nil
	}
	entries, err := b.jr.j.Reclaim(ctx, room)
	if err != nil {
		return false, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var fresh []*batch
	for _, e := range entries {
		b.stats.Reclaimed++
		if twin := b.pending[e.Token]; twin != nil {
			b.stats.Duplicates++
			b.jr.ids[e.Token] = append(b.jr.ids[e.Token], e.ID)
			continue
		}
		if len(fresh) == 0 || len(fresh[len(fresh)-1].tokens) >= b.opts.MaxBatch {
			fresh = append(fresh, b.newBatch())
		}
		bt := fresh[len(fresh)-1]
		bt.tokens = append(bt.tokens, e.Token)
		b.pending[e.Token] = bt
		b.jr.ids[e.Token] = []string{e.ID}
	}
	for _, bt := range fresh {
		b.unfinished[bt] = struct{}{}
	}
	b.ready = append(fresh, b.ready...) // what earlier runs left goes first
	b.wake.Broadcast()
	return len(entries) == room, nil
}

// reclaimLoop keeps reclaiming while the journal may hold more and there is
// room, and looks again every reclaimEvery, until Close.
func (b *Batcher) reclaimLoop(more bool) {
	defer close(b.jr.reclaimer)
	for {
		wait := reclaimEvery
		if more {
			b.mu.Lock()
			room := b.room
			full := b.pendingLocked()+b.jr.appending >= b.opts.MaxPending
			b.mu.Unlock()
			if full {
				select {
				case <-room:
				case <-b.jr.ctx.Done():
					return
				}
				continue
			}
			wait = 0
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-b.jr.ctx.Done():
				t.Stop()
				return
			}
		}
		var err error
		if more, err = b.reclaim(b.jr.ctx); err != nil && b.jr.ctx.Err() == nil {
			b.logJournal("yespo: batcher: journal reclaim failed; trying again", err)
		}
	}
}

// addJournaled is add with a journal: it mirrors add, and appends t to the
// journal, outside the lock, before queueing it. A twin of a pending token
// needs no append: the twin's entry stands for both.
func (b *Batcher) addJournaled(ctx context.Context, t Token) (*batch, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for !b.closed && b.pendingLocked()+b.jr.appending >= b.opts.MaxPending {
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
	if twin := b.pending[t]; twin != nil {
		b.stats.Added++
		b.stats.Duplicates++
		return twin, nil
	}
	b.jr.appending++
	b.jr.ops.Add(1)
	defer b.jr.ops.Done()
	b.mu.Unlock()
	entries, err := b.appendOne(ctx, t)
	b.mu.Lock()
	b.jr.appending--
	if err != nil {
		return nil, fmt.Errorf("yespo: batcher: journal: token not accepted: %w", err)
	}
	if b.closed { // too late to send it: take it back, so that nobody does
		b.mu.Unlock()
		b.removeEntries(context.WithoutCancel(b.jr.ctx), entries)
		b.mu.Lock()
		return nil, ErrBatcherClosed
	}
	b.stats.Added++
	ids := entryIDs(entries)
	if twin := b.pending[t]; twin != nil { // another Add of t got here first
		b.stats.Duplicates++
		b.jr.ids[t] = append(b.jr.ids[t], ids...)
		return twin, nil
	}
	b.jr.ids[t] = ids
	f := b.filling
	f.tokens = append(f.tokens, t)
	b.pending[t] = f
	switch {
	case len(f.tokens) >= b.opts.MaxBatch:
		b.cutLocked()
	case !b.flushArmed:
		b.flushArmed = true
		b.flush.Reset(b.opts.FlushInterval)
	}
	return f, nil
}

// appendOne appends t, giving up when ctx or the journal's context ends.
func (b *Batcher) appendOne(ctx context.Context, t Token) ([]JournalEntry, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(b.jr.ctx, cancel)
	defer stop()
	entries, err := b.jr.j.Append(ctx, []Token{t})
	if err == nil && len(entries) != 1 {
		err = fmt.Errorf("journal returned %d entries for 1 token", len(entries))
	}
	return entries, err
}

// removeEntries removes entries, bounded in time; a failure leaves them to
// be sent again by the next Batcher on the journal, and is logged.
func (b *Batcher) removeEntries(ctx context.Context, entries []JournalEntry) {
	b.removeIDs(ctx, entryIDs(entries))
}

func (b *Batcher) removeIDs(ctx context.Context, ids []string) {
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, journalCleanupTimeout)
	defer cancel()
	if err := b.jr.j.Remove(ctx, ids); err != nil {
		b.logJournal("yespo: batcher: journal remove failed; these tokens will be sent again by the next batcher on the journal", err, "tokens", len(ids))
	}
}

func entryIDs(entries []JournalEntry) []string {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	return ids
}

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
	b.mu.Unlock()
	b.removeIDs(b.jr.ctx, ids)
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

// logJournal logs a warning, if the client has a logger.
func (b *Batcher) logJournal(msg string, err error, args ...any) {
	if l := b.c.logger; l != nil {
		l.Warn(msg, append([]any{"error", err}, args...)...)
	}
}
