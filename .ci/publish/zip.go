package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	modpkg "golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/zip"
)

// publish writes m at version into the proxy directory out, in the layout
// of the GOPROXY protocol: $path/@v/{list, $v.info, $v.mod, $v.zip}.
func publish(repo, out string, m module, version string) error {
	esc, err := modpkg.EscapePath(m.Path)
	if err != nil {
		return err
	}
	dir := filepath.Join(repo, filepath.FromSlash(m.Dir))
	vdir := filepath.Join(out, filepath.FromSlash(esc), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	mv := modpkg.Version{Path: m.Path, Version: version}
	files, err := moduleFiles(dir)
	switch {
	case err != nil:
		return err
	case files == nil: // not in a git checkout
		err = zip.CreateFromDir(&buf, mv, dir)
	default:
		err = zip.Create(&buf, mv, files)
	}
	if err != nil {
		return err
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	info, err := json.Marshal(struct{ Version, Time string }{version, time.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{version + ".zip": buf.Bytes(), version + ".mod": gomod, version + ".info": info} {
		if err := os.WriteFile(filepath.Join(vdir, name), data, 0o644); err != nil {
			return err
		}
	}
	return addToList(filepath.Join(vdir, "list"), version)
}

// addToList adds version to a proxy's list file, keeping it sorted.
func addToList(name, version string) error {
	data, err := os.ReadFile(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	versions := strings.Fields(string(data))
	if !slices.Contains(versions, version) {
		versions = append(versions, version)
	}
	slices.SortFunc(versions, semver.Compare)
	return os.WriteFile(name, []byte(strings.Join(versions, "\n")+"\n"), 0o644)
}

// moduleFiles lists the files under dir that git would commit: tracked
// ones still present and untracked ones not ignored. zip.Create leaves out
// those of nested modules. It returns nil, nil outside a git checkout.
func moduleFiles(dir string) ([]zip.File, error) {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		if inGit := exec.Command("git", "-C", dir, "rev-parse", "--is-inside-work-tree"); inGit.Run() != nil {
			return nil, nil
		}
		return nil, err
	}
	var files []zip.File
	seen := map[string]bool{}
	for _, rel := range strings.Split(string(out), "\x00") {
		if rel == "" || seen[rel] {
			continue
		}
		seen[rel] = true
		full := filepath.Join(dir, filepath.FromSlash(rel))
		info, err := os.Lstat(full)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted, not yet committed
		}
		if err != nil {
			return nil, err
		}
		files = append(files, diskFile{rel, full, info})
	}
	return files, nil
}

// diskFile is a file of the checkout, as zip.Create reads it.
type diskFile struct {
	rel, full string
	info      os.FileInfo
}

func (f diskFile) Path() string                 { return f.rel }
func (f diskFile) Lstat() (os.FileInfo, error)  { return f.info, nil }
func (f diskFile) Open() (io.ReadCloser, error) { return os.Open(f.full) }
