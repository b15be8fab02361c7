package yespobolt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// prepareDir makes dir a private directory for the journal's file if it is
// missing or empty, and checks that it is a journal's otherwise. It refuses
// a file and a directory of something else, writing nothing to them.
func prepareDir(dir string) error {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("yespobolt: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("yespobolt: %w", err)
	case !info.IsDir():
		if isBoltFile(dir) { // 0.3.0's journal was the file itself
			return fmt.Errorf("yespobolt: %s is a file: a journal is now a directory holding its file %s; refusing to open or overwrite it "+
				"(to keep a 0.3.0 journal, move it in: mv %[1]s %[1]s.old && mkdir -m 0700 %[1]s && mv %[1]s.old %[1]s/%[2]s)", dir, FileName)
		}
		return fmt.Errorf("yespobolt: %s is a file, not a journal (a journal is a directory); refusing to open or overwrite it", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("yespobolt: %w", err)
	}
	if len(entries) == 0 {
		if err := os.Chmod(dir, 0o700); err != nil { // it will hold phones and emails
			return fmt.Errorf("yespobolt: %w", err)
		}
		return nil
	}
	if _, err := os.Lstat(filepath.Join(dir, FileName)); err != nil {
		if _, err := os.Lstat(filepath.Join(dir, "YESPO-JOURNAL")); err == nil {
			return fmt.Errorf("yespobolt: %s is a Pebble journal (yespopebble, a development build); refusing to open or write to it: deliver its tokens with the build that wrote it, then remove it", dir)
		}
		return fmt.Errorf("yespobolt: %s is a directory of something else, not a journal (it has no %s); refusing to open or write to it", dir, FileName)
	}
	return nil
}

// isBoltFile says whether path starts as a bbolt file does.
func isBoltFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	m, ok := readMeta(f, 0)
	return ok && m.magic == boltMagic
}
