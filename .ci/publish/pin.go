package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
)

// pin rewrites m's go.mod so that it requires every workspace module it
// requires at version, and replaces none of them: what a user's go command
// reads, since it ignores go.work and, outside the main module, replace.
func pin(repo string, m module, mods []module, version string) error {
	name := filepath.Join(repo, filepath.FromSlash(m.Dir), "go.mod")
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	mf, err := modfile.Parse(name, data, nil)
	if err != nil {
		return err
	}
	for _, w := range mods {
		for _, r := range mf.Require {
			if r.Mod.Path == w.Path && r.Mod.Version != version {
				if err := mf.AddRequire(w.Path, version); err != nil {
					return err
				}
			}
		}
		for _, r := range mf.Replace {
			if r.Old.Path == w.Path {
				if err := mf.DropReplace(r.Old.Path, r.Old.Version); err != nil {
					return err
				}
			}
		}
	}
	mf.Cleanup()
	out, err := mf.Format()
	if err != nil {
		return err
	}
	if !bytes.Equal(out, data) {
		if err := os.WriteFile(name, out, 0o644); err != nil {
			return err
		}
	}
	return dropSums(filepath.Join(filepath.Dir(name), "go.sum"), mods)
}

// dropSums removes the lines of workspace modules from a go.sum: they hold
// the hashes of the checkout as it was at the last tidy, which `go mod
// tidy` would refuse as a checksum mismatch instead of updating.
func dropSums(name string, mods []module) error {
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var kept []string
	for _, line := range strings.SplitAfter(string(data), "\n") {
		path, _, _ := strings.Cut(line, " ")
		if !slices.ContainsFunc(mods, func(m module) bool { return m.Path == path }) {
			kept = append(kept, line)
		}
	}
	if out := strings.Join(kept, ""); out != string(data) {
		return os.WriteFile(name, []byte(out), 0o644)
	}
	return nil
}

// pinWork makes go.work replace every workspace module at version with its
// directory, and at no other version. The go command reads the go.mod of a
// required version even when a workspace module stands in for it, and
// version is not published before the release is tagged.
func pinWork(repo string, mods []module, version string) error {
	name := filepath.Join(repo, "go.work")
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	wf, err := modfile.ParseWork(name, data, nil)
	if err != nil {
		return err
	}
	for _, m := range mods {
		for _, r := range wf.Replace {
			if r.Old.Path == m.Path && r.Old.Version != version {
				if err := wf.DropReplace(r.Old.Path, r.Old.Version); err != nil {
					return err
				}
			}
		}
		dir := "./" + m.Dir
		if m.Dir == "." {
			dir = "./"
		}
		if err := wf.AddReplace(m.Path, version, dir, ""); err != nil {
			return err
		}
	}
	wf.Cleanup()
	out := modfile.Format(wf.Syntax)
	if bytes.Equal(out, data) {
		return nil
	}
	return os.WriteFile(name, out, 0o644)
}
