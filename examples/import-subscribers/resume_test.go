package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/yespotest"
)

// killWhenDone starts the tool and SIGKILLs it once the checkpoint counts
// at least n rows done.
func killWhenDone(t *testing.T, env []string, path string, n int64, args ...string) {
	t.Helper()
	p := start(t, env, args...)
	require.Eventually(t, func() bool {
		cp, ok := readCheckpoint(path + ".checkpoint")
		return ok && cp.Done.total() >= n
	}, time.Minute, time.Millisecond)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	require.Equal(t, -1, p.wait(), p.output())
}

// An unfinished import to app A, run again for app B (or for A on another
// base URL): refused, exit 1, both named, nothing sent; -restart imports
// the whole file into B.
func TestBinaryResumeForAnotherTargetRefuses(t *testing.T) {
	const rows = 5000
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	srv.FailRandomly(1, yespotest.Fault{Delay: 5 * time.Millisecond})
	appA, appB := srv.NewApp(), srv.NewApp()
	path, invalid := subscribers(t, rows)
	args := []string{"-batch", "100", "-concurrency", "2", path}
	killWhenDone(t, environ(serverEnv(srv, appA)...), path, 1000, args...)
	sentToA := len(srv.Requests())

	code, stdout, stderr := runBinary(t, environ(serverEnv(srv, appB)...), args...)
	require.Equal(t, exitError, code, stdout+stderr)
	for _, want := range []string{"app " + appA + " at " + srv.URL, "app " + appB + " at " + srv.URL, "-restart", path + ".checkpoint"} {
		assert.Contains(t, stderr, want)
	}
	assert.Empty(t, stdout)
	assert.Equal(t, sentToA, len(srv.Requests()), "nothing sent to B")

	other := yespotest.NewServer()
	t.Cleanup(other.Close)
	require.NoError(t, other.RegisterApp(appA))
	code, stdout, stderr = runBinary(t, environ("YESPO_API_KEY="+other.APIKey, "YESPO_APP_UUID="+appA, "YESPO_BASE_URL="+other.URL), args...)
	require.Equal(t, exitError, code, stdout+stderr)
	assert.Contains(t, stderr, "app "+appA+" at "+srv.URL)
	assert.Contains(t, stderr, "app "+appA+" at "+other.URL)
	assert.Empty(t, other.Requests())

	code, stdout, stderr = runBinary(t, environ(serverEnv(srv, appB)...), append([]string{"-restart"}, args...)...)
	require.Equal(t, exitRejects, code, stdout+stderr)
	assert.Contains(t, stdout, fmt.Sprintf("%d rows sent, 0 failed, %d rejected.\n", rows-len(invalid), len(invalid)), "the whole file, in one run")
	for i := 1; i <= rows; i++ {
		_, ok := srv.ContactByToken(appB, strconv.Itoa(i))
		require.Equal(t, !invalid[strconv.Itoa(i)], ok, "row %d in app B", i)
	}
	assert.Len(t, readCSV(t, path+".rejects.csv"), len(invalid)+1, "each rejected row once")
	assert.NoFileExists(t, path+".checkpoint")
}

