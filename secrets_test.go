package yespo_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
)

// sentinel is a key that must never show up outside the Authorization header.
const sentinel = "SENTINEL-KEY-5f3c9e1a"

// leaks reports every form of the sentinel found in s.
func leaks(s string) []string {
	var found []string
	for _, form := range []string{
		sentinel,
		base64.StdEncoding.EncodeToString([]byte("yespo-go:" + sentinel)),
		base64.StdEncoding.EncodeToString([]byte(sentinel)),
	} {
		if bytes.Contains([]byte(s), []byte(form)) {
			found = append(found, form)
		}
	}
	return found
}

func TestClientFormattingHidesKey(t *testing.T) {
	c, err := yespo.NewClient(sentinel, yespo.WithBaseURL("https://api.yespo.io/api/"))
	require.NoError(t, err)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("client", slog.Any("client", c), slog.Any("value", *c))
	slog.New(slog.NewTextHandler(&logs, nil)).Info("client", slog.Any("client", c))
	for _, out := range []string{
		fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s", c),
		fmt.Sprintf("%v", *c), fmt.Sprintf("%+v", *c), fmt.Sprintf("%#v", *c), fmt.Sprintf("%x", *c),
		fmt.Sprint(c), fmt.Sprintln(*c), logs.String(),
	} {
		assert.Empty(t, leaks(out), out)
		assert.Contains(t, out, "REDACTED", out)
	}
	assert.Contains(t, logs.String(), "api.yespo.io", "the redacted view still says where the client points")
}

// Every path to an error and every log line, at Debug, with a server that
// echoes the credentials back in its error bodies.
func TestNoKeyInErrorsOrLogs(t *testing.T) {
	s := newServer(t)
	echo := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"message":"bad key %s, header %s"}`, sentinel, r.Header.Get("Authorization"))
		}
	}
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", echo(401))
	s.mux.HandleFunc("POST /v1/apps/{uuid}/token/mute", sequence(echo(503), echo(503), echo(503), echo(503)))
	s.mux.HandleFunc("POST /v1/apps/{uuid}/token/unmute", reset)
	s.mux.HandleFunc("GET /v1/contact/token/{uuid}/{token}/contactId", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"key":%q}`, sentinel) // a 200 without an id
	})

	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := yespo.NewClient(sentinel, yespo.WithBaseURL(s.baseURL()), yespo.WithLogger(logger),
		yespo.WithRetry(3, time.Millisecond, 2*time.Millisecond))
	require.NoError(t, err)

	ctx := context.Background()
	var errs []error
	errs = append(errs, c.AddAppTokens(ctx, appUUID, oneToken))
	errs = append(errs, c.MuteAppToken(ctx, appUUID, "1", time.Hour))
	errs = append(errs, c.UnmuteAppToken(ctx, appUUID, "1"))
	_, err = c.ContactIDByToken(ctx, appUUID, "1")
	errs = append(errs, err)
	errs = append(errs, c.AddAppTokens(ctx, "bad", nil))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	errs = append(errs, c.AddAppTokens(cancelled, appUUID, oneToken))

	for i, err := range errs {
		require.Error(t, err, i)
		for _, out := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			assert.Empty(t, leaks(out), "error %d: %s", i, out)
		}
		var ae *yespo.APIError
		if errors.As(err, &ae) {
			assert.Empty(t, leaks(string(ae.Body)), "error %d body", i)
			assert.Empty(t, leaks(ae.Message), "error %d message", i)
			assert.Contains(t, string(ae.Body), "[REDACTED]", "error %d: the echo is still visible", i)
		}
	}
	require.NotEmpty(t, logs.String(), "debug logging was on")
	assert.Empty(t, leaks(logs.String()), logs.String())
}

func TestLoggerRecordsAttemptsAndGivingUp(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", answer(503, "x"))
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	err := s.client(t, yespo.WithLogger(logger), yespo.WithRetry(2, time.Millisecond, time.Millisecond)).
		AddAppTokens(context.Background(), appUUID, oneToken)
	require.ErrorIs(t, err, yespo.ErrServer)

	out := logs.String()
	assert.Equal(t, 3, bytes.Count(logs.Bytes(), []byte("level=DEBUG msg=\"yespo: attempt\"")), out)
	assert.Equal(t, 1, bytes.Count(logs.Bytes(), []byte("level=WARN")), out)
	for _, want := range []string{"method=POST", "path=v1/apps/" + appUUID + "/tokens", "status=503", "attempt=1", "attempt=3", "wait=1ms", "retries exhausted"} {
		assert.Contains(t, out, want)
	}
}

// Without WithLogger nothing is written anywhere: not to stderr (where
// go-retryablehttp's default logger would write) and not to the log package.
func TestNoLoggingByDefault(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", sequence(reset, answer(503, "x")))

	r, w, err := os.Pipe()
	require.NoError(t, err)
	stderr := os.Stderr
	os.Stderr = w
	var std bytes.Buffer
	log.SetOutput(&std)
	defer func() { os.Stderr = stderr; log.SetOutput(os.Stderr) }()

	c, err := yespo.NewClient(testKey, yespo.WithBaseURL(s.baseURL()), yespo.WithRetry(3, time.Millisecond, 2*time.Millisecond))
	require.NoError(t, err)
	callErr := c.AddAppTokens(context.Background(), appUUID, oneToken)
	os.Stderr = stderr
	require.NoError(t, w.Close())
	captured, _ := io.ReadAll(r)

	require.Error(t, callErr)
	assert.Empty(t, string(captured))
	assert.Empty(t, std.String())
}

// fmt cannot call Format on a Client held in an unexported field; the key
// must still be out of its reach.
func TestNestedClientPrintsNoKey(t *testing.T) {
	c, err := yespo.NewClient(sentinel)
	require.NoError(t, err)
	type bot struct {
		client yespo.Client
		ptr    *yespo.Client
	}
	b := bot{client: *c, ptr: c}
	for _, out := range []string{fmt.Sprintf("%v", b), fmt.Sprintf("%+v", b), fmt.Sprintf("%#v", b)} {
		assert.Empty(t, leaks(out), out)
	}
}

// An echoed key that straddles the 64 KiB cut is scrubbed, not half kept.
func TestRedactionAcrossBodyLimit(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		_, _ = w.Write([]byte(strings.Repeat("x", 64<<10-5) + sentinel + strings.Repeat("y", 100)))
	})
	c, err := yespo.NewClient(sentinel, yespo.WithBaseURL(s.baseURL()))
	require.NoError(t, err)
	err = c.AddAppTokens(context.Background(), appUUID, oneToken)
	var ae *yespo.APIError
	require.ErrorAs(t, err, &ae)
	assert.Len(t, ae.Body, 64<<10)
	assert.NotContains(t, string(ae.Body), sentinel[:5], "not even the part before the cut")
	assert.True(t, strings.HasSuffix(string(ae.Body), "[REDA"), "the scrubbed key is what gets cut")
}
