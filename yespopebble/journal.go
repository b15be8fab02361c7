package yespopebble

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/yespo-go/yespo"
)

// ErrClosed is returned by every method of a Journal after Close.
var ErrClosed = errors.New("yespopebble: journal closed")

// Keys: the target under "m/", each entry under 'e' and its 8-byte
// big-endian sequence number, so that entries sort in the order they were
// appended.
var (
	keyApp  = []byte("m/app_uuid")
	keyBase = []byte("m/base_url")
)

const entryPrefix = 'e'

// Journal is a yespo.Journal in one directory on local disk, for a single
// process: pass it as yespo.BatcherOptions.Journal. Create it with Open and
// Close it after the Batcher's Close.
//
// Each Append is one Pebble batch, written to Pebble's log with one
// fdatasync; Appends made at the same time share a sync. (The Batcher
// itself puts all the Adds that arrived while one Append ran into the
// next.) Remove does not wait for a sync: the next Append's, or Close,
// makes it durable, and one lost to a power cut only means a token is sent
// twice.
type Journal struct {
	db    *pebble.DB
	lock  *pebble.Lock
	dir   string
	syncs atomic.Int64

	seq     atomic.Uint64 // the last sequence number handed out
	openSeq uint64        // entries up to this one were left by earlier runs

	rmu       sync.Mutex // Reclaim's: it moves reclaimAt
	reclaimAt uint64

	dmu sync.Mutex // Remove's: it looks before it deletes, to keep depth exact

	mu     sync.Mutex
	target *yespo.JournalTarget
	closed bool
	broken error // a failed commit: Pebble cannot go on
	depth  int
	calls  sync.WaitGroup // calls under way, which Close waits for
}

// Open opens the journal in directory dir, creating it with mode 0700 (it
// holds phone numbers and emails; its files are 0600) when it does not
// exist or is empty. It refuses, with an error saying why and without
// writing to it, a file that is not a directory, a directory of something
// else, a journal of a newer format, a damaged one (a truncated or corrupt
// file Pebble finds while Open reads every entry), and one another process
// (or another Journal in this one) has open: that error comes at once, not
// after a hang.
func Open(dir string) (*Journal, error) {
	fresh, last, err := prepareDir(dir)
	if err != nil {
		return nil, err
	}
	j := &Journal{dir: dir}
	fs := privateFS{FS: vfs.Default, syncs: &j.syncs}
	if j.lock, err = pebble.LockDirectory(dir, fs); err != nil {
		return nil, fmt.Errorf("yespopebble: %s is in use by another process (or another Journal of this one); a journal has one writer (%v)", dir, err)
	}
	opts := func(readOnly bool) *pebble.Options {
		return &pebble.Options{FS: fs, Lock: j.lock, Logger: pebbleLogger{}, ReadOnly: readOnly, ErrorIfNotExists: !fresh}
	}
	if !fresh { // read it all without writing first: a damaged journal is refused as it is
		err = j.load(opts(true))
		if err == nil && last.closed && j.depth != last.depth {
			err = fmt.Errorf("yespopebble: %s is damaged: it held %d entries when it was closed, Pebble reads %d (a file cut short or lost? restore it from a backup); refusing to open it", dir, last.depth, j.depth)
		}
		if err != nil {
			j.lock.Close()
			return nil, err
		}
	}
	if j.db, err = openDB(dir, opts(false)); err == nil {
		err = mark(dir, state{}) // open: until Close says otherwise
	}
	if err != nil {
		if j.db != nil {
			j.db.Close()
		}
		j.lock.Close()
		return nil, err
	}
	j.seq.Store(j.openSeq)
	return j, nil
}

// openDB is pebble.Open with its failures, fatal ones included, as errors
// that name the directory.
func openDB(dir string, o *pebble.Options) (db *pebble.DB, err error) {
	defer recoverFatal(&err)
	db, err = pebble.Open(dir, o)
	if err != nil {
		return nil, fmt.Errorf("yespopebble: %s is damaged or not a journal; refusing to open it: %w", dir, err)
	}
	return db, nil
}

// load reads a journal read-only: its target is checked later, by Open,
// and every entry is decoded here once, so that a damaged one is an error
// now, not when the Batcher comes to it. It records depth and openSeq.
func (j *Journal) load(o *pebble.Options) (err error) {
	db, err := openDB(j.dir, o)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("yespopebble: %s: %w", j.dir, cerr)
		}
	}()
	defer recoverFatal(&err)
	return scan(db, 0, func(seq uint64, v []byte) (bool, error) {
		if _, err := decodeEntry(seq, v); err != nil {
			return false, fmt.Errorf("yespopebble: %s: %w", j.dir, err)
		}
		j.depth++
		j.openSeq = seq
		return true, nil
	})
}

// scan calls f for each entry from sequence from on, in order, while f
// returns true.
func scan(db *pebble.DB, from uint64, f func(seq uint64, v []byte) (bool, error)) error {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: entryKey(from), UpperBound: []byte{entryPrefix + 1}})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		more, err := f(binary.BigEndian.Uint64(it.Key()[1:]), it.Value())
		if err != nil || !more {
			it.Close()
			return err
		}
	}
	return it.Close() // with the iterator's error, if any
}

// begin admits a call unless the journal is closed or broken; end must
// follow.
func (j *Journal) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case j.closed:
		return ErrClosed
	case j.broken != nil:
		return j.broken
	}
	j.calls.Add(1)
	return nil
}

func (j *Journal) end() { j.calls.Done() }

// Open binds the journal to target: a new journal records it, one that
// holds another fails with an error matching yespo.ErrJournalTarget that
// names both. It implements yespo.Journal; the Batcher calls it.
func (j *Journal) Open(ctx context.Context, target yespo.JournalTarget) (err error) {
	if err := j.begin(ctx); err != nil {
		return err
	}
	defer j.end()
	defer j.recoverFatal(&err)
	app, err := j.get(keyApp)
	if err != nil {
		return err
	}
	base, err := j.get(keyBase)
	if err != nil {
		return err
	}
	if app == nil {
		b := j.db.NewBatch()
		defer b.Close()
		_ = b.Set(keyApp, []byte(target.AppUUID), nil)
		_ = b.Set(keyBase, []byte(target.BaseURL), nil)
		if err := j.db.Apply(b, pebble.Sync); err != nil {
			return fmt.Errorf("yespopebble: %s: %w", j.dir, err)
		}
	} else if string(app) != target.AppUUID || string(base) != target.BaseURL {
		return fmt.Errorf("%w: %s holds tokens for app %s at %s, not for app %s at %s",
			yespo.ErrJournalTarget, j.dir, app, base, target.AppUUID, target.BaseURL)
	}
	j.mu.Lock()
	j.target = &target
	j.mu.Unlock()
	return nil
}

// get returns a copy of the value at key, or nil when there is none.
func (j *Journal) get(key []byte) ([]byte, error) {
	v, closer, err := j.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("yespopebble: %s: %w", j.dir, err)
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// Append stores records and returns once they are synced to disk, one entry
// per record, in order: one Pebble batch, one sync of its log (Appends that
// arrive while one syncs are synced together, by Pebble). It fails if the
// journal is closed or not bound yet, ctx is done before it starts, or the
// write failed (a full disk): none of the tokens is kept then, and after a
// failed write the journal refuses every call (Pebble cannot go on; reopen
// it once the disk has room).
func (j *Journal) Append(ctx context.Context, records []yespo.JournalRecord) (_ []yespo.JournalEntry, err error) {
	if err := j.begin(ctx); err != nil {
		return nil, err
	}
	defer j.end()
	if !j.bound() {
		return nil, errors.New("yespopebble: journal used before Open bound it to a target")
	}
	defer j.recoverFatal(&err)
	now := time.Now()
	first := j.seq.Add(uint64(len(records))) - uint64(len(records)) + 1
	b := j.db.NewBatch()
	defer b.Close()
	entries := make([]yespo.JournalEntry, len(records))
	for i, r := range records {
		seq := first + uint64(i)
		val, err := encodeEntry(r, now)
		if err != nil {
			return nil, err
		}
		_ = b.Set(entryKey(seq), val, nil) // a Set on an open batch fails only for a closed DB
		entries[i] = yespo.JournalEntry{ID: strconv.FormatUint(seq, 10), Token: r.Token, Payload: r.Payload, Added: now}
	}
	if err := j.db.Apply(b, pebble.Sync); err != nil {
		return nil, fmt.Errorf("yespopebble: %s: append: %w", j.dir, err)
	}
	j.mu.Lock()
	j.depth += len(records)
	j.mu.Unlock()
	return entries, nil
}

func (j *Journal) bound() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.target != nil
}

// Remove deletes entries by their ids. It does not wait for a sync (see
// Journal). An id that is gone already is no error; one this journal never
// made is.
func (j *Journal) Remove(ctx context.Context, ids []string) (err error) {
	seqs := make([]uint64, len(ids))
	for i, id := range ids {
		seq, err := strconv.ParseUint(id, 10, 64)
		if err != nil {
			return fmt.Errorf("yespopebble: remove: %q is not an entry id of this journal", id)
		}
		seqs[i] = seq
	}
	if err := j.begin(ctx); err != nil {
		return err
	}
	defer j.end()
	defer j.recoverFatal(&err)
	j.dmu.Lock() // between the look and the delete, nobody else removes
	defer j.dmu.Unlock()
	b := j.db.NewBatch()
	defer b.Close()
	removed := 0
	seen := make(map[uint64]bool, len(seqs))
	for _, seq := range seqs {
		k := entryKey(seq)
		if seen[seq] {
			continue
		}
		v, err := j.get(k)
		if err != nil {
			return err
		}
		if v == nil { // gone already, or never here
			continue
		}
		seen[seq] = true
		_ = b.Delete(k, nil)
		removed++
	}
	if removed == 0 {
		return nil
	}
	if err := j.db.Apply(b, pebble.NoSync); err != nil {
		return fmt.Errorf("yespopebble: %s: remove: %w", j.dir, err)
	}
	j.mu.Lock()
	j.depth -= removed
	j.mu.Unlock()
	return nil
}

// Syncs returns how many syncs (fdatasync or fsync calls) the journal has
// asked of the disk since Open: Pebble's log, plus its occasional flushes
// to table files. For measuring group commit.
func (j *Journal) Syncs() int64 { return j.syncs.Load() }

// Reclaim returns up to limit entries that earlier runs left — there when
// Open ran, not removed since, and not returned by an earlier Reclaim — in
// the order they were appended; an empty slice when there are none left.
// An entry it cannot decode is an error naming it, never skipped.
func (j *Journal) Reclaim(ctx context.Context, limit int) (_ []yespo.JournalEntry, err error) {
	if err := j.begin(ctx); err != nil {
		return nil, err
	}
	defer j.end()
	defer j.recoverFatal(&err)
	j.rmu.Lock()
	defer j.rmu.Unlock()
	out := []yespo.JournalEntry{}
	next := max(j.reclaimAt, 1)
	err = scan(j.db, next, func(seq uint64, v []byte) (bool, error) {
		if seq > j.openSeq || len(out) == limit {
			return false, nil
		}
		e, err := decodeEntry(seq, v)
		if err != nil {
			return false, fmt.Errorf("yespopebble: %s: %w", j.dir, err)
		}
		out = append(out, e)
		next = seq + 1
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) < limit { // nothing more up to openSeq
		next = j.openSeq + 1
	}
	j.reclaimAt = next
	return out, nil
}

// Stats returns how many entries the journal holds and when the oldest was
// appended. It fails once the journal is closed, and on a damaged entry.
func (j *Journal) Stats(ctx context.Context) (st yespo.JournalStats, err error) {
	if err := j.begin(ctx); err != nil {
		return st, err
	}
	defer j.end()
	defer j.recoverFatal(&err)
	j.mu.Lock()
	st.Depth = j.depth
	j.mu.Unlock()
	err = scan(j.db, 0, func(seq uint64, v []byte) (bool, error) {
		e, err := decodeEntry(seq, v)
		st.Oldest = e.Added
		return false, err
	})
	return st, err
}

// Close waits for the calls under way and closes the journal: it moves what
// the log holds into Pebble's table files and records in the mark how many
// entries the journal holds, which the next Open checks. Later calls of any
// method return ErrClosed; Close itself returns nil then. After a failed
// write (see Append) Close returns that error and releases nothing: Pebble
// cannot close cleanly then, and the process should end.
func (j *Journal) Close() (err error) {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	j.mu.Unlock()
	j.calls.Wait()
	if j.broken != nil {
		return j.broken
	}
	defer func() {
		if lerr := j.lock.Close(); err == nil && lerr != nil {
			err = fmt.Errorf("yespopebble: %s: %w", j.dir, lerr)
		}
	}()
	defer recoverFatal(&err)
	ferr := j.db.Flush()
	if err := j.db.Close(); err != nil {
		return fmt.Errorf("yespopebble: %s: close: %w", j.dir, err)
	}
	if ferr != nil {
		return fmt.Errorf("yespopebble: %s: close: %w", j.dir, ferr)
	}
	return mark(j.dir, state{closed: true, depth: j.depth})
}

// recoverFatal turns Pebble's fatal panic (see fatal) into *err and marks
// the journal broken: Pebble's commit pipeline cannot go on after it.
func (j *Journal) recoverFatal(err *error) {
	if r := recover(); r != nil {
		f, ok := r.(fatal)
		if !ok {
			panic(r)
		}
		*err = fmt.Errorf("yespopebble: %s: %w", j.dir, f)
		j.mu.Lock()
		j.broken = *err
		j.mu.Unlock()
	}
}

// recoverFatal is Journal.recoverFatal before there is a Journal.
func recoverFatal(err *error) {
	if r := recover(); r != nil {
		f, ok := r.(fatal)
		if !ok {
			panic(r)
		}
		*err = f
	}
}

func entryKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{entryPrefix}, seq)
}

// entryJSON is an entry's record as JSON: the token's fields, and the
// payload beside them only when there is one, so that an entry without one
// reads as it did before payloads existed.
type entryJSON struct {
	yespo.Token
	Payload []byte `json:"payload,omitempty"`
}

// encodeEntry is an entry's value: its format, when it was appended, and
// the record as JSON.
func encodeEntry(r yespo.JournalRecord, added time.Time) ([]byte, error) {
	js, err := json.Marshal(entryJSON{r.Token, r.Payload})
	if err != nil {
		return nil, err
	}
	v := []byte{entryFormat}
	v = binary.BigEndian.AppendUint64(v, uint64(added.UnixNano()))
	return append(v, js...), nil
}

func decodeEntry(seq uint64, v []byte) (yespo.JournalEntry, error) {
	e := yespo.JournalEntry{ID: strconv.FormatUint(seq, 10)}
	if len(v) < 9 || v[0] != entryFormat {
		return e, fmt.Errorf("entry %d has an unknown format; refusing to skip it", seq)
	}
	e.Added = time.Unix(0, int64(binary.BigEndian.Uint64(v[1:9])))
	var rec entryJSON
	if err := json.Unmarshal(v[9:], &rec); err != nil {
		return e, fmt.Errorf("entry %d is damaged: %w", seq, err)
	}
	e.Token, e.Payload = rec.Token, rec.Payload
	return e, nil
}
