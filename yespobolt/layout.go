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

// init checks that the file is a journal of a format this build reads, and
// that every entry decodes and their count is the one the journal keeps, or
// makes an empty bbolt file a journal. It writes nothing to a file it
// refuses.
func (j *Journal) init() error {
	var fresh, counted bool
	err := j.db.View(func(tx *bolt.Tx) error {
		j.openTx = tx.ID()
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
		n := uint64(0)
		err := entries.ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				return fmt.Errorf("yespobolt: %s is damaged: a key of %d bytes among its entries; refusing to open it", j.path, len(k))
			}
			if _, err := decodeEntry(keySeq(k), v); err != nil {
				return fmt.Errorf("yespobolt: %s: %w; refusing to open it", j.path, err)
			}
			n++
			return nil
		})
		if err != nil {
			return err
		}
		d := meta.Get(keyDepth)
		counted = d != nil
		if counted && (len(d) != 8 || binary.BigEndian.Uint64(d) != n) {
			return fmt.Errorf("yespobolt: %s is damaged: its count of entries (%x) is not the %d it holds (pages lost or overwritten? restore it from a backup); refusing to open it", j.path, d, n)
		}
		j.openSeq = entries.Sequence()
		j.reclaimAt = 1
		return nil
	})
	if err != nil || (!fresh && counted) {
		return err
	}
	return j.db.Update(func(tx *bolt.Tx) error {
		if !fresh { // 0.3.0 kept no count: it is n, checked above
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
