package main

import (
	"encoding/csv"
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
	"sync"
)

// csvOut is a CSV file of rows that did not make it (rejects or failures),
// each line led by the line of the input where the row starts, so that an
// operator finds it, and a resume can drop the lines of rows it will read
// again.
type csvOut struct {
	mu    sync.Mutex
	path  string
	f     *os.File
	w     *csv.Writer
	lines int
}

// openOut opens path, keeping from an earlier run only the lines of rows
// whose line keep accepts (none when keep is nil: starting over). The kept
// lines are copied to a new file that then replaces the old one, so that
// a kill meanwhile loses none. With path "" it writes nowhere.
func openOut(path string, header []string, keep func(line int64) bool) (*csvOut, error) {
	if path == "" {
		return &csvOut{w: csv.NewWriter(io.Discard)}, nil
	}
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return nil, err
	}
	o := &csvOut{path: path, f: f, w: csv.NewWriter(f)}
	_ = o.w.Write(header)
	if o.lines, err = copyKept(o.w, path, keep); err == nil {
		o.w.Flush()
		err = o.w.Error()
	}
	if err == nil {
		err = os.Rename(path+".tmp", path)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return o, nil
}

// copyKept writes the records of path whose line keep accepts to w, and
// returns how many. A kill can tear the file's last record; the lines of
// rows a checkpoint covers were on disk before it was saved, so a torn or
// partial record is never one of them: copying stops there.
func copyKept(w *csv.Writer, path string, keep func(int64) bool) (int, error) {
	if keep == nil {
		return 0, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return 0, nil // torn before its first record: nothing to keep
	}
	fields, n := len(header), 0
	for {
		rec, err := r.Read()
		if err != nil { // io.EOF, or a record torn by a kill
			return n, nil
		}
		if line, e := strconv.ParseInt(rec[0], 10, 64); e == nil && len(rec) == fields && keep(line) {
			if err := w.Write(rec); err != nil {
				return n, err
			}
			n++
		}
	}
}

func (o *csvOut) write(rec []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_ = o.w.Write(rec)
	o.lines++
}

// flush pushes the buffered lines to the file; a checkpoint is saved after.
func (o *csvOut) flush() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.w.Flush()
	return o.w.Error()
}

// close flushes and closes; a file without a line of data is removed.
func (o *csvOut) close() error {
	err := o.flush()
	if o.f == nil {
		return err
	}
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if o.lines == 0 {
		_ = os.Remove(o.path)
	}
	return err
}
