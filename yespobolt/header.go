package yespobolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
)

// bbolt memory-maps the file and trusts what its meta pages say: a file
// cut short after them makes it read beyond the end of the mapping and
// crash. checkFile reads the two meta pages itself first and refuses what
// bbolt must not be handed.

// The bbolt file format (go.etcd.io/bbolt internal/common): two meta pages
// at the start, each a 16-byte page header, then the meta.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	pageHeaderSize = 16
	metaSize       = 64 // magic, version, pageSize, flags, root(16), freelist, pgid, txid, checksum
	minPageSize    = 1024
	maxPageSize    = 64 << 10
)

// boltMeta is what checkFile reads of a meta page.
type boltMeta struct {
	magic, version, pageSize uint32
	pgid, txid               uint64 // pgid: the high-water mark, in pages
	valid                    bool   // checksum matches
}

// readMeta decodes the meta at off, or returns ok false when the file ends
// before it.
func readMeta(f *os.File, off int64) (boltMeta, bool) {
	buf := make([]byte, pageHeaderSize+metaSize)
	if _, err := f.ReadAt(buf, off); err != nil {
		return boltMeta{}, false
	}
	m := buf[pageHeaderSize:]
	le := binary.NativeEndian // bbolt writes its structs from memory, in the machine's byte order
	h := fnv.New64a()
	h.Write(m[:56])
	return boltMeta{
		magic: le.Uint32(m[0:]), version: le.Uint32(m[4:]), pageSize: le.Uint32(m[8:]),
		pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:]),
		valid: h.Sum64() == le.Uint64(m[56:]),
	}, true
}

// checkFile refuses a file bbolt must not open: one that is not a bbolt
// file, one of a newer bbolt format, one whose meta pages are both damaged,
// and one shorter than its meta page says (truncated). A missing or empty
// file is fine: bbolt creates the journal in it.
func checkFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("yespobolt: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("yespobolt: %w", err)
	}
	size := info.Size()
	if !info.Mode().IsRegular() {
		return fmt.Errorf("yespobolt: %s is not a regular file", path)
	}
	if size == 0 {
		return nil
	}
	m0, ok := readMeta(f, 0)
	if !ok {
		return fmt.Errorf("yespobolt: %s is not a journal, or is truncated (%d bytes; refusing to open or overwrite it)", path, size)
	}
	if m0.magic != boltMagic {
		return fmt.Errorf("yespobolt: %s is not a journal (not a bbolt file; refusing to open or overwrite it)", path)
	}
	if m0.version != boltVersion {
		return fmt.Errorf("yespobolt: %s has bbolt format %d, this build reads %d (written by a newer version?); refusing to open it", path, m0.version, boltVersion)
	}
	best := m0
	pageSize := int64(m0.pageSize)
	if !m0.valid || pageSize < minPageSize || pageSize > maxPageSize {
		pageSize = int64(os.Getpagesize()) // as bbolt guesses when meta 0 is damaged
	}
	if m1, ok := readMeta(f, pageSize); ok && m1.magic == boltMagic && m1.valid && (!best.valid || m1.txid > best.txid) {
		best = m1
	}
	if !best.valid {
		return fmt.Errorf("yespobolt: %s: both meta pages are damaged; refusing to open or overwrite it", path)
	}
	if need := int64(best.pgid) * int64(best.pageSize); size < need {
		return fmt.Errorf("yespobolt: %s is truncated: %d bytes, its header says at least %d; refusing to open or overwrite it (restore it from a backup)", path, size, need)
	}
	return nil
}