// The input changed under an unfinished import: refused, both versions named.
func TestBinaryResumeOverChangedInputRefuses(t *testing.T) {
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	srv.FailRandomly(1, yespotest.Fault{Delay: 5 * time.Millisecond})
	app := srv.NewApp()
	path, _ := subscribers(t, 3000)
	env := environ(serverEnv(srv, app)...)
	killWhenDone(t, env, path, 500, "-batch", "100", "-concurrency", "2", path)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("99999,crm-99999\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	code, stdout, stderr := runBinary(t, env, "-batch", "100", path)
	require.Equal(t, exitError, code, stdout+stderr)
	assert.Regexp(t, `the input changed since .* was written \(then \d+ bytes, modified .*; now \d+ bytes, modified .*\): to start over from the first row, run with -restart`, stderr)
}

var progressLine = regexp.MustCompile(`^progress: (\d+)%: (\d+) sent, (\d+) failed, (\d+) rejected; (\d+) rows/s sent, ETA (\S+)$`)

// watchProgress reads the progress lines of p until its stderr ends. Each
// must count no more rows sent than Yespo accepted (distinct tokens) by
// the time it is read, and no more rejected than the file has invalid
// rows; the counts never go down. stop, if set, is called with each line's
// sent count.
func watchProgress(t *testing.T, p *proc, srv *yespotest.Server, invalid int, stop func(sent int64)) (lines int) {
	t.Helper()
	var last [3]int64
	for line := range p.lines {
		m := progressLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		lines++
		var now [3]int64
		for i := range now {
			now[i], _ = strconv.ParseInt(m[2+i], 10, 64)
			require.GreaterOrEqual(t, now[i], last[i], "counts never go down: %q", line)
		}
		last = now
		accepted := int64(len(acceptedIn(t, srv.Requests())))
		require.LessOrEqual(t, now[0], accepted, "%q: more sent than Yespo accepted", line)
		require.Zero(t, now[1], line)
		require.LessOrEqual(t, now[2], int64(invalid), "%q: a rejected row counted twice", line)
		if stop != nil {
			stop(now[0])
		}
	}
	return lines
}

// Progress on a pipe, over a run interrupted and resumed: never more sent
// than confirmed, each rejected row once over the whole file, totals exact.
func TestBinaryProgressCountsEachRowOnce(t *testing.T) {
	const rows = 4000
	srv := yespotest.NewServer(yespotest.WithLatency(20 * time.Millisecond))
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	path, invalid := subscribers(t, rows)
	env := environ(serverEnv(srv, app)...)
	args := []string{"-batch", "50", "-rps", "50", "-progress-every", "10ms", path}

	p := start(t, env, args...)
	interrupted := false
	n := watchProgress(t, p, srv, len(invalid), func(sent int64) {
		if sent >= 1000 && !interrupted {
			interrupted = true
			require.NoError(t, p.cmd.Process.Signal(os.Interrupt))
		}
	})
	require.Equal(t, exitInterrupted, p.wait(), p.output())
	require.True(t, interrupted)
	assert.Greater(t, n, 3)
	assert.Regexp(t, `^Interrupted: \d+ rows sent, 0 failed, \d+ rejected in this run; over the whole file so far`, p.stdout.String())

	p = start(t, env, args...)
	watchProgress(t, p, srv, len(invalid), nil)
	require.Equal(t, exitRejects, p.wait(), p.output())
	assertImported(t, path, rows, srv, invalid)
	assert.Contains(t, p.stdout.String(), fmt.Sprintf("%d rows sent, 0 failed, %d rejected. (The whole file, over several runs;", rows-len(invalid), len(invalid)))
}

// The start line says where the budget comes from; flags may follow the
// file name; a mistyped flag is one line.
func TestBinaryStartLineAndFlags(t *testing.T) {
	path, _ := subscribers(t, 300)
	code, stdout, stderr := runBinary(t, environ(), "-fake", path, "-rps", "50", "-batch", "100")
	require.Equal(t, exitRejects, code, stdout+stderr)
	assert.Contains(t, stderr, "at most 50 requests/s (-rps 50), counted by this process alone (YESPO_REDIS_URL shares the account's budget with the bot)")
	assert.Contains(t, stderr, "100 tokens each")

	code, stdout, stderr = runBinary(t, environ(), "-fake", path)
	require.Equal(t, exitRejects, code, stdout+stderr)
	assert.Contains(t, stderr, "at most 100 requests/s (the default -rps: half the account's 200/s, the rest left to the bot)")

	code, stdout, stderr = runBinary(t, environ(), "-fake", path, "-rsp", "50")
	assert.Equal(t, exitError, code)
	assert.Empty(t, stdout)
	assert.Equal(t, "import-subscribers: flag provided but not defined: -rsp (run with -h for help)\n", stderr)
}

// An operator's export with its own column names imports with -columns;
// without it, the error suggests the mapping.
func TestBinaryColumns(t *testing.T) {
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	var b strings.Builder
	b.WriteString("chat_id,customer id\n")
	for i := 1; i <= 200; i++ {
		fmt.Fprintf(&b, "%d,crm-%d\n", i, i)
	}
	path := writeFile(t, "export.csv", b.String())
	env := environ(serverEnv(srv, app)...)
	code, stdout, stderr := runBinary(t, env, path)
	require.Equal(t, exitError, code, stdout+stderr)
	assert.Contains(t, stderr, `run with -columns "chat_id=token,customer id=externalCustomerId"`)

	code, stdout, stderr = runBinary(t, env, path, "-columns", "chat_id=token,customer id=externalCustomerId")
	require.Equal(t, exitOK, code, stdout+stderr)
	assert.Contains(t, stdout, "200 rows sent, 0 failed, 0 rejected.")
	c, ok := srv.ContactByToken(app, "200")
	require.True(t, ok)
	assert.Equal(t, "crm-200", c.ExternalCustomerID)
}
