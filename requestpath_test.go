package yespo_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The request path is read top to bottom: what a Batcher needs from an
// attempt reaches it as an argument (caller in retry.go), never through a
// value hidden in the context. No library file of the package reads one.
func TestNoContextValueOnRequestPath(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for i, line := range strings.Split(string(src), "\n") {
			if strings.Contains(line, ".Value(") || strings.Contains(line, "context.WithValue") {
				t.Errorf("%s:%d: a context value on the request path: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d library files found: run from the package directory", checked)
	}
}
