package main

import (
	"flag"
	"fmt"
	"net"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/telegramtest"
)

// long runs the scenarios at the size of their issue (2,000 users, a 30 s
// outage); by default they run scaled down, so that CI stays quick.
var long = flag.Bool("long", false, "run the burst, kill and outage scenarios at full size")

// scaled returns full with -long, else small.
func scaled(small, full int) int {
	if *long {
		return full
	}
	return small
}

// botProc is the built bot running as a child process.
type botProc struct {
	t      testing.TB
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan error
}

// startProc starts the built bot with args and env (on top of a minimal
// environment); it is killed when the test ends if still running.
func startProc(t testing.TB, args []string, env map[string]string) *botProc {
	t.Helper()
	p := &botProc{t: t, cmd: exec.Command(builtBot(t), args...), stderr: &syncBuffer{}, exited: make(chan error, 1)}
	p.cmd.Env = envList(env)
	p.cmd.Stderr = p.stderr
	require.NoError(t, p.cmd.Start())
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	return p
}

// kill SIGKILLs the process and waits for it to be gone.
func (p *botProc) kill() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(waitLimit):
		p.t.Fatal("the bot did not die on SIGKILL")
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *botProc) stop() {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.exited:
		require.NoError(p.t, err, "%s", p.stderr.String())
	case <-time.After(3 * waitLimit):
		p.t.Fatal("the bot did not stop on SIGTERM")
	}
}

// waitStarted waits for the bot's "bot started" line.
func (p *botProc) waitStarted() {
	p.t.Helper()
	require.NoError(p.t, p.stderr.waitFor(bounded(p.t), `msg="bot started`))
}

// freeAddr returns a 127.0.0.1 address nobody listens on, for a webhook
// that a restarted bot must serve on again.
func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// modeArgs are the bot's arguments for a mode: "polling", or "webhook" on
// addr.
func modeArgs(mode, addr string) []string {
	if mode == "webhook" {
		return []string{"-webhook", addr, "-webhook-url", fmt.Sprintf("http://%s/telegram", addr)}
	}
	return nil
}

// waitUp waits until the bot listens for updates in mode.
func waitUp(t testing.TB, p *botProc, tg *telegramtest.Server, mode string) {
	t.Helper()
	p.waitStarted()
	if mode == "polling" {
		require.NoError(t, tg.WaitPolling(bounded(t)))
	}
}
