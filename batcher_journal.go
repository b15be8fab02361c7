package yespo

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// A Batcher with a journal (BatcherOptions.Journal) keeps every token it
// accepted on stable storage until Yespo accepted it or refused it for good.
// Its state is journalState, guarded by the Batcher's mu; the hooks in
// NewBatcher, add, finish, abandon, Flush, Close and Stats (each marked
// "journal hook") call into the batcher_journal*.go files and do nothing
// else: this one opens the journal, reclaims and appends; _hold settles,
// holds and parks batches; _close waits for them and closes.
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
	queue     []*appendReq   // Adds waiting for the next Append
	appender  bool           // appendLoop runs
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

// addJournaled is add with a journal: it mirrors add, and has t appended to
// the journal before it is queued. A twin of a pending token needs no
// append: the twin's entry stands for both.
//
// The Adds that arrive while an append is under way go into the next one
// together (appendLoop): one Journal.Append and one pass under the lock for
// all of them. An Add per Append made the callers of one journal commit,
// woken together, queue for the lock one by one, twice each, and the next
// commit left without them (a third of the throughput, measured).
func (b *Batcher) addJournaled(ctx context.Context, t Token) (*batch, error) {
	b.mu.Lock()
	if err := b.waitRoomLocked(ctx); err != nil {
		b.mu.Unlock()
		return nil, err
	}
	if twin := b.pending[t]; twin != nil {
		b.stats.Added++
		b.stats.Duplicates++
		b.mu.Unlock()
		return twin, nil
	}
	r := &appendReq{t: t, done: make(chan struct{})}
	b.jr.appending++
	b.jr.queue = append(b.jr.queue, r)
	if !b.jr.appender {
		b.jr.appender = true
		b.jr.ops.Add(1)
		go b.appendLoop()
	}
	b.mu.Unlock()
	select {
	case <-r.done:
		return r.bt, r.err
	case <-ctx.Done():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.settled { // meanwhile
		return r.bt, r.err
	}
	if i := slices.Index(b.jr.queue, r); i >= 0 { // not taken yet: withdraw it
		b.jr.queue = slices.Delete(b.jr.queue, i, i+1)
		b.jr.appending--
		return nil, ctx.Err()
	}
	r.gaveUp = true // in an append now: appendLoop takes it back
	return nil, ctx.Err()
}

// appendReq is one Add waiting for its token's append.
type appendReq struct {
	t       Token
	bt      *batch // the batch t joined (or its twin's), once appended
	err     error
	settled bool // bt or err is set (under the Batcher's mu)
	gaveUp  bool // the Add returned early: its entry is removed, not queued
	done    chan struct{}
}

// maxAppend bounds the tokens of one Journal.Append: a burst of a hundred
// thousand Adds is a hundred calls, not one that holds them all.
const maxAppend = 1000

// appendLoop appends what Adds queued, up to maxAppend tokens in one
// Journal.Append, until the queue is empty, and queues the tokens for
// sending.
func (b *Batcher) appendLoop() {
	defer b.jr.ops.Done()
	for {
		b.mu.Lock()
		n := min(len(b.jr.queue), maxAppend)
		reqs := b.jr.queue[:n:n] // a withdrawal below edits the rest, never these
		b.jr.queue = b.jr.queue[n:]
		if n == 0 {
			b.jr.appender = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		records := make([]JournalRecord, len(reqs))
		for i, r := range reqs {
			records[i] = JournalRecord{Token: r.t}
		}
		entries, err := b.jr.j.Append(b.jr.ctx, records)
		if err == nil && len(entries) != len(records) {
			err = fmt.Errorf("journal returned %d entries for %d tokens", len(entries), len(records))
		}
		var takeBack []JournalEntry
		b.mu.Lock()
		b.jr.appending -= len(reqs)
		for i, r := range reqs {
			r.settled = true
			switch {
			case err != nil:
				r.err = fmt.Errorf("yespo: batcher: journal: token not accepted: %w", err)
			case b.closed: // too late to send it: take it back, so that nobody does
				r.err = ErrBatcherClosed
				takeBack = append(takeBack, entries[i])
			case r.gaveUp:
				takeBack = append(takeBack, entries[i])
			default:
				r.bt = b.queueJournaledLocked(r.t, entries[i].ID)
			}
		}
		b.mu.Unlock()
		b.removeEntries(context.WithoutCancel(b.jr.ctx), takeBack)
		for _, r := range reqs {
			close(r.done)
		}
	}
}

// queueJournaledLocked queues t, whose journal entry is id, and returns its
// batch: its twin's if one got there first.
func (b *Batcher) queueJournaledLocked(t Token, id string) *batch {
	b.stats.Added++
	if twin := b.pending[t]; twin != nil { // another Add of t got here first
		b.stats.Duplicates++
		b.jr.ids[t] = append(b.jr.ids[t], id)
		return twin
	}
	b.jr.ids[t] = []string{id}
	return b.fillLocked(t)
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

// logJournal logs a warning, if the client has a logger.
func (b *Batcher) logJournal(msg string, err error, args ...any) {
	if l := b.c.logger; l != nil {
		l.Warn(msg, append([]any{"error", err}, args...)...)
	}
}

// appendingLocked counts Adds between their Append and their queueing: they
// take room under MaxPending too. 0 without a journal.
func (b *Batcher) appendingLocked() int {
	if b.jr == nil {
		return 0
	}
	return b.jr.appending
}
