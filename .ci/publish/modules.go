package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// module is one module of the workspace.
type module struct {
	Dir  string   // relative to the repository, slash-separated; "." for the root
	Path string   // module path
	Deps []string // module paths of other workspace modules it requires
}

// workspaceModules reads go.work and every go.mod it uses, and returns the
// modules ordered so that each comes after the workspace modules it
// requires (go.work's order otherwise): the order to tidy and publish in,
// since a module's go.sum holds the hashes of the ones it requires.
func workspaceModules(repo string) ([]module, error) {
	name := filepath.Join(repo, "go.work")
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	wf, err := modfile.ParseWork(name, data, nil)
	if err != nil {
		return nil, err
	}
	var mods []module
	for _, u := range wf.Use {
		dir := filepath.ToSlash(filepath.Clean(u.Path))
		gomod := filepath.Join(repo, filepath.FromSlash(dir), "go.mod")
		data, err := os.ReadFile(gomod)
		if err != nil {
			return nil, err
		}
		mf, err := modfile.ParseLax(gomod, data, nil)
		if err != nil {
			return nil, err
		}
		if mf.Module == nil {
			return nil, fmt.Errorf("%s: no module line", gomod)
		}
		m := module{Dir: dir, Path: mf.Module.Mod.Path}
		for _, r := range mf.Require {
			m.Deps = append(m.Deps, r.Mod.Path)
		}
		mods = append(mods, m)
	}
	return dependenciesFirst(mods)
}

// dependenciesFirst orders mods so that every module follows the workspace
// modules among its Deps (which it then keeps, dropping outside ones).
func dependenciesFirst(mods []module) ([]module, error) {
	inWork := map[string]int{}
	for i, m := range mods {
		inWork[m.Path] = i
	}
	for i := range mods {
		var deps []string
		for _, d := range mods[i].Deps {
			if _, ok := inWork[d]; ok {
				deps = append(deps, d)
			}
		}
		mods[i].Deps = deps
	}
	const (
		unseen = iota
		visiting
		done
	)
	state := make([]int, len(mods))
	var order []module
	var visit func(i int) error
	visit = func(i int) error {
		switch state[i] {
		case visiting:
			return fmt.Errorf("workspace modules require each other in a cycle through %s", mods[i].Path)
		case done:
			return nil
		}
		state[i] = visiting
		for _, d := range mods[i].Deps {
			if err := visit(inWork[d]); err != nil {
				return err
			}
		}
		state[i] = done
		order = append(order, mods[i])
		return nil
	}
	for i := range mods {
		if err := visit(i); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// releaseVersion returns "v" + the string constant Version declared in the
// root module's package: the version that goes into the User-Agent is the
// one every module is released at.
func releaseVersion(repo string, mods []module) (string, error) {
	root := -1
	for i, m := range mods {
		if m.Dir == "." {
			root = i
		}
	}
	if root < 0 {
		return "", fmt.Errorf("go.work does not use the repository's root")
	}
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(repo, "*.go"))
	if err != nil {
		return "", err
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			return "", err
		}
		if v, ok := versionConst(f); ok {
			if !semver.IsValid("v"+v) || semver.Canonical("v"+v) != "v"+v {
				return "", fmt.Errorf("%s: Version %q is not a semantic version like 1.2.3", name, v)
			}
			return "v" + v, nil
		}
	}
	return "", fmt.Errorf("no const Version in the root package")
}

// versionConst finds `const Version = "..."` among f's declarations.
func versionConst(f *ast.File) (string, bool) {
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if n.Name != "Version" || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, err := strconv.Unquote(lit.Value)
					return v, err == nil
				}
			}
		}
	}
	return "", false
}
