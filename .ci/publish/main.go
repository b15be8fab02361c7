// Command publish releases the repository's modules into a file-based module
// proxy, so that the go command can fetch them at a real version, as a user
// would once they are tagged, without pushing anything anywhere.
//
//	publish -repo DIR modules          modules of DIR/go.work, dependencies first: "dir path" lines
//	publish -repo DIR version          the release version: "v" + the root package's Version constant
//	publish -repo DIR tags             the release's git tags, in the order to create them
//	publish -repo DIR pin [dir...]     makes the listed modules (default: all) require the workspace
//	                                   modules they require at the version, with no replace of them,
//	                                   and go.work replace each workspace module at the version
//	publish -repo DIR -out P [-version V] [dir...]
//	                                   writes the listed module dirs (default: every module of
//	                                   go.work) into proxy directory P at V (default: version)
//
// Use the proxy with GOPROXY=file://P,... and GONOSUMDB for the modules'
// path: the checksum database has never seen these zips. A module's zip
// holds the files git would commit (tracked and untracked, not ignored),
// as the real proxy will serve them from the tag; outside a git checkout,
// every file of the directory.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	repo := flag.String("repo", ".", "the repository's root: the directory of go.work")
	out := flag.String("out", "", "the proxy directory to write modules into")
	version := flag.String("version", "", "the version to publish at (default: the root package's Version)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: publish -repo DIR modules | version | tags | pin [dir...] | -out PROXY [-version V] [dir...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*repo, *out, *version, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "publish:", err)
		os.Exit(1)
	}
}

func run(repo, out, version string, args []string) error {
	mods, err := workspaceModules(repo)
	if err != nil {
		return err
	}
	if len(args) == 1 && args[0] == "modules" {
		for _, m := range mods {
			fmt.Printf("%s %s\n", m.Dir, m.Path)
		}
		return nil
	}
	if version == "" {
		if version, err = releaseVersion(repo, mods); err != nil {
			return err
		}
	}
	switch {
	case len(args) == 1 && args[0] == "version":
		fmt.Println(version)
		return nil
	case len(args) == 1 && args[0] == "tags":
		for _, m := range mods {
			fmt.Println(tag(m, version))
		}
		return nil
	}
	if len(args) > 0 && args[0] == "pin" {
		chosen, err := pick(mods, args[1:])
		if err != nil {
			return err
		}
		for _, m := range chosen {
			if err := pin(repo, m, mods, version); err != nil {
				return fmt.Errorf("%s: %w", m.Dir, err)
			}
		}
		return pinWork(repo, mods, version)
	}
	if out == "" {
		flag.Usage()
		return fmt.Errorf("-out is required to publish")
	}
	chosen, err := pick(mods, args)
	if err != nil {
		return err
	}
	for _, m := range chosen {
		if err := publish(repo, out, m, version); err != nil {
			return fmt.Errorf("%s: %w", m.Dir, err)
		}
	}
	return nil
}

// pick returns the modules whose directories are listed, or every module
// when none is.
func pick(mods []module, dirs []string) ([]module, error) {
	if len(dirs) == 0 {
		return mods, nil
	}
	var chosen []module
	for _, d := range dirs {
		d = strings.TrimSuffix(strings.TrimPrefix(d, "./"), "/")
		if d == "" {
			d = "."
		}
		found := false
		for _, m := range mods {
			if m.Dir == d {
				chosen, found = append(chosen, m), true
			}
		}
		if !found {
			return nil, fmt.Errorf("%s is not a module of go.work", d)
		}
	}
	return chosen, nil
}

// tag is the git tag that releases m at version: a nested module's tags
// are prefixed with its directory.
func tag(m module, version string) string {
	if m.Dir == "." {
		return version
	}
	return m.Dir + "/" + version
}
