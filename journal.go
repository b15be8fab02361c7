package yespo

import (
	"context"
	"errors"
	"time"

	"github.com/yespo-go/yespo/internal/engine"
)

// ErrJournalTarget matches the error a Journal returns from Open when it
// was made for another app or base URL and still holds tokens: tokens
// journaled against a fake or a staging app must never be replayed into
// production. The error names both targets, says how many tokens the
// journal holds, and how to deliver them (run against their target) or drop
// them (remove the journal's storage).
var ErrJournalTarget = errors.New("yespo: journal belongs to another target")

// JournalTarget is what a journal's tokens are for: they are replayed only
// to the same app at the same API root.
type JournalTarget struct {
	AppUUID string // the app_uuid, canonical form
	BaseURL string // the client's API root, as Client.BaseURL returns it
}

// JournalRecord is what Journal.Append stores: a token and, optionally,
// bytes the Batcher keeps with it (a follow-up event, see
// Batcher.AddWithEvent) and gets back, unchanged, from Reclaim.
type JournalRecord struct {
	Token   Token
	Payload []byte // nil when there is none; opaque to the journal
}

// JournalEntry is one token a journal holds.
type JournalEntry struct {
	ID      string    // the journal's own, opaque identifier
	Token   Token     // as Add accepted it
	Payload []byte    // as Append was given it: nil or the stored bytes
	Added   time.Time // when it was appended
}

// JournalStats is how much a journal holds.
type JournalStats struct {
	Depth  int       // entries held: appended and not yet removed
	Oldest time.Time // Added of the oldest entry held; zero when empty
}

// Journal keeps the tokens a Batcher accepted on stable storage until Yespo
// accepted them or refused them for good (BatcherOptions.Journal). An
// embedded one for a single process lives in
// github.com/yespo-go/yespo/yespobolt; one shared by replicas, on Redis
// Streams, in github.com/yespo-go/yespo/yesporedis.
//
// How the Batcher uses it: Open once in NewBatcher; Reclaim, up to the room
// MaxPending leaves, before anything is sent and again as room frees (and
// every few seconds, for a shared journal's dead replicas); Append from one
// goroutine at a time, with the tokens of all the Adds that arrived while
// the previous Append ran (a burst of Adds is a few calls, each one sync);
// Remove once a batch is settled for good;
// Stats in the background (at most every 2 seconds while Batcher.Stats is
// called), from Batcher.StatsContext, and at Close. The Batcher stores a
// record's payload and hands it back with its entry; it never reads it. After Batcher.Close returns it calls
// nothing more. Delivery is at least once: an entry Yespo accepted and a
// crash kept from Remove is sent again by the next Batcher.
//
// A Journal is used by one Batcher at a time in a process; several
// processes may share one (replicas) when the implementation says so. The
// Batcher never closes it: whoever opened it closes it after Batcher.Close.
// Every method must be safe for concurrent use and return early with an
// error when ctx is done.
type Journal interface {
	// Open binds the journal to target, recording it in a new journal. A
	// journal made for another target that holds no entries is re-bound to
	// target, and says so in one log record naming both. One that holds
	// entries fails with an error matching ErrJournalTarget that names both
	// targets and how many tokens it holds, and says what to do: run against
	// their target to deliver them, or remove the journal's storage (a
	// directory, a key) to drop them. It fails with another clear error
	// when the storage is not usable.
	Open(ctx context.Context, target JournalTarget) error
	// Append stores records and returns only once they are on stable
	// storage: one entry per record, in order, each with its token and
	// payload. Concurrent calls may share one sync (group commit). On
	// error none of the records may be counted as kept (a full disk is an
	// error, never a silent drop).
	Append(ctx context.Context, records []JournalRecord) ([]JournalEntry, error)
	// Remove deletes entries that are settled for good: accepted by
	// Yespo, or refused by it for good. Removing an entry that is gone
	// already is not an error.
	Remove(ctx context.Context, ids []string) error
	// Reclaim hands this writer up to max entries that no live writer
	// holds: those an earlier run left (a crash, a deploy, a Close whose
	// ctx ran out) or, for a shared journal, a dead replica. An entry it
	// returned, or that Append returned, is not returned again by this
	// writer's Reclaim. It returns an empty slice when there is nothing to
	// hand over.
	Reclaim(ctx context.Context, max int) ([]JournalEntry, error)
	// Stats returns how much the journal holds.
	Stats(ctx context.Context) (JournalStats, error)
}

// journalOf is a Journal as the engine uses it.
type journalOf struct{ j Journal }

func (a journalOf) Append(ctx context.Context, records []engine.Record[Token]) ([]engine.Entry[Token], error) {
	recs := make([]JournalRecord, len(records))
	for i, r := range records {
		recs[i] = JournalRecord{Token: r.Item, Payload: r.Payload}
	}
	entries, err := a.j.Append(ctx, recs)
	return entriesOf(entries), err
}

func (a journalOf) Remove(ctx context.Context, ids []string) error { return a.j.Remove(ctx, ids) }
func (a journalOf) Reclaim(ctx context.Context, max int) ([]engine.Entry[Token], error) {
	entries, err := a.j.Reclaim(ctx, max)
	return entriesOf(entries), err
}
func (a journalOf) Stats(ctx context.Context) (engine.JournalStats, error) {
	st, err := a.j.Stats(ctx)
	return engine.JournalStats{Depth: st.Depth, Oldest: st.Oldest}, err
}

func entriesOf(entries []JournalEntry) []engine.Entry[Token] {
	out := make([]engine.Entry[Token], len(entries))
	for i, e := range entries {
		out[i] = engine.Entry[Token]{ID: e.ID, Item: e.Token, Payload: e.Payload, Added: e.Added}
	}
	return out
}
