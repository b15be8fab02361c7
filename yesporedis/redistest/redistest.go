// Package redistest runs a real redis-server for tests: on a free loopback
// port, without persistence unless Durable, stopped when the test ends. It is how
// yesporedis and the examples test against Redis without mocking it, and
// how a bot that uses yesporedis can test its own code.
//
//	rs := redistest.Start(t)            // skips without redis-server, fails in CI
//	lim := yesporedis.NewLimiter(rs.Client(), "yespo:account", 200)
//	rs.Kill()                           // a crash: calls must go on
//	rs.Restart()                        // an empty Redis at the same address
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a real redis-server of the test's own, on 127.0.0.1, by default
// with no persistence, so that SIGKILL and a restart on the same port give
// an empty Redis at the same address, as a crashed Redis does (Durable for
// one that keeps what it acknowledged).
type Server struct {
	t       testing.TB
	Addr    string // host:port, on 127.0.0.1
	port    int
	dir     string
	cmd     *exec.Cmd
	durable bool
}

// Option configures a Server in Start.
type Option func(*Server)

// Durable runs redis-server with an append-only file synced on every write
// (appendonly yes, appendfsync always), in the test's temporary directory:
// after Kill, Restart brings back everything Redis acknowledged, as a
// journal needs.
func Durable() Option { return func(s *Server) { s.durable = true } }

// Start starts redis-server and returns once it answers PING. Without
// redis-server in PATH it skips the test, or fails it when CI is set: in CI a
// skipped limiter test would be a silently untested limiter.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		msg := "redis-server not in PATH: install it (Debian: apt-get install redis-server) to run the yesporedis tests"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s := &Server{t: t, dir: t.TempDir()}
	for _, o := range opts {
		o(s)
	}
	var err error
	// A free port can be taken between closing the probe listener and
	// redis-server binding it; try a few.
	for range 5 {
		if s.port, err = freePort(); err != nil {
			continue
		}
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	s.Addr = "127.0.0.1:" + strconv.Itoa(s.port)
	t.Cleanup(s.Kill)
	return s
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// start runs redis-server on s.port and waits, up to 10 s, until it answers.
func (s *Server) start() error {
	persist := []string{"--appendonly", "no"}
	if s.durable {
		persist = []string{"--appendonly", "yes", "--appendfsync", "always"}
	}
	cmd := exec.Command("redis-server", append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--dir", s.dir}, persist...)...)
	// redis-server logs to stdout; a test shows it only when it fails.
	cmd.Dir = s.dir
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	addr := "127.0.0.1:" + strconv.Itoa(s.port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			return errors.New("redis-server exited at start (port taken?)")
		default:
		}
		if ping(addr) == nil {
			s.cmd = cmd
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return fmt.Errorf("redis-server on %s did not answer PING within 10 s", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ping sends PING over a plain connection: a go-redis client would log its
// failed dials to the process's stderr while redis-server starts or dies.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line) // -LOADING while it reads its append-only file
	}
	return nil
}

// Kill sends SIGKILL, as a crash would, and waits until the port is free of
// it.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	for deadline := time.Now().Add(5 * time.Second); ping(s.Addr) == nil; {
		if time.Now().After(deadline) {
			s.t.Errorf("redis-server on %s still answers after SIGKILL", s.Addr)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.cmd = nil
}

// Restart starts redis-server again on the same port: empty, or, Durable,
// with what the killed one acknowledged.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("restarting redis-server on %s: %v", s.Addr, err)
	}
}

// Client returns a go-redis client of its own, as one process would have.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// URL is the server's address as a redis:// URL, for redis.ParseURL and
// the examples' YESPO_REDIS_URL.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }
