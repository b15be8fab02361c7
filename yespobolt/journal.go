package yespobolt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/yespo-go/yespo"
)

var _ yespo.Journal = (*Journal)(nil)

// ErrClosed is returned by every method of a Journal after Close.
var ErrClosed = errors.New("yespobolt: journal closed")

// FileName is the bbolt file a journal directory holds.
const FileName = "journal.db"

// lockTimeout is how long Open waits for another holder of the file to
// let go (bbolt's Options.Timeout; without one bbolt waits forever): long
// enough for a process that is just exiting, short enough that a second
// process gets its error at once.
const lockTimeout = 200 * time.Millisecond

// Journal is a yespo.Journal in one directory on local disk, for a single
// process: pass it as yespo.BatcherOptions.Journal. Create it with Open and
// Close it after the Batcher's Close.
//
// Each Append is one bbolt transaction, committed with two fdatasync calls
// (the data pages, then the meta page); Removes waiting at that moment go
// into the same transaction, and calls that arrive while one commits go
// together into the next. The Batcher itself puts all the Adds that arrived
// while one Append ran into the next Append.
type Journal struct {
	db     *bolt.DB
	dir    string
	path   string // the bbolt file
	log    *slog.Logger
	openTx int // bbolt's transaction id at Open: Commits counts from it

	rmu       sync.Mutex // Reclaim's
	openSeq   uint64     // entries up to this sequence were left by earlier runs
	reclaimAt uint64     // the next sequence Reclaim looks at

	mu         sync.Mutex
	target     *yespo.JournalTarget
	queue      []*op // waiting for the next commit
	committing bool  // a commit loop runs
	loop       sync.WaitGroup
	closed     bool
}

// op is one Append or Remove waiting for its commit.
type op struct {
	records []yespo.JournalRecord // Append
	ids     []uint64              // Remove
	entries []yespo.JournalEntry
	err     error
	done    chan struct{}
}

// Option configures Open.
type Option func(*options)

type options struct {
	logger *slog.Logger
}

// WithLogger sets the logger that gets the one Warn record of a journal
// re-bound to another target (see Journal.Open). Default slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// Open opens the journal in directory dir, creating the directory with mode
// 0700 and its bbolt file with 0600 (they hold phone numbers and emails)
// when dir does not exist or is empty. It refuses, with an error saying why
// and without writing to it, a path that is a file, a directory of
// something else, a file that is not a journal (not a bbolt file, or a
// bbolt file of something else), a truncated or damaged one (Open reads
// every entry once and checks the count the journal keeps), one of a newer
// format, and one another process (or another Journal in this one) has
// open: that error comes at once, not after a hang.
func Open(dir string, opts ...Option) (*Journal, error) {
	o := options{logger: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	path := filepath.Join(dir, FileName)
	if err := prepareDir(dir); err != nil {
		return nil, err
	}
	if err := checkFile(path); err != nil {
		return nil, err
	}
	f := found{fresh: true}
	if info, err := os.Stat(path); err == nil && info.Size() > 0 { // read-only first: nothing is written to a file refused
		ro, err := openDB(dir, path, &bolt.Options{Timeout: lockTimeout, ReadOnly: true})
		if err != nil {
			return nil, err
		}
		f, err = inspect(path, ro)
		if cerr := ro.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("yespobolt: %s: %w", dir, cerr)
		}
		if err != nil {
			return nil, err
		}
	}
	db, err := openDB(dir, path, &bolt.Options{Timeout: lockTimeout, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, err
	}
	j := &Journal{db: db, dir: dir, path: path, log: o.logger}
	if err := j.setup(f); err != nil {
		db.Close()
		return nil, fmt.Errorf("yespobolt: %s: %w", dir, err)
	}
	return j, nil
}

// openDB is bolt.Open, with another holder of the file's lock said plainly.
func openDB(dir, path string, o *bolt.Options) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, o)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("yespobolt: %s is in use by another process (or another Journal of this one); a journal has one writer", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("yespobolt: %s: %w", dir, err)
	}
	return db, nil
}

