package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/yespotest"
)

// The tests in this file drive the built binary, as an operator does: real
// signals, real sockets to an in-test yespotest server, exit codes.

var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binError error
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(measureEnv); spec != "" {
		launch(spec)
	}
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// toolBinary builds this command once per test process and returns its path.
func toolBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binError = os.MkdirTemp("", "import-subscribers-test-"); binError != nil {
			return
		}
		binPath = filepath.Join(binDir, "import-subscribers")
		args := []string{"build", "-o", binPath}
		if raceEnabled { // the binary's own goroutines get checked too
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			binError = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, binError)
	return binPath
}

// proc is a running import-subscribers.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout bytes.Buffer
	lines  chan string // stderr, line by line; closed at EOF
	mu     sync.Mutex
	stderr strings.Builder
	done   chan struct{} // closed when stderr is drained
}

// environ is os.Environ without any YESPO_ variable, plus env.
func environ(env ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "YESPO_") {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

// serverEnv points the tool at srv with its key and app.
func serverEnv(srv *yespotest.Server, app string) []string {
	return []string{"YESPO_API_KEY=" + srv.APIKey, "YESPO_APP_UUID=" + app, "YESPO_BASE_URL=" + srv.URL}
}

func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, cmd: exec.Command(toolBinary(t), args...), lines: make(chan string, 10_000), done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout = &p.stdout
	errPipe, err := p.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	go func() {
		defer close(p.done)
		defer close(p.lines)
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default: // nobody is waiting on lines this far
			}
		}
	}()
	return p
}

// waitLine reads stderr until a line matches re, and returns it.
func (p *proc) waitLine(re string) string {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("stderr ended before a line matching %q:\n%s", re, p.errText())
			}
			if rx.MatchString(line) {
				return line
			}
		case <-timeout:
			p.t.Fatalf("no line matching %q in 30 s:\n%s", re, p.errText())
		}
	}
}

// wait waits for the exit and returns the exit code (-1 when killed).
func (p *proc) wait() int {
	p.t.Helper()
	<-p.done
	err := p.cmd.Wait()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode()
	case err != nil:
		p.t.Fatal(err)
	}
	return 0
}

func (p *proc) errText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func (p *proc) output() string { return "stdout:\n" + p.stdout.String() + "stderr:\n" + p.errText() }

// runBinary runs the tool to its end and returns its exit code, stdout and stderr.
func runBinary(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	p := start(t, env, args...)
	code := p.wait()
	return code, p.stdout.String(), p.errText()
}

// subscribers writes n rows, every 97th invalid (no identifier), and
// returns the file and the invalid tokens.
func subscribers(t *testing.T, n int) (string, map[string]bool) {
	t.Helper()
	var b strings.Builder
	b.WriteString("token,externalCustomerId\n")
	invalid := map[string]bool{}
	for i := 1; i <= n; i++ {
		if i%97 == 0 {
			fmt.Fprintf(&b, "%d,\n", i)
			invalid[fmt.Sprint(i)] = true
			continue
		}
		fmt.Fprintf(&b, "%d,crm-%d\n", i, i)
	}
	path := filepath.Join(t.TempDir(), "subs.csv")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path, invalid
}

// sentCounts counts how often each token was sent in accepted requests.
func sentCounts(t *testing.T, srv *yespotest.Server) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, r := range srv.Requests() {
		if r.Status != 200 {
			continue
		}
		var body struct{ Tokens []struct{ Token string } }
		require.NoError(t, json.Unmarshal(r.Body, &body))
		for _, tok := range body.Tokens {
			counts[tok.Token]++
		}
	}
	return counts
}

// assertImported checks that every valid row of n is on exactly one
// contact, once, every invalid row is in the rejects file once, and no
// checkpoint is left.
func assertImported(t *testing.T, path string, n int, srv *yespotest.Server, invalid map[string]bool) {
	t.Helper()
	stored := map[string]int{}
	for _, c := range srv.Contacts() {
		for _, ct := range c.Tokens {
			stored[ct.Token]++
		}
	}
	assert.Len(t, stored, n-len(invalid), "valid rows stored")
	for i := 1; i <= n; i++ {
		tok := fmt.Sprint(i)
		if invalid[tok] {
			assert.Zero(t, stored[tok], tok)
		} else if stored[tok] != 1 {
			t.Fatalf("row %s stored %d times", tok, stored[tok])
		}
	}
	rejected := map[string]int{} // by token: row i, line i+1, has token i
	for _, rec := range readCSV(t, path+".rejects.csv")[1:] {
		line, err := strconv.Atoi(rec[0])
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(rec[2], strconv.Itoa(line-1)+","), "line %d is row %d: %q", line, line-1, rec[2])
		rejected[strconv.Itoa(line-1)]++
	}
	assert.Len(t, rejected, len(invalid))
	for tok := range invalid {
		assert.Equal(t, 1, rejected[tok], "rejects lists row %s once", tok)
	}
	assert.NoFileExists(t, path+".checkpoint")
	assert.NoFileExists(t, path+".failed.csv")
}

