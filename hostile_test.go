package yespo_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
)

// The hostile-server suite: servers that misbehave in every way a proxy, a
// load balancer or a broken deployment can. Each case must end in a clear
// error (or a justified success) with bounded memory and no goroutine left
// behind. No wall clock decides a case: what ended a call is read from its
// error (a client timeout is a net.Error whose Timeout() is true), and the
// only time limits are deadlines far beyond what a call takes.

// hostileTimeout is the client timeout of most cases: the servers there
// answer at once (or never end), so a call that hits it has waited for an
// end that never comes, and its error says so.
const hostileTimeout = time.Minute

// generous bounds a call that should take milliseconds, on a loaded
// machine: over ten times what it takes, and far below hostileTimeout.
const generous = 10 * time.Second

// hostile runs call against handler over a real socket and returns how
// long it took, how many bytes the client side allocated, and the error.
func hostile(t *testing.T, handler http.Handler, call func(*yespo.Client) error) (time.Duration, uint64, error) {
	t.Helper()
	return hostileWith(t, hostileTimeout, handler, call)
}

// hostileWith is hostile with the given client timeout.
func hostileWith(t *testing.T, timeout time.Duration, handler http.Handler, call func(*yespo.Client) error) (time.Duration, uint64, error) {
	t.Helper()
	before := runtime.NumGoroutine()
	srv := httptest.NewServer(handler)
	transport := &http.Transport{}
	c, err := yespo.NewClient(testKey,
		yespo.WithBaseURL(srv.URL+"/api/"),
		yespo.WithHTTPClient(&http.Client{Transport: transport, Timeout: timeout}),
		yespo.WithRetry(1, time.Millisecond, 5*time.Millisecond))
	require.NoError(t, err)

	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start := time.Now()
	err = call(c)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&m1)

	transport.CloseIdleConnections()
	srv.CloseClientConnections()
	srv.Close()
	noLeak(t, before)
	return elapsed, m1.TotalAlloc - m0.TotalAlloc, err
}

// noLeak waits until no more goroutines run than before. It polls itself:
// testify's Eventually runs its condition in a goroutine of its own.
func noLeak(t *testing.T, before int) {
	t.Helper()
	for deadline := time.Now().Add(generous); runtime.NumGoroutine() > before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines leaked: %d before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
	}
}

// timedOut reports whether err ended a call at the client's timeout.
func timedOut(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func addOne(c *yespo.Client) error {
	return c.AddAppTokens(context.Background(), appUUID, []yespo.Token{{Token: "1", Email: "a@example.com"}})
}

func contactID(c *yespo.Client) error {
	_, err := c.ContactIDByToken(context.Background(), appUUID, "1")
	return err
}

// stream writes n bytes (or forever when n < 0) after the status.
func stream(status int, n int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		chunk := []byte(strings.Repeat("x", 32<<10))
		for sent := int64(0); n < 0 || sent < n; sent += int64(len(chunk)) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
}

const memBound = 4 << 20 // what a single call may allocate, whatever the server sends

func TestHostile50MBErrorBody(t *testing.T) {
	took, alloc, err := hostile(t, stream(400, 50<<20), addOne)
	assert.False(t, timedOut(err), "read to the end: %v", err)
	var ae *yespo.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 400, ae.StatusCode)
	assert.Len(t, ae.Body, 64<<10)
	assert.Less(t, alloc, uint64(memBound))
	t.Logf("50 MB error body: %v, %d KiB allocated", took.Round(time.Millisecond), alloc>>10)
}

func TestHostileEndlessBodies(t *testing.T) {
	for name, tc := range map[string]struct {
		status int
		call   func(*yespo.Client) error
		check  func(*testing.T, error)
	}{
		"error answer": {500, addOne, func(t *testing.T, err error) { assert.ErrorIs(t, err, yespo.ErrServer) }},
		"200 to AddAppTokens": {200, addOne, func(t *testing.T, err error) {
			assert.NoError(t, err, "a 2xx is success; the rest of the body is not read")
		}},
		"200 to ContactIDByToken": {200, contactID, func(t *testing.T, err error) { assert.ErrorIs(t, err, yespo.ErrUnexpectedResponse) }},
	} {
		t.Run(name, func(t *testing.T) {
			took, alloc, err := hostile(t, stream(tc.status, -1), tc.call)
			tc.check(t, err)
			// An endless body read to its end ends only at the timeout.
			assert.False(t, timedOut(err), "read to the end: %v", err)
			assert.Less(t, took, generous)
			assert.Less(t, alloc, uint64(memBound))
			t.Logf("endless body, %s: %v, %d KiB allocated", name, took.Round(time.Millisecond), alloc>>10)
		})
	}
}

