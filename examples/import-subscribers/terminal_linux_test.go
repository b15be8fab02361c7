package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/yespotest"
)

// openPTY returns a pseudo-terminal's two ends: what the program writes
// to the second is read from the first.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("unlockpt: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatalf("ptsname: %v", e)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	return master, slave
}

// barETA matches a time left in the bar's own "[elapsed:left]" form.
var barETA = regexp.MustCompile(`\[[0-9hms.]+:[0-9hms.]+\]`)

// On a terminal, right after a resume: the bar's frames show one ETA, the
// line's, and not the bar's own "[0s:9s]" (nor "[0s:0s]", which it showed
// after a resume, counting from where it started).
func TestBinaryTerminalShowsOneETAAfterResume(t *testing.T) {
	srv := yespotest.NewServer(yespotest.WithLatency(50 * time.Millisecond))
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	path, invalid := subscribers(t, 3000)
	env := environ(serverEnv(srv, app)...)
	args := []string{"-batch", "50", "-rps", "20", "-progress-every", "10ms", path}

	p := start(t, env, args...)
	p.waitLine(`^progress: \d+%: ([5-9]\d\d|\d{4,}) sent`)
	require.NoError(t, p.cmd.Process.Signal(os.Interrupt))
	require.Equal(t, exitInterrupted, p.wait(), p.output())

	master, slave := openPTY(t)
	cmd := exec.Command(toolBinary(t), args...)
	cmd.Env = env
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, slave
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	slave.Close() // the child holds it: EOF (EIO) on master once it exits
	var screen bytes.Buffer
	copied := make(chan struct{})
	go func() { defer close(copied); _, _ = io.Copy(&screen, master) }()
	err := cmd.Wait()
	<-copied
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, stdout.String()+screen.String())
	require.Equal(t, exitRejects, ee.ExitCode(), stdout.String()+screen.String())
	assert.Contains(t, stdout.String(), fmt.Sprintf("%d rows sent, 0 failed, %d rejected. (The whole file, over several runs;", 3000-len(invalid), len(invalid)))

	frames := 0
	for frame := range strings.FieldsFuncSeq(screen.String(), func(r rune) bool { return r == '\r' || r == '\n' }) {
		if !strings.Contains(frame, "% |") { // a frame of the bar
			continue
		}
		frames++
		assert.Equal(t, 1, strings.Count(frame, "ETA"), "one ETA: %q", frame)
		assert.False(t, barETA.MatchString(frame), "the bar's own ETA: %q", frame)
	}
	t.Logf("%d frames; the first: %q", frames, firstFrame(screen.String()))
	assert.Contains(t, firstFrame(screen.String()), "ETA ?", "no rows done in this run yet: no rate to tell")
	assert.Greater(t, frames, 3)
	assert.Contains(t, screen.String(), "resuming "+path)
}

func firstFrame(s string) string {
	for f := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if strings.Contains(f, "% |") {
			return f
		}
	}
	return ""
}
