package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/yespotest"
)

const (
	killRows  = 20_000
	killBatch = 100
)

// buildTool compiles this command, so that tests can kill a real process.
func buildTool(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "import-subscribers")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// killFixture writes killRows rows, every 97th invalid, and starts a fake
// that answers each request after 15 ms, so that a run takes a while.
func killFixture(t *testing.T) (path string, srv *yespotest.Server, app string, invalid map[string]bool) {
	t.Helper()
	var b strings.Builder
	b.WriteString("token,externalCustomerId\n")
	invalid = map[string]bool{}
	for i := 1; i <= killRows; i++ {
		if i%97 == 0 {
			fmt.Fprintf(&b, "%d,\n", i) // no identifier
			invalid[fmt.Sprint(i)] = true
			continue
		}
		fmt.Fprintf(&b, "%d,crm-%d\n", i, i)
	}
	path = filepath.Join(t.TempDir(), "subs.csv")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	srv = yespotest.NewServer()
	t.Cleanup(srv.Close)
	app = srv.NewApp()
	srv.FailRandomly(1, yespotest.Fault{Delay: 15 * time.Millisecond})
	return path, srv, app, invalid
}

func startTool(t *testing.T, bin, path string, srv *yespotest.Server, app string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, "-batch", fmt.Sprint(killBatch), path)
	cmd.Env = append(os.Environ(), "YESPO_API_KEY="+srv.APIKey, "YESPO_APP_UUID="+app, "YESPO_BASE_URL="+srv.URL)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	return cmd, &out
}

// waitForCheckpoint waits until the checkpoint has passed row.
func waitForCheckpoint(t *testing.T, path string, row int64) {
	t.Helper()
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(path + ".checkpoint")
		var cp checkpoint
		return err == nil && json.Unmarshal(b, &cp) == nil && cp.Row >= row
	}, 30*time.Second, 5*time.Millisecond)
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// sentCounts counts how often each token was sent, over all requests.
func sentCounts(t *testing.T, srv *yespotest.Server) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, r := range srv.Requests() {
		var body struct{ Tokens []struct{ Token string } }
		require.NoError(t, json.Unmarshal(r.Body, &body))
		for _, tok := range body.Tokens {
			counts[tok.Token]++
		}
	}
	return counts
}

// assertImported checks that every valid row is on exactly one contact,
// once, and every invalid row is in the rejects file, once.
func assertImported(t *testing.T, path string, srv *yespotest.Server, app string, invalid map[string]bool) {
	t.Helper()
	stored := map[string]int{}
	for _, c := range srv.Contacts() {
		for _, ct := range c.Tokens {
			stored[ct.Token]++
		}
	}
	assert.Len(t, stored, killRows-len(invalid))
	for i := 1; i <= killRows; i++ {
		tok := fmt.Sprint(i)
		if invalid[tok] {
			assert.Zero(t, stored[tok], tok)
		} else if stored[tok] != 1 {
			t.Fatalf("row %s stored %d times", tok, stored[tok])
		}
	}
	rejected := map[string]int{}
	for _, rec := range readCSV(t, path+".rejects.csv")[1:] {
		rejected[rec[0]]++
	}
	assert.Len(t, rejected, len(invalid))
	for tok := range invalid {
		assert.Equal(t, 1, rejected[tok], "rejects lists row %s once", tok)
	}
	assert.NoFileExists(t, path+".checkpoint")
}

func TestResumeAfterSIGKILL(t *testing.T) {
	bin := buildTool(t)
	path, srv, app, invalid := killFixture(t)

	cmd, _ := startTool(t, bin, path, srv, app)
	waitForCheckpoint(t, path, killRows/4)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	assert.Equal(t, -1, exitCode(cmd.Wait()), "killed, not exited")
	beforeRestart := len(srv.Requests())

	cmd, out := startTool(t, bin, path, srv, app)
	require.Equal(t, exitRejects, exitCode(cmd.Wait()), out.String())
	assert.Contains(t, out.String(), "Resuming after row")
	assertImported(t, path, srv, app, invalid)

	resent := 0
	for _, n := range sentCounts(t, srv) {
		resent += n - 1
	}
	t.Logf("SIGKILL after %d requests; after the restart %d tokens were sent a second time", beforeRestart, resent)
	assert.LessOrEqual(t, resent, 2*2*killBatch, "at most the batches in flight (2 × concurrency × batch) are sent again")
}

func TestSIGINTStopsCleanlyAndResumes(t *testing.T) {
	bin := buildTool(t)
	path, srv, app, invalid := killFixture(t)

	cmd, out := startTool(t, bin, path, srv, app)
	waitForCheckpoint(t, path, killRows/4)
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	require.Equal(t, exitInterrupted, exitCode(cmd.Wait()), out.String())
	assert.Contains(t, out.String(), "Interrupted after row")
	assert.FileExists(t, path+".checkpoint")

	cmd, out = startTool(t, bin, path, srv, app)
	require.Equal(t, exitRejects, exitCode(cmd.Wait()), out.String())
	assertImported(t, path, srv, app, invalid)
	resent := 0
	for _, n := range sentCounts(t, srv) {
		resent += n - 1
	}
	assert.Zero(t, resent, "a clean stop sends what it read and saves exactly that")
}
