// Package killtest is the recipes' kill test: the recipe in the test's
// directory, built as a binary, takes a burst of 500 /start updates from
// telegramtest and subscribes them to yespotest; it is killed with SIGKILL
// at random moments of the burst and started again on the same state,
// until every update is handled: every user is subscribed in Yespo.
package killtest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/deeplink"
	"github.com/yespo-go/yespo/telegramtest"
	"github.com/yespo-go/yespo/yespotest"
)

// Burst is the number of users, each sending one /start at once.
const Burst = 500

// Rounds is how many bursts a test plays: 1, or 7 with -long.
func Rounds(long bool) int {
	if long {
		return 7
	}
	return 1
}

// killsPerRound is the most SIGKILLs during one burst.
const killsPerRound = 3

// waitLimit bounds every wait of the test.
const waitLimit = 2 * time.Minute

// Run builds the recipe in the current directory and plays rounds bursts,
// each with up to 3 SIGKILLs at random moments (fewer if the burst is
// through before) and a last run to the end; it fails unless every update
// was handled at least once. The recipe must log "polling" once it
// handles signals.
func Run(t *testing.T, rounds int) {
	began := time.Now()
	bin := filepath.Join(t.TempDir(), "recipe")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built in %s", time.Since(began).Round(time.Millisecond))
	tg := telegramtest.NewServer()
	defer tg.Close()
	ys := yespotest.NewServer()
	defer ys.Close()
	app := ys.NewApp()
	secret := []byte("a-link-secret-of-at-least-32-bytes-for-the-kill-test")
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"TELEGRAM_BOT_TOKEN=" + tg.Token, "TELEGRAM_API_URL=" + tg.URL,
		"YESPO_API_KEY=" + ys.APIKey, "YESPO_BASE_URL=" + ys.URL, "YESPO_APP_UUID=" + app,
		"TELEGRAM_LINK_SECRET=" + string(secret)}

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for round := range rounds {
		base := 100000 + round*Burst
		var last int64
		for i := range Burst {
			payload, err := deeplink.Sign(secret, "crm-"+strconv.Itoa(base+i))
			if err != nil {
				t.Fatal(err)
			}
			last = tg.NewUser(int64(base+i), "User").Send("/start " + payload)
		}
		subscribed := func() int {
			n := 0
			for i := range Burst {
				if _, ok := ys.ContactByToken(app, yespo.TelegramToken(int64(base+i))); ok {
					n++
				}
			}
			return n
		}

		// progress counts the users subscribed and the updates confirmed: 2 ×
		// Burst once the burst is through. Each run is killed when progress
		// reaches a random point ahead of where it started.
		progress := func() int { return subscribed() + Burst - tg.PendingUpdates() }
		for k := range killsPerRound {
			from := progress()
			if from >= 2*Burst-1 {
				t.Logf("round %d, run %d: the burst is through; no more SIGKILLs", round, k)
				break
			}
			p := start(t, bin, env)
			target := from + 1 + rng.IntN(max((2*Burst-1-from)*3/4, 1))
			if err := waitFor(func() bool { return progress() >= target || p.exited() }); err != nil {
				t.Fatalf("run %d: %d of %d subscribed, %d unconfirmed, waiting for progress %d: %v\n%s",
					k, subscribed(), Burst, tg.PendingUpdates(), target, err, p.stderr)
			}
			if p.exited() {
				t.Fatalf("run %d exited by itself:\n%s", k, p.stderr)
			}
			pending := tg.PendingUpdates()
			p.kill()
			t.Logf("round %d, run %d: SIGKILL at %s with %d of %d subscribed, %d updates unconfirmed",
				round, k, time.Since(began).Round(time.Millisecond), subscribed(), Burst, pending)
			if k == 0 && pending == 0 {
				t.Fatal("the first SIGKILL came after the burst: it tests nothing")
			}
		}
		p := start(t, bin, env)
		if err := waitFor(func() bool { return strings.Contains(p.stderr.String(), "polling") || p.exited() }); err != nil || p.exited() {
			t.Fatalf("the last run did not start: %v\n%s", err, p.stderr)
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		err := tg.WaitConfirmed(ctx, last)
		cancel()
		if err != nil {
			t.Fatalf("the last run did not confirm the burst: %v; %d of %d subscribed\n%s", err, subscribed(), Burst, p.stderr)
		}
		t.Logf("round %d: the last run confirmed the burst at %s", round, time.Since(began).Round(time.Millisecond))
		if n := subscribed(); n != Burst {
			t.Errorf("%d of %d users subscribed: %d updates lost", n, Burst, Burst-n)
		}
		if err := p.stop(); err != nil {
			t.Errorf("stop by SIGTERM: %v\n%s", err, p.stderr)
		}
	}
}

// waitFor waits until cond holds, checking every few milliseconds, for at
// most waitLimit.
func waitFor(cond func() bool) error {
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", waitLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// proc is one run of the recipe.
type proc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

func start(t *testing.T, bin string, env []string) *proc {
	p := &proc{cmd: exec.Command(bin), stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); <-p.done })
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and returns the exit's error, or one if it takes
// longer than waitLimit.
func (p *proc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(waitLimit):
		return fmt.Errorf("still running %s after SIGTERM", waitLimit)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
