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

// waitLimit bounds every wait of the test.
const waitLimit = 2 * time.Minute

// Run builds the recipe in the current directory and plays the burst with
// kills SIGKILLs; it fails unless every update was handled at least once.
func Run(t *testing.T, kills int) {
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

	var last int64
	for i := range Burst {
		payload, err := deeplink.Sign(secret, "crm-"+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		last = tg.NewUser(int64(100000+i), "User").Send("/start " + payload)
	}
	subscribed := func() int {
		n := 0
		for i := range Burst {
			if _, ok := ys.ContactByToken(app, yespo.TelegramToken(int64(100000+i))); ok {
				n++
			}
		}
		return n
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for k := range kills {
		p := start(t, bin, env)
		done := subscribed()
		target := done + 1 + rng.IntN(max((Burst-done)*3/4, 1))
		if err := waitFor(func() bool { return subscribed() >= target || p.exited() }); err != nil {
			t.Fatalf("run %d: %d of %d subscribed, waiting for %d: %v\n%s", k, subscribed(), Burst, target, err, p.stderr)
		}
		if p.exited() {
			t.Fatalf("run %d exited by itself:\n%s", k, p.stderr)
		}
		pending := tg.PendingUpdates()
		p.kill()
		t.Logf("run %d: SIGKILL at %s with %d of %d subscribed, %d updates unconfirmed",
			k, time.Since(began).Round(time.Millisecond), subscribed(), Burst, pending)
		if k == 0 && pending == 0 {
			t.Fatal("the first SIGKILL came after the burst: it tests nothing")
		}
	}
	p := start(t, bin, env)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := tg.WaitConfirmed(ctx, last); err != nil {
		t.Fatalf("the last run did not confirm the burst: %v; %d of %d subscribed\n%s", err, subscribed(), Burst, p.stderr)
	}
	t.Logf("last run confirmed the burst at %s", time.Since(began).Round(time.Millisecond))
	if n := subscribed(); n != Burst {
		t.Errorf("%d of %d users subscribed: %d updates lost", n, Burst, Burst-n)
	}
	if err := p.stop(); err != nil {
		t.Errorf("stop by SIGTERM: %v\n%s", err, p.stderr)
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
