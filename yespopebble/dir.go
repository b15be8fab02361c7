package yespopebble

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A journal is a directory that Pebble keeps its files in, marked as a
// journal by a small file of ours. The mark is checked before Pebble is
// let near the directory, so that a directory of something else is never
// written to, and a journal of a newer layout is never read as this one.
//
// The mark also says whether the journal was closed cleanly, and how many
// entries it held then. A log or manifest cut short reads, to Pebble, like
// the end a crash leaves; after a clean Close the count tells a journal
// whose files were cut short or lost (a copy that stopped half way) from a
// whole one.

// markName is the file that says a directory is a journal, and of which
// layout; markHead is its first line.
const (
	markName = "YESPO-JOURNAL"
	markHead = "yespo-go token journal"
)

// format is the journal layout this build writes; a journal of a higher
// one is refused. entryFormat heads every entry's value.
const (
	format      = 1
	entryFormat = 1
)

// state is what the mark says of the last run: it closed cleanly holding
// depth entries, or it never closed (a crash, or it runs).
type state struct {
	closed bool
	depth  int
}

func (s state) String() string {
	if s.closed {
		return "closed " + strconv.Itoa(s.depth)
	}
	return "open"
}

// prepareDir makes dir a journal if it is missing or empty, and checks that
// it is one otherwise. fresh says that it holds no Pebble store yet. It
// refuses a file that is not a directory, a directory of something else
// and a journal of a newer layout, writing nothing to them.
func prepareDir(dir string) (fresh bool, last state, err error) {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, last, fmt.Errorf("yespopebble: %w", err)
		}
		return true, last, mark(dir, state{})
	case err != nil:
		return false, last, fmt.Errorf("yespopebble: %w", err)
	case !info.IsDir():
		return false, last, fmt.Errorf("yespopebble: %s is a file, not a journal (a journal is a directory); refusing to open or overwrite it", dir)
	}
	names, err := list(dir)
	if err != nil {
		return false, last, err
	}
	if len(names) == 0 || len(names) == 1 && names[0] == markName+".tmp" { // empty, or a crash in its first mark
		if err := os.Chmod(dir, 0o700); err != nil { // it will hold phones and emails
			return false, last, fmt.Errorf("yespopebble: %w", err)
		}
		return true, last, mark(dir, state{})
	}
	text, err := os.ReadFile(filepath.Join(dir, markName))
	if errors.Is(err, os.ErrNotExist) {
		return false, last, fmt.Errorf("yespopebble: %s is a directory of something else, not a journal (it has no %s); refusing to open or write to it", dir, markName)
	}
	if err != nil {
		return false, last, fmt.Errorf("yespopebble: %w", err)
	}
	if last, err = readMark(dir, string(text)); err != nil {
		return false, last, err
	}
	for _, n := range names {
		if n != markName && n != markName+".tmp" && n != "LOCK" {
			return false, last, nil
		}
	}
	return true, last, nil // marked, but Pebble never got to create its store
}

func list(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("yespopebble: %w", err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// readMark reads a mark, refusing one that is not ours or names a newer
// layout.
func readMark(dir, text string) (state, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if lines[0] != markHead {
		return state{}, fmt.Errorf("yespopebble: %s is not a journal (its %s is not one of ours); refusing to open or write to it", dir, markName)
	}
	damaged := fmt.Errorf("yespopebble: %s is damaged: its %s says %q; refusing to open it", dir, markName, text)
	if len(lines) < 2 {
		return state{}, damaged
	}
	v, ok := strings.CutPrefix(lines[1], "format ")
	f, err := strconv.Atoi(v)
	if !ok || err != nil {
		return state{}, damaged
	}
	if f > format {
		return state{}, fmt.Errorf("yespopebble: %s has journal format %d, this build reads up to %d (written by a newer version?); refusing to open it", dir, f, format)
	}
	if len(lines) != 3 {
		return state{}, damaged
	}
	if lines[2] == "open" {
		return state{}, nil
	}
	v, ok = strings.CutPrefix(lines[2], "closed ")
	n, err := strconv.Atoi(v)
	if !ok || err != nil || n < 0 {
		return state{}, damaged
	}
	return state{closed: true, depth: n}, nil
}

// mark writes the mark into dir: to a temporary name first and renamed, so
// that a crash leaves a whole mark, old or new.
func mark(dir string, s state) error {
	tmp := filepath.Join(dir, markName+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("yespopebble: %w", err)
	}
	_, err = fmt.Fprintf(f, "%s\nformat %d\n%s\n", markHead, format, s)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, markName))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("yespopebble: writing the mark of %s: %w", dir, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