func TestHostileTrickle(t *testing.T) {
	trickle := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		for range 60 {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(time.Second):
			case <-r.Context().Done():
				return
			}
		}
	})
	// The body would take a minute: the client's timeout of a second cuts
	// it short, and the status still tells what happened.
	took, _, err := hostileWith(t, time.Second, trickle, addOne)
	var ae *yespo.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusBadRequest, ae.StatusCode)
	assert.Less(t, len(ae.Body), 60, "cut short, not read to its end")
	t.Logf("one byte a second: %v: %v", took.Round(time.Millisecond), err)
}

func TestHostileNeverAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, conn) }() // reads, never writes
		}
	}()
	client := func(timeout time.Duration) *yespo.Client {
		c, err := yespo.NewClient(testKey, yespo.WithBaseURL("http://"+ln.Addr().String()+"/api/"),
			yespo.WithHTTPClient(&http.Client{Timeout: timeout}), yespo.WithRetry(0, 0, 0))
		require.NoError(t, err)
		return c
	}
	err = addOne(client(time.Second))
	assert.True(t, timedOut(err), "ended by the client timeout: %v", err)

	// The context's deadline comes first: long before the client's.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = client(hostileTimeout).AddAppTokens(ctx, appUUID, []yespo.Token{{Token: "1", Email: "a@example.com"}})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), generous, "the context ends it, not the client timeout")
}

func TestHostileBodies(t *testing.T) {
	for name, tc := range map[string]struct {
		status      int
		ctype, body string
		message     string
		is          error
	}{
		"HTML 502":         {502, "text/html", "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>", "502 Bad Gateway", yespo.ErrServer},
		"truncated JSON":   {400, "application/json", `{"message":"Wrong app`, `{"message":"Wrong app`, nil},
		"invalid JSON":     {404, "application/json", `{message: Not registered}`, `{message: Not registered}`, yespo.ErrNotFound},
		"JSON as XML":      {400, "application/xml", `{"errorMessage":"Token(s) must be specified"}`, "Token(s) must be specified", nil},
		"binary garbage":   {400, "application/octet-stream", "\x00\xff\xfe\x01bad\x7f", "\ufffd bad", nil}, // one U+FFFD a run of bad bytes; controls fold to a space
		"empty 503":        {503, "", "", "", yespo.ErrServer},
		"JSON of one type": {400, "application/json", `{"error":true,"message":"Invalid token"}`, "Invalid token", nil},
	} {
		t.Run(name, func(t *testing.T) {
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			_, _, err := hostile(t, handler, addOne)
			var ae *yespo.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tc.status, ae.StatusCode)
			assert.Equal(t, tc.message, ae.Message)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
		})
	}
}

func TestHostileGarbage200ForContactID(t *testing.T) {
	for _, body := range []string{`garbage`, `{"id":"x"}`, `{"id":-5}`, `{"id":1e400}`, `[]`, `{"id":42`, ``} {
		_, _, err := hostile(t, answer(200, body), contactID)
		require.ErrorIs(t, err, yespo.ErrUnexpectedResponse, body)
		assert.Contains(t, err.Error(), "answer without a contact id", body)
	}
}

func TestHostileRedirectLoop(t *testing.T) {
	loop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect)
	})
	var hits atomic.Int32
	took, _, err := hostile(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1); loop(w, r) }), addOne)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stopped after 10 redirects")
	assert.Equal(t, int32(10), hits.Load(), "not retried")
	assert.Less(t, took, generous)
}

func TestHostileResetMidBody(t *testing.T) {
	reset := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			_, _ = buf.WriteString("HTTP/1.1 " + strconv.Itoa(status) + " X\r\nContent-Length: 1000\r\n\r\n{\"id\":1")
			_ = buf.Flush()
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // RST, not FIN
			}
			_ = conn.Close()
		}
	}
	_, _, err := hostile(t, reset(200), contactID)
	require.Error(t, err, "a body cut short is not an id")
	assert.Contains(t, err.Error(), "reading answer")

	_, _, err = hostile(t, reset(400), addOne)
	var ae *yespo.APIError
	require.ErrorAs(t, err, &ae, "the status still tells what happened")
	assert.Equal(t, 400, ae.StatusCode)
	assert.Equal(t, `{"id":1`, string(ae.Body))
}
