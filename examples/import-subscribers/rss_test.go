package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// measureEnv, when set, makes the test binary a launcher: it runs the
// command it names (arguments separated by 0x1F) and prints the command's
// peak RSS. Why: Linux counts in a child's peak RSS the memory of the
// process it was started from (os/exec starts it sharing its parent's
// memory until exec), so that a child of a big test process reports the
// test's RSS. The launcher, freshly started, is small.
const measureEnv = "IMPORT_SUBSCRIBERS_MEASURE"

// launch runs the command of measureEnv and exits: 0 and "maxrss KiB" on
// stdout when it succeeded, else 1 and its output.
func launch(spec string) {
	args := strings.Split(spec, "\x1f")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, measureEnv+"=") })
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Printf("%v\n%s", err, out)
		os.Exit(1)
	}
	fmt.Printf("maxrss %d\n", cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) // KiB on Linux
	os.Exit(0)
}

// peakRSS runs bin with args in environ(env...) through the launcher and
// returns its peak RSS in bytes and the wall time.
func peakRSS(t testing.TB, env []string, bin string, args ...string) (int64, time.Duration) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(environ(env...), measureEnv+"="+strings.Join(append([]string{bin}, args...), "\x1f"))
	start := time.Now()
	out, err := cmd.Output()
	wall := time.Since(start)
	var kib int64
	if _, scanErr := fmt.Sscanf(string(out), "maxrss %d", &kib); err != nil || scanErr != nil {
		t.Fatalf("%v %v\n%s", err, scanErr, out)
	}
	return kib << 10, wall
}
