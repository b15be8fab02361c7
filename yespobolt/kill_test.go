//go:build unix

package yespobolt_test

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespobolt"
	"github.com/yespo-go/yespo/yespotest"
)

var (
	long     = flag.Bool("long", false, "run the kill loops at full size (200 kills)")
	killSeed = flag.Uint64("seed", 0, "the kill loops' seed, to replay a run (0: a random one)")
)

// seedOf returns -seed, or a random seed; the loops log it.
func seedOf() uint64 {
	if *killSeed != 0 {
		return *killSeed
	}
	return rand.Uint64()
}

var (
	childOnce sync.Once
	childPath string
	childErr  error
)

// childBinary builds internal/killchild once per test process.
func childBinary(t *testing.T) string {
	t.Helper()
	childOnce.Do(func() {
		dir, err := os.MkdirTemp("", "yespobolt-killchild-")
		if err != nil {
			childErr = err
			return
		}
		childPath = filepath.Join(dir, "killchild")
		out, err := exec.Command("go", "build", "-o", childPath, "./internal/killchild").CombinedOutput()
		if err != nil {
			childErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, childErr)
	return childPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if childPath != "" {
		_ = os.RemoveAll(filepath.Dir(childPath))
	}
	os.Exit(code)
}

// child is a running killchild: the tokens it printed (Add returned nil)
// and its stderr.
type child struct {
	cmd    *exec.Cmd
	first  chan struct{} // closed at its first printed token
	done   chan struct{} // closed when stdout is drained
	mu     sync.Mutex
	added  []string
	stderr strings.Builder
}

func startChild(t *testing.T, srv *yespotest.Server, app, journal string, args ...string) *child {
	t.Helper()
	c := &child{first: make(chan struct{}), done: make(chan struct{})}
	c.cmd = exec.Command(childBinary(t), append([]string{"-journal", journal}, args...)...)
	c.cmd.Env = append(os.Environ(), "YESPO_API_KEY="+srv.APIKey, "YESPO_BASE_URL="+srv.URL, "YESPO_APP_UUID="+app)
	c.cmd.Stderr = &lockedWriter{mu: &c.mu, b: &c.stderr}
	out, err := c.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, c.cmd.Start())
	t.Cleanup(func() { _ = c.cmd.Process.Kill() })
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.mu.Lock()
			c.added = append(c.added, sc.Text())
			if len(c.added) == 1 {
				close(c.first)
			}
			c.mu.Unlock()
		}
	}()
	return c
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// killAtRandom waits for c's first printed line, then for after — the
// random moment of the kill — then SIGKILLs c and checks that it died of it.
func (c *child) killAtRandom(t *testing.T, round int, after time.Duration) {
	t.Helper()
	select {
	case <-c.first:
	case <-c.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("round %d: the child printed nothing in 30 s", round)
	}
	time.Sleep(after) // when the kill lands, not whether the test passes
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
	stderr, err := c.wait()
	var exit *exec.ExitError
	if !assert.ErrorAs(t, err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("round %d: the child did not die of the SIGKILL: %v\n%s", round, err, stderr)
	}
}

// wait reaps the child and returns its exit error and stderr.
func (c *child) wait() (stderr string, err error) {
	<-c.done
	err = c.cmd.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String(), err
}

