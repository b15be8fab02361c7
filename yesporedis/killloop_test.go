package yesporedis_test

import (
	"encoding/json"
	"flag"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yesporedis/redistest"
	"github.com/yespo-go/yespo/yespotest"
)

var long = flag.Bool("long", false, "run the long scenarios at full size")

// replica is one journal child of the kill loop and the tokens it
// reported added.
type replica struct {
	*child
	stopped chan struct{} // closed when it printed "stopped"
}

// TestJournalKillLoop: three replicas add tokens through one Redis journal
// (appendonly yes, appendfsync always); one at a time is SIGKILLed at a
// random moment and replaced by a new process, and Redis itself is killed
// and restarted once mid-run. In the end the survivors deliver to the fake
// Yespo every token whose Add returned nil. Duplicates on the wire are
// counted and reported, never a loss. About 15 s (a few minutes with
// -long).
func TestJournalKillLoop(t *testing.T) {
	run, kills := 12*time.Second, 0
	if *long {
		run = 3 * time.Minute
	}
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)
	rs := redistest.Start(t, redistest.Durable())
	srv := yespotest.NewServer(yespotest.WithLatency(20 * time.Millisecond))
	t.Cleanup(srv.Close)
	app := srv.NewApp()

	var mu sync.Mutex
	accepted := map[string]bool{}
	next := 0
	spawn := func() *replica {
		next++
		c := startChild(t, "journal", "YR_REDIS="+rs.Addr, "YR_YESPO="+srv.URL, "YR_APIKEY="+srv.APIKey,
			"YR_APP="+app, "YR_ID=r"+strconv.Itoa(next))
		c.expect(t, "ready")
		r := &replica{child: c, stopped: make(chan struct{})}
		go func() {
			for line := range c.lines {
				if tok, ok := strings.CutPrefix(line, "ok "); ok {
					mu.Lock()
					accepted[tok] = true
					mu.Unlock()
				} else if line == "stopped" {
					close(r.stopped)
				}
			}
		}()
		return r
	}
	live := []*replica{spawn(), spawn(), spawn()}
	start := time.Now()
	restarted := false
	for time.Since(start) < run {
		time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
		if !restarted && time.Since(start) > run/2 {
			rs.Kill()
			rs.Restart()
			restarted = true
			continue
		}
		i := rng.IntN(len(live))
		_ = live[i].cmd.Process.Kill()
		_ = live[i].cmd.Wait()
		kills++
		live[i] = spawn()
	}
	for _, r := range live {
		_, _ = r.stdin.Write([]byte("stop\n"))
	}
	for _, r := range live {
		select {
		case <-r.stopped:
		case <-time.After(30 * time.Second):
			t.Fatal("a replica did not stop adding within 30 s")
		}
	}
	mu.Lock()
	want := make([]string, 0, len(accepted))
	for tok := range accepted {
		want = append(want, tok)
	}
	mu.Unlock()

	// The survivors reclaim what the killed left once it has been idle
	// for ClaimIdle, on their next reclaim (every 10 s).
	missing := want
	for deadline := time.Now().Add(60 * time.Second); len(missing) > 0 && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		var still []string
		for _, tok := range missing {
			if _, ok := srv.ContactByToken(app, tok); !ok {
				still = append(still, tok)
			}
		}
		missing = still
	}
	for _, r := range live {
		_ = r.stdin.Close()
		_ = r.cmd.Wait()
	}
	sent, dups := wireCount(srv)
	t.Logf("%d kills and a Redis restart in %v: %d tokens accepted, %d sent to Yespo, %d of them more than once",
		kills, run, len(want), sent, dups)
	if len(want) < 100 {
		t.Errorf("only %d tokens accepted: the replicas hardly ran", len(want))
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d accepted tokens never reached Yespo, e.g. %v", len(missing), len(want), missing[:min(5, len(missing))])
	}
}

// wireCount counts the tokens of the AddAppTokens requests Yespo accepted:
// all of them, and those sent more than once.
func wireCount(srv *yespotest.Server) (sent, dups int) {
	seen := map[string]int{}
	for _, r := range srv.Requests() {
		if r.Status != http.StatusOK || !strings.HasSuffix(r.Path, "/tokens") {
			continue
		}
		var body struct{ Tokens []yespo.Token }
		if json.Unmarshal(r.Body, &body) == nil {
			for _, t := range body.Tokens {
				seen[t.Token]++
			}
		}
	}
	for _, n := range seen {
		sent++
		if n > 1 {
			dups++
		}
	}
	return sent, dups
}