func resent(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c - 1
	}
	return n
}

func TestBinaryHelpExitsZero(t *testing.T) {
	code, _, stderr := runBinary(t, environ(), "-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stderr, "usage: import-subscribers")
	assert.Contains(t, stderr, "-rps")
	assert.Contains(t, stderr, "YESPO_API_KEY")
}

func TestBinaryRefusesWithoutKey(t *testing.T) {
	path, _ := subscribers(t, 3)
	code, stdout, stderr := runBinary(t, environ(), path)
	assert.Equal(t, exitError, code, stdout+stderr)
	assert.Contains(t, stderr, "YESPO_API_KEY")
	assert.Contains(t, stderr, "-fake")
	assert.NotContains(t, stdout, "sent")
	assert.NoFileExists(t, path+".checkpoint")
}

func TestBinaryFake(t *testing.T) {
	path, _ := subscribers(t, 3)
	code, stdout, stderr := runBinary(t, environ(), "-fake", path)
	assert.Equal(t, exitOK, code, stdout+stderr)
	assert.Contains(t, stdout, "3 rows sent, 0 failed, 0 rejected.")
	assert.Contains(t, stdout, "in-process fake Yespo (-fake): nothing was sent to Yespo")
}

// A wrong key stops the import after its first answer, keeps the
// checkpoint, writes no failed file; with the right key the same command
// imports every row, once.
func TestBinaryWrongKeyStopsThenResumes(t *testing.T) {
	const rows = 3000
	srv := yespotest.NewServer(yespotest.WithAPIKey("the-right-key"))
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	path, invalid := subscribers(t, rows)
	env := environ("YESPO_API_KEY=a-wrong-key", "YESPO_APP_UUID="+app, "YESPO_BASE_URL="+srv.URL)

	code, stdout, stderr := runBinary(t, env, "-batch", "100", path)
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Equal(t, exitError, code, stdout+stderr)
	assert.Contains(t, stderr, "401 Unauthorized")
	assert.Contains(t, stderr, "YESPO_API_KEY")
	assert.LessOrEqual(t, len(srv.Requests()), 10, "stops after the first answer")
	assert.NoFileExists(t, path+".failed.csv", "a wrong key is not the rows' fault")
	assert.FileExists(t, path+".checkpoint")
	assert.Empty(t, srv.Contacts())

	code, stdout, stderr = runBinary(t, serverEnv(srv, app), "-batch", "100", path)
	require.Equal(t, exitRejects, code, stdout+stderr)
	assertImported(t, path, rows, srv, invalid)
	assert.Zero(t, resent(sentCounts(t, srv)), "each row sent once")
	assert.Contains(t, stdout, fmt.Sprintf("%d rows sent, 0 failed, %d rejected.", rows-len(invalid), len(invalid)))
}

func TestBinaryUnregisteredApp(t *testing.T) {
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	path, _ := subscribers(t, 1000)
	app := "0f8fad5b-d9cb-469f-a165-70867728950e" // not registered
	code, stdout, stderr := runBinary(t, serverEnv(srv, app), path)
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Equal(t, exitError, code, stdout+stderr)
	assert.Contains(t, stderr, "404 Not Found: Not registered application")
	assert.Contains(t, stderr, "YESPO_APP_UUID")
	assert.Len(t, srv.Requests(), 1)
	assert.NoFileExists(t, path+".failed.csv")
}

func TestBinaryUnreachableServer(t *testing.T) {
	srv := yespotest.NewServer()
	app := srv.NewApp()
	url := srv.URL
	srv.Close() // nothing listens there any more
	path, _ := subscribers(t, 1000)
	code, stdout, stderr := runBinary(t, environ("YESPO_API_KEY=k", "YESPO_APP_UUID="+app, "YESPO_BASE_URL="+url), path)
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Equal(t, exitError, code, stdout+stderr)
	assert.Contains(t, stderr, "could not be reached")
	assert.Contains(t, stderr, "connection refused")
	assert.NoFileExists(t, path+".failed.csv")
	assert.FileExists(t, path+".checkpoint")
}

// Ctrl-C on a slow server: out within 3 s, exit 130; the resumed run
// stores every valid row and reports the whole file's rejects.
func TestBinarySIGINTStopsWithinSecondsAndResumes(t *testing.T) {
	const rows = 5000
	srv := yespotest.NewServer(yespotest.WithLatency(time.Second))
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	path, invalid := subscribers(t, rows)
	args := []string{"-batch", "50", "-progress-every", "100ms", path}

	p := start(t, environ(serverEnv(srv, app)...), args...)
	// Progress on a pipe: a line with rows confirmed sent, once the first
	// batch is back; more are in flight then.
	p.waitLine(`^progress: \d+%: [1-9]\d* sent, 0 failed, \d+ rejected; \d+ rows/s sent, ETA `)
	require.NoError(t, p.cmd.Process.Signal(os.Interrupt))
	signalled := time.Now()
	code := p.wait()
	took := time.Since(signalled)
	require.Equal(t, exitInterrupted, code, p.output())
	// The grace for the requests in flight, and room for a loaded machine.
	assert.Less(t, took, interruptGrace+10*time.Second, "exit after Ctrl-C")
	assert.Contains(t, p.stdout.String(), "Interrupted: ")
	assert.FileExists(t, path+".checkpoint")
	t.Logf("exit %v after SIGINT; %d requests", took.Round(time.Millisecond), len(srv.Requests()))
	prefix := confirmedPrefix(sentCounts(t, srv), invalid, rows)

	p = start(t, environ(serverEnv(srv, app)...), args...)
	require.Equal(t, exitRejects, p.wait(), p.output())
	assertImported(t, path, rows, srv, invalid)
	assert.Contains(t, p.stdout.String(), fmt.Sprintf("%d rows sent, 0 failed, %d rejected.", rows-len(invalid), len(invalid)),
		"the totals are the whole file's")
	// Paced batches can leave out of order, so a batch after one the stop
	// kept from leaving may be confirmed: the checkpoint ends before the
	// gap, and the resumed run sends that batch again (Yespo keeps a token
	// once). No row of the confirmed prefix is sent again.
	for tok, n := range sentCounts(t, srv) {
		row, err := strconv.Atoi(tok)
		require.NoError(t, err)
		if n > 1 && row <= prefix {
			t.Errorf("row %d, within the %d rows confirmed before the stop, was sent %d times", row, prefix, n)
		}
	}
}

// confirmedPrefix is how many leading rows of subscribers' file were
// confirmed (or invalid, so never sent): what a checkpoint may cover.
func confirmedPrefix(counts map[string]int, invalid map[string]bool, rows int) int {
	for i := 1; i <= rows; i++ {
		if tok := strconv.Itoa(i); counts[tok] == 0 && !invalid[tok] {
			return i - 1
		}
	}
	return rows
}

// The second Ctrl-C quits at once: the requests in flight take a minute
// to answer, the first Ctrl-C would wait out its grace for them and then
// print the run's summary; the second leaves before, with no summary.
func TestBinarySecondSIGINTExitsAtOnce(t *testing.T) {
	srv := yespotest.NewServer(yespotest.WithLatency(time.Minute))
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	path, _ := subscribers(t, 2000)
	p := start(t, environ(serverEnv(srv, app)...), "-batch", "50", path)
	p.waitLine(`^import-subscribers: importing `)
	require.Eventually(t, func() bool { return len(srv.Requests()) > 0 }, 30*time.Second, time.Millisecond)
	require.NoError(t, p.cmd.Process.Signal(os.Interrupt))
	p.waitLine(`interrupted: .*Ctrl-C again quits at once`)
	require.NoError(t, p.cmd.Process.Signal(os.Interrupt))
	assert.Equal(t, exitInterrupted, p.wait(), p.output())
	assert.Contains(t, p.errText(), "quit; run the same command again to resume")
	assert.NotContains(t, p.stdout.String(), "Interrupted:", "quit before the grace for the requests in flight ended")
}

var (
	plainOnce sync.Once
	plainPath string
	plainErr  error
)

// plainBinary is the command built without the race detector, as users
// build it: for measuring its memory. Under -race it is built once more.
func plainBinary(t testing.TB) string {
	t.Helper()
	if !raceEnabled {
		return toolBinary(t)
	}
	dir := filepath.Dir(toolBinary(t))
	plainOnce.Do(func() {
		plainPath = filepath.Join(dir, "import-subscribers-plain")
		if out, err := exec.Command("go", "build", "-o", plainPath, ".").CombinedOutput(); err != nil {
			plainErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, plainErr)
	return plainPath
}

// -fake keeps no history: its memory does not grow with the file. 200,000
// rows by default (the fake that kept every request took 1.3 KB a row:
// 260 MB), 1,000,000 with -long; under 100 MB peak RSS either way.
func TestBinaryFakeMemoryStaysFlat(t *testing.T) {
	rows := 200_000
	if *long {
		rows = 1_000_000
	}
	path := filepath.Join(t.TempDir(), "subs.csv")
	writeRows(t, path, rows)
	rss, wall := runFake(t, plainBinary(t), path)
	t.Logf("-fake, %d rows: peak RSS %d MiB, %v", rows, rss>>20, wall.Round(time.Millisecond))
	assert.Less(t, rss, int64(100<<20))
}
