package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/yespotest"
)

var long = flag.Bool("long", false, "run the long scenarios (kill loops, a million rows) at full size")

// readCheckpoint returns the checkpoint at path, false while there is none.
func readCheckpoint(path string) (checkpoint, bool) {
	b, err := os.ReadFile(path)
	var cp checkpoint
	return cp, err == nil && json.Unmarshal(b, &cp) == nil
}

// SIGKILL at five random moments of an import, each time resuming with
// the same command: every valid row ends up stored once and every invalid
// one rejected once, the last run's totals are the whole file's, and each
// kill costs at most the batches in flight: -concurrency × -batch rows
// sent again. 20,000 rows by default, 200,000 with -long.
func TestBinaryKillLoop(t *testing.T) {
	rows := 20_000
	if *long {
		rows = 200_000
	}
	const batch, concurrency, kills = 100, 8, 5
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	srv := yespotest.NewServer(yespotest.WithSeed(int64(seed >> 1)))
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	// Each answer takes a moment, so that requests overlap and a kill finds
	// several in flight.
	srv.FailRandomly(1, yespotest.Fault{Delay: time.Millisecond}, yespotest.Fault{Delay: 5 * time.Millisecond})
	path, invalid := subscribers(t, rows)
	args := []string{"-batch", fmt.Sprint(batch), "-concurrency", fmt.Sprint(concurrency), "-rps", "100000", "-progress-every", "1h", path}
	env := environ(serverEnv(srv, app)...)

	// Kill when a random share of the file is done (by the checkpoint),
	// plus a random few milliseconds: anywhere in a batch's life.
	targets := make([]float64, kills)
	for i := range targets {
		targets[i] = 0.05 + 0.8*rng.Float64()
	}
	slices.Sort(targets)
	var bounds []int // index in srv.Requests() where each run's requests begin
	for k := range kills {
		p := start(t, env, args...)
		p.waitLine(`^import-subscribers: importing `) // no request of this run yet
		bounds = append(bounds, len(srv.Requests()))
		want := int64(targets[k] * float64(rows))
		require.Eventually(t, func() bool {
			cp, ok := readCheckpoint(path + ".checkpoint")
			return ok && cp.Done.total() >= want
		}, 2*time.Minute, time.Millisecond, "kill %d: %d rows done", k+1, want)
		time.Sleep(time.Duration(rng.IntN(5000)) * time.Microsecond) // where the kill lands, not whether the test passes
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
		require.Equal(t, -1, p.wait(), "kill %d: killed, not exited:\n%s", k+1, p.output())
		cp, _ := readCheckpoint(path + ".checkpoint")
		t.Logf("kill %d at %.0f%%: checkpoint %s, %d spans past line %d", k+1, 100*targets[k], cp.Done, len(cp.Spans), cp.Prefix.LastLine)
	}
	p := start(t, env, args...)
	p.waitLine(`^import-subscribers: importing `)
	bounds = append(bounds, len(srv.Requests()))
	require.Equal(t, exitRejects, p.wait(), p.output())
	assert.Contains(t, p.errText(), "import-subscribers: resuming ")
	assertImported(t, path, rows, srv, invalid)
	assert.Contains(t, p.stdout.String(), fmt.Sprintf("%d rows sent, 0 failed, %d rejected. (The whole file, over several runs;", rows-len(invalid), len(invalid)),
		"the totals are the whole file's, each row counted once")

	// What each kill cost: rows accepted again by the run after it.
	reqs := srv.Requests()
	seen := map[string]bool{}
	for run := range bounds {
		end := len(reqs)
		if run+1 < len(bounds) {
			end = bounds[run+1]
		}
		again := 0
		for tok := range acceptedIn(t, reqs[bounds[run]:end]) {
			if seen[tok] {
				again++
			}
			seen[tok] = true
		}
		if run > 0 {
			t.Logf("kill %d: %d rows sent again", run, again)
			assert.LessOrEqual(t, again, concurrency*batch, "kill %d re-sent more than the batches in flight", run)
		}
	}
}

// acceptedIn returns the tokens of the accepted requests among reqs.
func acceptedIn(t *testing.T, reqs []yespotest.Request) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, r := range reqs {
		if r.Status != 200 {
			continue
		}
		var body struct{ Tokens []struct{ Token string } }
		require.NoError(t, json.Unmarshal(r.Body, &body))
		for _, tok := range body.Tokens {
			out[tok.Token] = true
		}
	}
	return out
}
