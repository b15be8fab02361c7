package yespobolt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/yespo-go/yespo"
)

// The layout inside the bbolt file: a meta bucket saying what the file is,
// for whom, and how many entries it holds, and an entries bucket keyed by
// an 8-byte big-endian sequence number, so that keys sort in the order the
// entries were appended. It is 0.3.0's yespobolt layout plus the depth key
// (counted once when missing) and the payload beside an entry's token.
var (
	metaBucket    = []byte("yespobolt")
	entriesBucket = []byte("entries")
	keyMagic      = []byte("magic")
	keyFormat     = []byte("format")
	keyApp        = []byte("app_uuid")
	keyBase       = []byte("base_url")
	keyDepth      = []byte("depth") // 8 bytes big-endian: the entries held
	magic         = []byte("yespo-go token journal")
)

// format is the journal layout this build writes; a file of a higher one is
// refused. entryFormat heads every entry's value.
const (
	format      = 1
	entryFormat = 1
)

// found is what inspect learnt of a file.
type found struct {
	fresh   bool   // no journal in it yet: an empty bbolt file
	counted bool   // it keeps the count of its entries (0.3.0's did not)
	openSeq uint64 // the last sequence handed out
}

// inspect checks, read-only, that the bbolt file at path is a journal of a
// format this build reads, that every entry decodes and that their number is
// the count the journal keeps. It reads every page of the journal's tree on
// the caller's goroutine, so that a damaged page is an error here, not a
// panic of bbolt's when it opens the file for writing (bbolt checks the
// pages it rebuilds its freelist from on a goroutine of its own, where a
// damaged one crashes the process).
func inspect(path string, db *bolt.DB) (f found, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yespobolt: %s is damaged (bbolt: %v); refusing to open it (restore it from a backup)", path, r)
		}
	}()
	err = db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		if meta == nil {
			empty := true
			_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
			if !empty {
				return fmt.Errorf("yespobolt: %s is a bbolt file of something else, not a journal; refusing to open or overwrite it", path)
			}
			f.fresh = true
			return nil
		}
		if !bytes.Equal(meta.Get(keyMagic), magic) {
			return fmt.Errorf("yespobolt: %s is a bbolt file of something else, not a journal; refusing to open or overwrite it", path)
		}
		if v, err := strconv.Atoi(string(meta.Get(keyFormat))); err != nil || v > format {
			return fmt.Errorf("yespobolt: %s has journal format %q, this build reads up to %d (written by a newer version?); refusing to open it", path, meta.Get(keyFormat), format)
		}
		entries := tx.Bucket(entriesBucket)
		if entries == nil {
			return fmt.Errorf("yespobolt: %s is damaged: it has no entries bucket; refusing to open it", path)
		}
		n := uint64(0)
		err := entries.ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				return fmt.Errorf("yespobolt: %s is damaged: a key of %d bytes among its entries; refusing to open it", path, len(k))
			}
			if _, err := decodeEntry(keySeq(k), v); err != nil {
				return fmt.Errorf("yespobolt: %s: %w; refusing to open it", path, err)
			}
			n++
			return nil
		})
		if err != nil {
			return err
		}
		d := meta.Get(keyDepth)
		f.counted = d != nil
		if f.counted && (len(d) != 8 || binary.BigEndian.Uint64(d) != n) {
			return fmt.Errorf("yespobolt: %s is damaged: its count of entries (%x) is not the %d it holds (pages lost or overwritten? restore it from a backup); refusing to open it", path, d, n)
		}
		f.openSeq = entries.Sequence()
		return nil
	})
	return f, err
}

// setup makes an empty bbolt file a journal, or records the count of a
// 0.3.0 journal's entries (checked by inspect), and notes where Commits
// counts from.
func (j *Journal) setup(f found) error {
	j.openSeq, j.reclaimAt = f.openSeq, 1
	if err := j.db.View(func(tx *bolt.Tx) error { j.openTx = tx.ID(); return nil }); err != nil {
		return err
	}
	if !f.fresh && f.counted {
		return nil
	}
	return j.db.Update(func(tx *bolt.Tx) error {
		if !f.fresh { // 0.3.0 kept no count: it is what inspect counted
			return addDepth(tx, 0)
		}
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
		if err := meta.Put(keyFormat, []byte(strconv.Itoa(format))); err != nil {
			return err
		}
		return meta.Put(keyDepth, binary.BigEndian.AppendUint64(nil, 0))
	})
}

// bound returns the target the journal holds (nil when none) and its
// depth: the count kept in the meta bucket, or, in a 0.3.0 file before
// its first commit, the entries counted.
func bound(tx *bolt.Tx) (app, base []byte, depth uint64) {
	meta := tx.Bucket(metaBucket)
	if d := meta.Get(keyDepth); len(d) == 8 {
		depth = binary.BigEndian.Uint64(d)
	} else {
		depth = uint64(tx.Bucket(entriesBucket).Stats().KeyN)
	}
	return meta.Get(keyApp), meta.Get(keyBase), depth
}

// addDepth moves the count of entries by delta, in tx.
func addDepth(tx *bolt.Tx, delta int) error {
	_, _, depth := bound(tx)
	return tx.Bucket(metaBucket).Put(keyDepth, binary.BigEndian.AppendUint64(nil, uint64(int64(depth)+int64(delta))))
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

func keySeq(k []byte) uint64 {
	return binary.BigEndian.Uint64(k)
}

// entryJSON is an entry's record as JSON: the token's fields, and the
// payload beside them only when there is one, so that an entry without one
// reads as 0.3.0 wrote it.
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
