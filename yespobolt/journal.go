package yespobolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/yespo-go/yespo"
)

// ErrClosed is returned by every method of a Journal after Close.
var ErrClosed = errors.New("yespobolt: journal closed")

// lockTimeout is how long Open waits for another holder of the file to
// let go: long enough for a process that is just exiting, short enough
// that a second process gets its error at once.
const lockTimeout = 200 * time.Millisecond

// The layout inside the bbolt file: a meta bucket saying what the file is
// and for whom, and an entries bucket keyed by an 8-byte big-endian
// sequence number, so that keys sort in the order tokens were appended.
var (
	metaBucket    = []byte("yespobolt")
	entriesBucket = []byte("entries")
	keyMagic      = []byte("magic")
	keyFormat     = []byte("format")
	keyApp        = []byte("app_uuid")
	keyBase       = []byte("base_url")
	magic         = []byte("yespo-go token journal")
)

// format is the journal layout this build writes; a file of a higher one is
// refused. entryFormat heads every entry's value.
const (
	format      = 1
	entryFormat = 1
)

// Journal is a yespo.Journal in one bbolt file, for a single process: pass
// it as yespo.BatcherOptions.Journal. Create it with Open and Close it after
// the Batcher's Close. Appends and removes that arrive together share one
// commit (one pair of fdatasync calls): a burst of Adds costs a few commits,
// not one per token.
type Journal struct {
	db   *bolt.DB
	path string

	commits atomic.Int64

	rmu       sync.Mutex // Reclaim's
	openSeq   uint64     // entries up to this sequence were left by earlier runs
	reclaimAt uint64     // the next sequence Reclaim looks at

	mu         sync.Mutex
	target     *yespo.JournalTarget
	queue      []*op // waiting for the next commit
	committing bool  // a commit loop runs
	loop       sync.WaitGroup
	closed     bool
	depth      int
}

// op is one Append or Remove waiting for its commit.
type op struct {
	tokens  []yespo.Token // Append
	ids     []uint64      // Remove
	entries []yespo.JournalEntry
	err     error
	done    chan struct{}
}

// Open opens the journal file at path, creating it with mode 0600 (it holds
// phone numbers and emails) if it does not exist. It refuses, with an error
// saying why and without writing to it, a file that is not a journal (not
// a bbolt file, or a bbolt file of something else), a truncated or damaged
// one, one of a newer format, and one another process (or another Journal
// in this one) has open: that error comes at once, not after a hang.
func Open(path string) (*Journal, error) {
	if err := checkFile(path); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("yespobolt: %s is in use by another process (or another Journal of this one); a journal has one writer", path)
	}
	if err != nil {
		return nil, fmt.Errorf("yespobolt: %s: %w", path, err)
	}
	j := &Journal{db: db, path: path}
	if err := j.init(); err != nil {
		db.Close()
		return nil, err
	}
	return j, nil
}

// init checks that the file is a journal of a format this build reads, or
// makes an empty bbolt file one, and counts what it holds.
func (j *Journal) init() error {
	var fresh bool
	err := j.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		if meta == nil {
			empty := true
			_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
			if !empty {
				return fmt.Errorf("yespobolt: %s is a bbolt file of something else, not a journal; refusing to open or overwrite it", j.path)
			}
			fresh = true
			return nil
		}
		if !bytes.Equal(meta.Get(keyMagic), magic) {
			return fmt.Errorf("yespobolt: %s is a bbolt file of something else, not a journal; refusing to open or overwrite it", j.path)
		}
		if f, err := strconv.Atoi(string(meta.Get(keyFormat))); err != nil || f > format {
			return fmt.Errorf("yespobolt: %s has journal format %q, this build reads up to %d (written by a newer version?); refusing to open it", j.path, meta.Get(keyFormat), format)
		}
		entries := tx.Bucket(entriesBucket)
		if entries == nil {
			return fmt.Errorf("yespobolt: %s is damaged: it has no entries bucket; refusing to open it", j.path)
		}
		j.depth = entries.Stats().KeyN
		j.openSeq = entries.Sequence()
		return nil
	})
	if err != nil || !fresh {
		return err
	}
	return j.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket(metaBucket)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucket(entriesBucket); err != nil {
			return err
		}
		if err := meta.Put(keyMagic, magic); err != nil {
			return err
		}
		return meta.Put(keyFormat, []byte(strconv.Itoa(format)))
	})
}

// Open binds the journal to target: a new journal records it, one that
// holds another fails with an error matching yespo.ErrJournalTarget that
// names both. It implements yespo.Journal; the Batcher calls it.
func (j *Journal) Open(ctx context.Context, target yespo.JournalTarget) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if j.isClosed() {
		return ErrClosed
	}
	err := j.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		app, base := meta.Get(keyApp), meta.Get(keyBase)
		if app == nil {
			if err := meta.Put(keyApp, []byte(target.AppUUID)); err != nil {
				return err
			}
			return meta.Put(keyBase, []byte(target.BaseURL))
		}
		if string(app) != target.AppUUID || string(base) != target.BaseURL {
			return fmt.Errorf("%w: %s holds tokens for app %s at %s, not for app %s at %s",
				yespo.ErrJournalTarget, j.path, app, base, target.AppUUID, target.BaseURL)
		}
		return nil
	})
	if err != nil {
		return err
	}
	j.mu.Lock()
	j.target = &target
	j.mu.Unlock()
	return nil
}

