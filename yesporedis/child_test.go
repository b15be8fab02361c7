package yesporedis_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yesporedis"
)

// Tests that need processes, not goroutines, re-run the test binary as a
// child: TestMain hands it to the child mode named in YR_CHILD.
func TestMain(m *testing.M) {
	switch os.Getenv("YR_CHILD") {
	case "":
		os.Exit(m.Run())
	case "waiters":
		waitersChild()
	case "outage":
		outageChild()
	case "journal":
		journalChild()
	default:
		fmt.Fprintln(os.Stderr, "unknown YR_CHILD", os.Getenv("YR_CHILD"))
		os.Exit(2)
	}
	os.Exit(0)
}

// env returns the child's setting name, exiting when it is missing.
func env(name string) string {
	v := os.Getenv(name)
	if v == "" {
		fmt.Fprintln(os.Stderr, "child: missing", name)
		os.Exit(2)
	}
	return v
}

func envInt(name string) int {
	n, err := strconv.Atoi(env(name))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", name, err)
		os.Exit(2)
	}
	return n
}

// countingLimiter counts the Waits its limiter granted.
type countingLimiter struct {
	lim     yespo.Limiter
	granted atomic.Int64
}

func (c *countingLimiter) Wait(ctx context.Context) error {
	err := c.lim.Wait(ctx)
	if err == nil {
		c.granted.Add(1)
	}
	return err
}

// waitersChild is one replica: YR_WAITERS goroutines call Yespo (YR_YESPO)
// back to back through one yesporedis limiter (Redis at YR_REDIS; its
// timeout YR_REDIS_TIMEOUT_MS if set), from the moment stdin says "go" for
// YR_MILLIS; then it prints how many Waits were granted. The limiter logs
// to stderr: a fallback shows there.
func waitersChild() {
	rdb := redis.NewClient(&redis.Options{Addr: env("YR_REDIS")})
	defer rdb.Close()
	opts := []yesporedis.Option{yesporedis.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil)))}
	if ms := os.Getenv("YR_REDIS_TIMEOUT_MS"); ms != "" {
		opts = append(opts, yesporedis.WithRedisTimeout(time.Duration(envInt("YR_REDIS_TIMEOUT_MS"))*time.Millisecond))
	}
	lim := &countingLimiter{lim: yesporedis.NewLimiter(rdb, "yespo:acct", 200, opts...)}
	c, err := yespo.NewClient("test-key", yespo.WithBaseURL(env("YR_YESPO")), yespo.WithRetry(0, 0, 0),
		yespo.WithUserAgent("replica"), yespo.WithRateLimiter(lim))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	fmt.Println("ready")
	if line, _ := bufio.NewReader(os.Stdin).ReadString('\n'); line != "go\n" {
		os.Exit(3)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(envInt("YR_MILLIS"))*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for range envInt("YR_WAITERS") {
		wg.Go(func() {
			for ctx.Err() == nil {
				_ = c.MuteAppToken(ctx, testAppUUID, "42", 0)
			}
		})
	}
	wg.Wait()
	fmt.Println("granted", lim.granted.Load())
}

// child is a running child process: its stdin, and its stdout line by line.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // closed when stdout ends
	stderr logBuffer
}

// startChild runs the test binary in child mode with env added.
func startChild(t testing.TB, mode string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"YR_CHILD=" + mode}, env...)...)
	c := &child{cmd: cmd, lines: make(chan string, 1024)}
	cmd.Stderr = &c.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.stdin = stdin
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() && c.stderr.String() != "" {
			t.Logf("the child's stderr:\n%s", c.stderr.String())
		}
	})
	return c
}

// expect waits, up to 30 s (a bound for a hung child, not a pass
// criterion), for a line starting with prefix and returns the rest.
func (c *child) expect(t testing.TB, prefix string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				t.Fatalf("child exited before %q", prefix)
			}
			if rest, found := strings.CutPrefix(line, prefix); found {
				return strings.TrimSpace(rest)
			}
		case <-timeout:
			t.Fatalf("no %q from the child within 30 s", prefix)
		}
	}
}

// outageChild is a bot's process logging at Info to stderr, with 16
// goroutines waiting on a limiter until stdin closes. YR_LOGS says what it
// does with go-redis's own logs: "route" (RouteRedisLogs to the same
// logger), "quiet" (QuietRedisLogs) or "" (nothing: go-redis's default).
func outageChild() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	switch os.Getenv("YR_LOGS") {
	case "route":
		yesporedis.RouteRedisLogs(logger)
	case "quiet":
		yesporedis.QuietRedisLogs()
	}
	rdb := redis.NewClient(&redis.Options{Addr: env("YR_REDIS")})
	defer rdb.Close()
	// A Redis timeout well above a loaded machine's slowest answer: only the
	// outage the test makes may be logged. A killed Redis refuses at once.
	lim := yesporedis.NewLimiter(rdb, "yespo:acct", 200, yesporedis.WithLogger(logger), yesporedis.WithRedisTimeout(2*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	var granted atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for lim.Wait(ctx) == nil {
				if granted.Add(1) == 20 {
					fmt.Println("ready")
				}
			}
		})
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	cancel()
	wg.Wait()
}