// Open binds the journal to target. A new journal records it. One bound to
// another target that holds no tokens is re-bound to target, with one Warn
// record naming both. One that holds tokens fails with an error matching
// yespo.ErrJournalTarget that names both targets and says how many tokens
// it holds and what to do: run against their target to deliver them, or
// remove the directory to drop them. It implements yespo.Journal; the
// Batcher calls it.
func (j *Journal) Open(ctx context.Context, target yespo.JournalTarget) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j.mu.Lock()
	closed, opened := j.closed, j.target
	j.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if opened != nil && *opened != target { // one Batcher at a time, one target
		return fmt.Errorf("%w: %s was opened for app %s at %s, not for app %s at %s",
			yespo.ErrJournalTarget, j.dir, opened.AppUUID, opened.BaseURL, target.AppUUID, target.BaseURL)
	}
	var was *yespo.JournalTarget
	rebind := func(tx *bolt.Tx) error { // a View first: a journal already bound costs no commit
		app, base, depth := bound(tx)
		switch {
		case app == nil:
		case string(app) == target.AppUUID && string(base) == target.BaseURL:
			return errBound
		case depth == 0:
			was = &yespo.JournalTarget{AppUUID: string(app), BaseURL: string(base)}
		default:
			return fmt.Errorf("%w: %s holds %d token(s) for app %s at %s, not for app %s at %s; "+
				"to deliver them, run against app %s at %s until the journal is empty; to drop them, remove %s",
				yespo.ErrJournalTarget, j.dir, depth, app, base, target.AppUUID, target.BaseURL, app, base, j.dir)
		}
		if !tx.Writable() {
			return nil
		}
		meta := tx.Bucket(metaBucket)
		if err := meta.Put(keyApp, []byte(target.AppUUID)); err != nil {
			return err
		}
		return meta.Put(keyBase, []byte(target.BaseURL))
	}
	err := j.db.View(rebind)
	if err == nil {
		was = nil
		err = j.db.Update(rebind)
		if err != nil && !errors.Is(err, errBound) && !errors.Is(err, yespo.ErrJournalTarget) {
			err = fmt.Errorf("yespobolt: %s: recording the target: %w", j.dir, err)
		}
	}
	if errors.Is(err, errBound) {
		err = nil
	}
	if err != nil {
		return err
	}
	if was != nil {
		j.log.Warn("yespobolt: the journal held no tokens for its target; re-bound to this one",
			"journal", j.dir, "from_app", was.AppUUID, "from_base_url", was.BaseURL,
			"app", target.AppUUID, "base_url", target.BaseURL)
	}
	j.mu.Lock()
	j.target = &target
	j.mu.Unlock()
	return nil
}

// errBound is Open's signal that the journal is bound to its target already.
var errBound = errors.New("bound already")

func (j *Journal) isClosed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.closed
}

// Append stores records and returns once they are committed to disk, one
// entry per record, in order: one bbolt transaction, shared with the
// Removes waiting for one. It fails if the journal is closed or not bound
// yet, ctx ended before the records were taken into a commit, or the commit
// failed (a full disk: the file system's words): none of the records is
// kept then.
func (j *Journal) Append(ctx context.Context, records []yespo.JournalRecord) ([]yespo.JournalEntry, error) {
	if len(records) == 0 {
		return []yespo.JournalEntry{}, nil
	}
	o := &op{records: records}
	if err := j.submit(ctx, o); err != nil {
		return nil, err
	}
	return o.entries, nil
}

// Remove deletes entries by their ids, in one commit shared with any other
// Append and Remove waiting for one. An id that is gone already is no
// error; one that is not an id of this journal is.
func (j *Journal) Remove(ctx context.Context, ids []string) error {
	o := &op{ids: make([]uint64, len(ids))}
	for i, id := range ids {
		seq, err := strconv.ParseUint(id, 10, 64)
		if err != nil {
			return fmt.Errorf("yespobolt: remove: %q is not an entry id of this journal", id)
		}
		o.ids[i] = seq
	}
	if len(ids) == 0 {
		return nil
	}
	return j.submit(ctx, o)
}

// submit queues o for the next commit and waits for the commit. When no
// commit runs, the caller commits what is queued itself (the Batcher's one
// Append at a time costs no hand-over to another goroutine), and leaves
// what queued meanwhile to a commit loop. Once o is in a commit it waits
// for that commit to end whatever ctx does: the commit is short, and its
// outcome is what the caller must know.
func (j *Journal) submit(ctx context.Context, o *op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.done = make(chan struct{})
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return ErrClosed
	}
	if j.target == nil {
		j.mu.Unlock()
		return errors.New("yespobolt: journal used before Open bound it to a target")
	}
	j.queue = append(j.queue, o)
	if !j.committing {
		j.committing = true
		j.loop.Add(1)
		ops := j.queue
		j.queue = nil
		j.mu.Unlock()
		j.commit(ops)
		j.mu.Lock()
		if len(j.queue) > 0 {
			go j.commitLoop() // it carries on with j.loop's count
		} else {
			j.committing = false
			j.loop.Done()
		}
		j.mu.Unlock()
		return o.err
	}
	j.mu.Unlock()
	select {
	case <-o.done:
		return o.err
	case <-ctx.Done():
	}
	j.mu.Lock()
	for i, q := range j.queue {
		if q == o { // not taken yet: withdraw it
			j.queue = append(j.queue[:i], j.queue[i+1:]...)
			j.mu.Unlock()
			return ctx.Err()
		}
	}
	j.mu.Unlock()
	<-o.done
	return o.err
}

