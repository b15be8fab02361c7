package yespo_test

import (
	"bytes"
	"cmp"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
)

// testKey is the key of the tests' clients; the secret sweep in .ci/run
// sets it, and turns on debug logging, to look for it in all test output.
var testKey = cmp.Or(os.Getenv("YESPO_SWEEP_KEY"), "test-api-key")

const (
	appUUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
	// prefix mounts the fake API below a path, so that a client that drops
	// the base URL's path (an absolute-path bug) misses every handler.
	prefix = "/prefix/api/"
)

// recorded is one request as the server saw it.
type recorded struct {
	Method, Path, RawPath string
	Header                http.Header
	Body                  []byte
	User, Pass            string
	HasAuth               bool
}

// server is an httptest server mounted under prefix that records requests.
type server struct {
	*httptest.Server
	mux  *http.ServeMux
	mu   sync.Mutex
	reqs []recorded
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{mux: http.NewServeMux()}
	outer := http.NewServeMux()
	outer.Handle(prefix, http.StripPrefix(prefix[:len(prefix)-1], s.record(s.mux)))
	outer.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside the base URL: %s %s", r.Method, r.URL.Path)
		http.Error(w, "outside base URL", http.StatusTeapot)
	})
	s.Server = httptest.NewServer(outer)
	t.Cleanup(s.Close)
	return s
}

func (s *server) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		user, pass, ok := r.BasicAuth()
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{r.Method, r.URL.Path, r.URL.RawPath, r.Header.Clone(), body, user, pass, ok})
		s.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

func (s *server) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

// baseURL is what a user passes to WithBaseURL.
func (s *server) baseURL() string { return s.URL + prefix }

// client returns a client for s with short retry waits.
func (s *server) client(t *testing.T, opts ...yespo.Option) *yespo.Client {
	t.Helper()
	all := []yespo.Option{yespo.WithBaseURL(s.baseURL()), yespo.WithRetry(3, time.Millisecond, 20*time.Millisecond)}
	if os.Getenv("YESPO_SWEEP_KEY") != "" { // first, so that a test's own logger wins
		all = append(all, yespo.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	all = append(all, opts...)
	c, err := yespo.NewClient(testKey, all...)
	require.NoError(t, err)
	return c
}

// answer replies with status and body.
func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// sequence answers the i-th request with handlers[i], the last one repeating.
func sequence(handlers ...http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	i := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := handlers[min(i, len(handlers)-1)]
		i++
		mu.Unlock()
		h(w, r)
	}
}

// reset closes the connection without an answer.
func reset(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// countingLimiter counts Wait calls and can fail them.
type countingLimiter struct {
	mu    sync.Mutex
	calls int
	err   error
}

func (l *countingLimiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.err != nil {
		return l.err
	}
	return ctx.Err()
}

func (l *countingLimiter) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls
}

// newOtherHost starts a server that the client reaches as "localhost": a
// host other than newServer's 127.0.0.1 on the same machine. auths returns
// the Authorization header of every request it got.
func newOtherHost(t *testing.T) (baseURL string, auths func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}
