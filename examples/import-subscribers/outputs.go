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
// whose line keep accepts (none when keep is nil: starting over). With path
// "" it writes nowhere.
func openOut(path string, header []string, keep func(line int64) bool) (*csvOut, error) {
	if path == "" {
		return &csvOut{w: csv.NewWriter(io.Discard)}, nil
	}
	kept, err := keptLines(path, keep)
	if err != nil {
		return nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	o := &csvOut{path: path, f: f, w: csv.NewWriter(f)}
	if err := o.w.Write(header); err != nil {
		f.Close()
		return nil, err
	}
	for _, rec := range kept {
		_ = o.w.Write(rec)
	}
	o.lines = len(kept)
	return o, o.w.Error()
}

// keptLines reads the records of path whose line keep accepts.
func keptLines(path string, keep func(int64) bool) ([][]string, error) {
	if keep == nil {
		return nil, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	var kept [][]string
	for first := true; ; first = false {
		rec, err := r.Read()
		if err == io.EOF {
			return kept, nil
		}
		if err != nil {
			return nil, err
		}
		if n, e := strconv.ParseInt(rec[0], 10, 64); !first && e == nil && keep(n) {
			kept = append(kept, rec)
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