// commitLoop commits whatever is queued, one transaction at a time, until
// the queue is empty: the calls that arrive during a commit go together
// into the next one. It runs with j.committing set and j.loop counted.
func (j *Journal) commitLoop() {
	defer j.loop.Done()
	for {
		j.mu.Lock()
		ops := j.queue
		j.queue = nil
		if len(ops) == 0 {
			j.committing = false
			j.mu.Unlock()
			return
		}
		j.mu.Unlock()
		j.commit(ops)
	}
}

// commitHook, when set (by tests), runs before each commit: a barrier that
// holds a commit while others queue.
var commitHook func()

// commit applies ops in one transaction, with the depth counter, and tells
// each its outcome.
func (j *Journal) commit(ops []*op) {
	if commitHook != nil {
		commitHook()
	}
	now := time.Now()
	err := j.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(entriesBucket)
		delta := 0
		for _, o := range ops {
			o.entries = o.entries[:0]
			for _, r := range o.records {
				seq, err := b.NextSequence()
				if err != nil {
					return err
				}
				val, err := encodeEntry(r, now)
				if err != nil {
					return err
				}
				if err := b.Put(seqKey(seq), val); err != nil {
					return err
				}
				o.entries = append(o.entries, yespo.JournalEntry{ID: strconv.FormatUint(seq, 10), Token: r.Token, Payload: r.Payload, Added: now})
				delta++
			}
			for _, seq := range o.ids {
				k := seqKey(seq)
				if b.Get(k) == nil { // gone already, or removed twice in this commit
					continue
				}
				if err := b.Delete(k); err != nil {
					return err
				}
				delta--
			}
		}
		return addDepth(tx, delta)
	})
	if err != nil {
		err = fmt.Errorf("yespobolt: %s: commit: %w", j.dir, err)
	}
	for _, o := range ops {
		if o.err = err; err != nil {
			o.entries = nil
		}
		close(o.done)
	}
}

// Commits returns how many transactions bbolt committed since Open (its own
// transaction counter): each is two fdatasync calls, one for the data
// pages and one for the meta page. For measuring group commit.
func (j *Journal) Commits() int64 {
	var n int
	_ = j.db.View(func(tx *bolt.Tx) error { n = tx.ID(); return nil })
	return int64(n - j.openTx)
}

// DB returns the bbolt database, for its statistics (DB.Stats); writing to
// it directly breaks the journal.
func (j *Journal) DB() *bolt.DB { return j.db }

// Reclaim returns up to limit entries that earlier runs left — there when
// Open ran, not removed since, and not returned by an earlier Reclaim — in
// the order they were appended; an empty slice when there are none left.
// An entry it cannot decode is an error naming it, never skipped.
func (j *Journal) Reclaim(ctx context.Context, limit int) ([]yespo.JournalEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	j.rmu.Lock() // one Reclaim at a time: it moves reclaimAt
	defer j.rmu.Unlock()
	if j.isClosed() {
		return nil, ErrClosed
	}
	out := []yespo.JournalEntry{}
	next := j.reclaimAt
	err := j.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(entriesBucket).Cursor()
		for k, v := c.Seek(seqKey(next)); k != nil && len(out) < limit; k, v = c.Next() {
			seq := keySeq(k)
			if seq > j.openSeq {
				break
			}
			e, err := decodeEntry(seq, v)
			if err != nil {
				return fmt.Errorf("yespobolt: %s: %w", j.dir, err)
			}
			out = append(out, e)
			next = seq + 1
		}
		return nil
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

// Stats returns how many entries the journal holds (the count kept in the
// same transactions as the entries) and when the oldest was appended (the
// first key, found by a cursor seek, not a scan). It fails once the journal
// is closed, and on a damaged oldest entry.
func (j *Journal) Stats(ctx context.Context) (yespo.JournalStats, error) {
	if err := ctx.Err(); err != nil {
		return yespo.JournalStats{}, err
	}
	if j.isClosed() {
		return yespo.JournalStats{}, ErrClosed
	}
	var st yespo.JournalStats
	err := j.db.View(func(tx *bolt.Tx) error {
		_, _, depth := bound(tx)
		st.Depth = int(depth)
		k, v := tx.Bucket(entriesBucket).Cursor().First()
		if k == nil {
			return nil
		}
		e, err := decodeEntry(keySeq(k), v)
		if err != nil {
			return fmt.Errorf("yespobolt: %s: %w", j.dir, err)
		}
		st.Oldest = e.Added
		return nil
	})
	return st, err
}

// Close waits for the commit under way, if any, and closes the file. Later
// calls of any method return ErrClosed; Close itself returns nil then.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	j.mu.Unlock()
	j.loop.Wait()
	j.mu.Lock()
	for _, o := range j.queue { // queued behind the last commit: never taken
		o.err = ErrClosed
		close(o.done)
	}
	j.queue = nil
	j.mu.Unlock()
	if err := j.db.Close(); err != nil {
		return fmt.Errorf("yespobolt: %s: close: %w", j.dir, err)
	}
	return nil
}
