package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// checkpointVersion is the format this tool writes and resumes. Version 1
// (before it) recorded neither the app nor the base URL: resuming one for
// another app would skip rows, so it is refused.
const checkpointVersion = 2

// checkpoint says what an import was for and how far it got: the rows of
// the spans Prefix and Spans are done — sent, rejected or failed — and
// Done counts their outcomes over every run of the file, so that the run
// that finishes it reports on the whole file. A resume reads from
// Prefix.End and skips the rows in Spans.
type checkpoint struct {
	Version int      `json:"version"`
	Target  target   `json:"target"`
	Input   identity `json:"input"`
	Prefix  span     `json:"prefix"`
	Spans   []span   `json:"spans,omitempty"`
	Done    counts   `json:"done"`
}

// target is where the rows go.
type target struct {
	AppUUID string `json:"appUUID"`
	BaseURL string `json:"baseURL"`
}

// fakeBaseURL stands for the in-process fake in a -fake run's checkpoint.
const fakeBaseURL = "the in-process fake Yespo (-fake)"

func (t target) String() string {
	if t.AppUUID == "" { // -fake without -app: a new app in every run
		return "a new app at " + t.BaseURL
	}
	return "app " + t.AppUUID + " at " + t.BaseURL
}

// identity tells one version of an input file from another.
type identity struct {
	Size    int64     `json:"size"`
	ModTime time.Time `json:"modTime"`
	Head    string    `json:"sha256Head"` // SHA-256 of its first 64 KiB
}

func (id identity) String() string {
	return fmt.Sprintf("%d bytes, modified %s", id.Size, id.ModTime.Format(time.RFC3339))
}

// identify returns the identity of the file at path.
func identify(path string) (identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return identity{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return identity{}, err
	}
	if info.IsDir() {
		return identity{}, fmt.Errorf("%s is a directory", path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, 64<<10)); err != nil {
		return identity{}, err
	}
	return identity{Size: info.Size(), ModTime: info.ModTime().UTC(), Head: hex.EncodeToString(h.Sum(nil))}, nil
}

// counts is what became of rows.
type counts struct {
	Sent     int64 `json:"sent"`
	Failed   int64 `json:"failed"`
	Rejected int64 `json:"rejected"`
}

func (c counts) total() int64 { return c.Sent + c.Failed + c.Rejected }

func (c counts) String() string {
	return fmt.Sprintf("%d rows sent, %d failed, %d rejected", c.Sent, c.Failed, c.Rejected)
}

// startOver is how a refused resume ends: the ways to start over.
func startOver(path string) string {
	return fmt.Sprintf("to start over from the first row, run with -restart (or delete %s)", path)
}

// loadCheckpoint returns the checkpoint at path, nil when there is none, or
// an error when it is for another target or another version of the input:
// resuming it would skip rows this run's target never got.
func loadCheckpoint(path string, want target, input identity) (*checkpoint, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cp checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v): %s", path, err, startOver(path))
	}
	switch {
	case cp.Version != checkpointVersion:
		return nil, fmt.Errorf("%s was written by an earlier version of import-subscribers, which did not record the app it imported into, so it cannot be resumed safely: %s (Yespo keeps a token once: rows sent again are not doubled)", path, startOver(path))
	case cp.Target != want:
		return nil, fmt.Errorf("%s is an unfinished import of this file into %s, but this run is for %s: resuming would skip the rows already sent to the other. Run again for %s to finish that import, or %s", path, cp.Target, want, cp.Target, startOver(path))
	case cp.Input.Size != input.Size || cp.Input.Head != input.Head || !cp.Input.ModTime.Equal(input.ModTime):
		return nil, fmt.Errorf("the input changed since %s was written (then %s; now %s): %s", path, cp.Input, input, startOver(path))
	}
	return &cp, nil
}

// save writes cp atomically: a kill at any moment leaves the old or the new
// checkpoint, never half of one.
func (cp *checkpoint) save(path string) error {
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
