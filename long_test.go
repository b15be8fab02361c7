package yespo_test

import "flag"

// The long scenarios run scaled down by default and at full size with
// `go test -long` (CONTRIBUTING.md; `LONG=1 bash .ci/run`). The flag is
// registered here unless another file of the package already has: package
// variables are initialized before any init runs.
func init() {
	if flag.Lookup("long") == nil {
		flag.Bool("long", false, "run the long scenarios at full size")
	}
}

// longRun reports whether the test binary was started with -long.
func longRun() bool {
	f := flag.Lookup("long")
	return f != nil && f.Value.String() == "true"
}
