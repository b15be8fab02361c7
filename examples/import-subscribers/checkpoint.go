package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// checkpoint says how far an import got: every row up to Row (ending at
// byte Offset) is sent, or written to the rejects or failed file; Done
// counts them, over every run of this file, so that the run that finishes
// it can report on the whole file. The input file's size and time guard
// against resuming over a different file.
type checkpoint struct {
	Row       int64     `json:"row"`
	Offset    int64     `json:"offset"`
	Done      counts    `json:"done"`
	InputSize int64     `json:"inputSize"`
	InputTime time.Time `json:"inputModTime"`
}

// counts is what became of rows.
type counts struct {
	Sent     int64 `json:"sent"`
	Failed   int64 `json:"failed"`
	Rejected int64 `json:"rejected"`
}

func (c counts) plus(d counts) counts {
	return counts{c.Sent + d.Sent, c.Failed + d.Failed, c.Rejected + d.Rejected}
}

func (c counts) total() int64 { return c.Sent + c.Failed + c.Rejected }

// loadCheckpoint returns the checkpoint at path, the zero checkpoint when
// there is none, or an error when it belongs to another version of input.
func loadCheckpoint(path string, input fs.FileInfo) (checkpoint, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return checkpoint{}, nil
	}
	if err != nil {
		return checkpoint{}, err
	}
	var cp checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return checkpoint{}, fmt.Errorf("%s is damaged (%v): delete it to start over", path, err)
	}
	if cp.InputSize != input.Size() || !cp.InputTime.Equal(input.ModTime()) {
		return checkpoint{}, fmt.Errorf("the input changed since %s was written: delete it to start over", path)
	}
	return cp, nil
}

// save writes cp atomically: a kill at any moment leaves the old or the new
// checkpoint, never half of one.
func (cp checkpoint) save(path string) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