// TestKillLoopLosesNothing SIGKILLs a process adding tokens through a
// Batcher on a yespobolt journal at random moments, restarts it on the same
// journal each time, and checks that every token whose Add returned nil
// reached the fake Yespo, which lives here in the parent and so outlives
// every child. Yespo answers some requests 503, so that some kills land
// while tokens are held.
func TestKillLoopLosesNothing(t *testing.T) {
	kills := 20
	if *long {
		kills = 200
	}
	seed := seedOf()
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("seed %d, %d kills", seed, kills)

	srv := yespotest.NewServer(yespotest.WithLatency(5*time.Millisecond), yespotest.WithSeed(int64(seed>>1)))
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	srv.FailRandomly(0.1, yespotest.Fault{Status: 503})
	journal := filepath.Join(t.TempDir(), "journal")

	var promised []string
	for round := range kills {
		c := startChild(t, srv, app, journal, "-prefix", fmt.Sprint(round+1), "-workers", fmt.Sprint(1+rng.IntN(16)))
		c.killAtRandom(t, round, time.Duration(rng.IntN(300))*time.Millisecond)
		promised = append(promised, c.added...)
	}

	srv.FailRandomly(0)
	c := startChild(t, srv, app, journal, "-drain")
	stderr, err := c.wait()
	require.NoError(t, err, stderr)
	t.Log(strings.Join(c.added, "\n"))

	missing := 0
	for _, tk := range promised {
		if _, ok := srv.ContactByToken(app, tk); !ok {
			missing++
			if missing <= 10 {
				t.Errorf("token %s: Add returned nil, Yespo never got it", tk)
			}
		}
	}
	assert.Zero(t, missing, "of %d tokens whose Add returned nil", len(promised))
	sent, dup := wireCounts(t, srv)
	t.Logf("%d kills: %d tokens promised, %d distinct tokens accepted by the fake, %d accepted more than once (at-least-once)", kills, len(promised), sent, dup)
	require.NotEmpty(t, promised, "the loop must have added something")

	j, err := yespobolt.Open(journal)
	require.NoError(t, err)
	defer j.Close()
	require.NoError(t, j.Open(ctx, yespo.JournalTarget{AppUUID: app, BaseURL: srv.URL}))
	st, err := j.Stats(ctx)
	require.NoError(t, err)
	assert.Zero(t, st.Depth, "the drain left the journal empty")
}

// wireCounts counts the distinct tokens in requests the fake accepted, and
// those it accepted more than once.
func wireCounts(t *testing.T, srv *yespotest.Server) (distinct, duplicated int) {
	t.Helper()
	seen := map[string]int{}
	for _, r := range srv.Requests() {
		if r.Status != 200 || !strings.HasSuffix(r.Path, "/tokens") {
			continue
		}
		var body struct{ Tokens []yespo.Token }
		require.NoError(t, json.Unmarshal(r.Body, &body))
		for _, tk := range body.Tokens {
			seen[tk.Token]++
		}
	}
	for _, n := range seen {
		if n > 1 {
			duplicated++
		}
	}
	return len(seen), duplicated
}

// TestSecondProcessGetsAClearError runs the child on a journal this
// process holds open: it must fail at once, saying why.
func TestSecondProcessGetsAClearError(t *testing.T) {
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	path := filepath.Join(t.TempDir(), "journal")
	j, err := yespobolt.Open(path)
	require.NoError(t, err)
	defer j.Close()
	c := startChild(t, srv, app, path, "-n", "1")
	exited := make(chan struct{})
	var stderr string
	go func() { stderr, err = c.wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the second process hangs on the journal")
	}
	require.Error(t, err)
	assert.Contains(t, stderr, "in use by another process")
	assert.Empty(t, c.added)
}

// TestFullDiskIsAnErrorFromAdd runs the child with a file-size limit, as on
// a full disk: once the journal cannot grow, Add fails with the store's own
// error and the child stops; every token whose Add returned nil reaches
// Yespo after a run without the limit, and the file was never damaged.
func TestFullDiskIsAnErrorFromAdd(t *testing.T) {
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	srv.FailRandomly(1, yespotest.Fault{Status: 503}) // nothing leaves the journal while it fills
	journal := filepath.Join(t.TempDir(), "journal")
	began := time.Now()
	c := startChild(t, srv, app, journal, "-fsize", fmt.Sprint(256<<10), "-workers", "64")
	stderr, err := c.wait()
	t.Logf("filled in %v; %s", time.Since(began), firstLine(stderr, "closed in"))
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, stderr)
	require.Equal(t, 3, exit.ExitCode(), "the child stops at the first failed Add:\n%s", stderr)
	assert.Contains(t, stderr, "add: yespo: batcher: journal: token not accepted")
	assert.Contains(t, stderr, "file too large", "the store's own words")
	require.NotEmpty(t, c.added)
	t.Logf("%d tokens accepted before the journal could not grow; the first refusal: %s", len(c.added), firstLine(stderr, "add: "))

	srv.FailRandomly(0)
	d := startChild(t, srv, app, journal, "-drain")
	stderr, err = d.wait()
	require.NoError(t, err, stderr)
	missing := 0
	for _, tk := range c.added {
		if _, ok := srv.ContactByToken(app, tk); !ok {
			missing++
		}
	}
	assert.Zero(t, missing, "of %d tokens whose Add returned nil before the disk was full", len(c.added))
}

// firstLine returns the first line of text that starts with prefix.
func firstLine(text, prefix string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