func (j *Journal) isClosed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.closed
}

// Append stores tokens and returns once they are committed to disk, one
// entry per token, in order. Calls that arrive while a commit is under way
// share the next one. It fails if the journal is closed, ctx ended before
// the tokens were taken into a commit, or the commit failed (a full disk):
// none of the tokens is kept then.
func (j *Journal) Append(ctx context.Context, tokens []yespo.Token) ([]yespo.JournalEntry, error) {
	o := &op{tokens: tokens}
	if err := j.submit(ctx, o); err != nil {
		return nil, err
	}
	return o.entries, nil
}

// Remove deletes entries by their ids, in one commit shared with any other
// Append and Remove waiting for one. An id that is gone already is no
// error; one this journal never made is.
func (j *Journal) Remove(ctx context.Context, ids []string) error {
	o := &op{ids: make([]uint64, len(ids))}
	for i, id := range ids {
		seq, err := strconv.ParseUint(id, 10, 64)
		if err != nil {
			return fmt.Errorf("yespobolt: remove: %q is not an entry id of this journal", id)
		}
		o.ids[i] = seq
	}
	return j.submit(ctx, o)
}

// submit queues o for the next commit, starting the commit loop if none
// runs, and waits for the commit. Once o is in a commit it waits for that
// commit to end whatever ctx does: the commit is short, and its outcome is
// what the caller must know.
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
		go j.commitLoop()
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
// into the next one. (Lingering for more callers before a commit was
// measured: it filled commits but did not raise throughput; see
// BENCHMARKS.md.)
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

// commit applies ops in one transaction and tells each its outcome.
func (j *Journal) commit(ops []*op) {
	now := time.Now()
	added, removed := 0, 0
	err := j.db.Update(func(tx *bolt.Tx) error {
		added, removed = 0, 0
		b := tx.Bucket(entriesBucket)
		for _, o := range ops {
			o.entries = o.entries[:0]
			for _, t := range o.tokens {
				seq, err := b.NextSequence()
				if err != nil {
					return err
				}
				val, err := encodeEntry(t, now)
				if err != nil {
					return err
				}
				if err := b.Put(seqKey(seq), val); err != nil {
					return err
				}
				o.entries = append(o.entries, yespo.JournalEntry{ID: strconv.FormatUint(seq, 10), Token: t, Added: now})
				added++
			}
			for _, seq := range o.ids {
				k := seqKey(seq)
				if b.Get(k) == nil {
					continue
				}
				if err := b.Delete(k); err != nil {
					return err
				}
				removed++
			}
		}
		return nil
	})
	j.commits.Add(1)
	if err != nil {
		err = fmt.Errorf("yespobolt: %s: commit: %w", j.path, err)
	} else {
		j.mu.Lock()
		j.depth += added - removed
		j.mu.Unlock()
	}
	for _, o := range ops {
		if o.err = err; err != nil {
			o.entries = nil
		}
		close(o.done)
	}
}

// Commits returns how many transactions Append and Remove committed so far:
// each is one pair of fdatasync calls (bbolt syncs the data, then the meta
// page). For measuring group commit.
func (j *Journal) Commits() int64 { return j.commits.Load() }

// Reclaim returns up to max entries that earlier runs left — there when
// Open ran, not removed since, and not returned by an earlier Reclaim — in
// the order they were appended; an empty slice when there are none left.
// An entry it cannot decode is an error naming it, never skipped.
func (j *Journal) Reclaim(ctx context.Context, max int) ([]yespo.JournalEntry, error) {
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
		for k, v := c.Seek(seqKey(next)); k != nil && len(out) < max; k, v = c.Next() {
			seq := binary.BigEndian.Uint64(k)
			if seq > j.openSeq {
				break
			}
			e, err := decodeEntry(seq, v)
			if err != nil {
				return err
			}
			out = append(out, e)
			next = seq + 1
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) < max { // nothing more below openSeq
		next = j.openSeq + 1
	}
	j.reclaimAt = next
	return out, nil
}

// Stats returns how many entries the journal holds and when the oldest was
// appended. It fails only once the journal is closed, or on a damaged
// entry.
func (j *Journal) Stats(ctx context.Context) (yespo.JournalStats, error) {
	if err := ctx.Err(); err != nil {
		return yespo.JournalStats{}, err
	}
	j.mu.Lock()
	closed, depth := j.closed, j.depth
	j.mu.Unlock()
	if closed {
		return yespo.JournalStats{}, ErrClosed
	}
	st := yespo.JournalStats{Depth: depth}
	err := j.db.View(func(tx *bolt.Tx) error {
		k, v := tx.Bucket(entriesBucket).Cursor().First()
		if k == nil {
			return nil
		}
		e, err := decodeEntry(binary.BigEndian.Uint64(k), v)
		st.Oldest = e.Added
		return err
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
	return j.db.Close()
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

// encodeEntry is an entry's value: its format, when it was appended, and
// the token as JSON.
func encodeEntry(t yespo.Token, added time.Time) ([]byte, error) {
	js, err := json.Marshal(t)
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
		return e, fmt.Errorf("yespobolt: entry %d has an unknown format; refusing to skip it", seq)
	}
	e.Added = time.Unix(0, int64(binary.BigEndian.Uint64(v[1:9])))
	if err := json.Unmarshal(v[9:], &e.Token); err != nil {
		return e, fmt.Errorf("yespobolt: entry %d is damaged: %w", seq, err)
	}
	return e, nil
}
