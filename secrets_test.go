package yespo_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
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
func leaks(s string) []string { return leaksOf(sentinel, s) }

// leaksOf reports every form of key that a reader of s could see: the key
// and the base64 of the Basic credentials and of the key alone (standard or
// URL alphabet, padded or not), in s as is or in s with its JSON escapes and
// percent-encoding undone, once or twice, in either order. It is written
// apart from the client's scrubber, with other tools, so that the two do not
// share a blind spot.
func leaksOf(key, s string) []string {
	forms := []string{key}
	for _, plain := range []string{"yespo-go:" + key, key} {
		forms = append(forms,
			strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(plain)), "="),
			strings.TrimRight(base64.URLEncoding.EncodeToString([]byte(plain)), "="))
	}
	var found []string
	for _, view := range views(s) {
		for _, form := range forms {
			if strings.Contains(view, form) && !slices.Contains(found, form) {
				found = append(found, form)
			}
		}
	}
	return found
}

var (
	jsonEscape    = regexp.MustCompile(`\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\[/"\\]`)
	percentEncode = regexp.MustCompile(`(?:%[0-9a-fA-F]{2})+`)
)

// views returns s as readers who decode it see it.
func views(s string) []string {
	unJSON := func(s string) string {
		return jsonEscape.ReplaceAllStringFunc(s, func(m string) string {
			var out string
			if json.Unmarshal([]byte(`"`+m+`"`), &out) != nil {
				return m
			}
			return out
		})
	}
	unPercent := func(s string) string {
		return percentEncode.ReplaceAllStringFunc(s, func(m string) string {
			out, err := url.PathUnescape(m)
			if err != nil {
				return m
			}
			return out
		})
	}
	return []string{s, unJSON(s), unPercent(s), unJSON(unPercent(s)), unPercent(unJSON(s)),
		unPercent(unPercent(s)), unJSON(unJSON(s))}
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

// An echoed key that straddles the 64 KiB cut is scrubbed, not half kept:
// raw, and spelt in JSON escapes, six bytes a character.
func TestRedactionAcrossBodyLimit(t *testing.T) {
	for _, tc := range []struct {
		name, echo, notBeforeCut, suffix string
		before                           int
	}{
		{"raw", sentinel, sentinel[:5], "[REDA", 5},
		{"escaped", disguises(sentinel)[`JSON \u, upper hex`], `\u`, "x[REDACTED]" + strings.Repeat("y", 20), 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(400)
				_, _ = w.Write([]byte(strings.Repeat("x", 64<<10-tc.before) + tc.echo + strings.Repeat("y", 100)))
			})
			c, err := yespo.NewClient(sentinel, yespo.WithBaseURL(s.baseURL()))
			require.NoError(t, err)
			err = c.AddAppTokens(context.Background(), appUUID, oneToken)
			var ae *yespo.APIError
			require.ErrorAs(t, err, &ae)
			assert.Len(t, ae.Body, 64<<10)
			assert.NotContains(t, string(ae.Body), tc.notBeforeCut, "not even the part before the cut")
			assert.True(t, strings.HasSuffix(string(ae.Body), tc.suffix), "scrubbed, then cut")
		})
	}
}

// disguises spells secret the ways a server may echo it back.
func disguises(secret string) map[string]string {
	each := func(format string) string {
		var b strings.Builder
		for _, c := range []byte(secret) {
			fmt.Fprintf(&b, format, c)
		}
		return b.String()
	}
	half := len(secret) / 2
	return map[string]string{
		"raw":                 secret,
		`JSON \u, lower hex`:  each(`\u%04x`),
		`JSON \u, upper hex`:  each(`\u%04X`),
		`JSON \/ (PHP)`:       strings.ReplaceAll(secret, "/", `\/`),
		"QueryEscape":         url.QueryEscape(secret),
		"QueryEscape, lower":  percentEncode.ReplaceAllStringFunc(url.QueryEscape(secret), strings.ToLower),
		"PathEscape":          url.PathEscape(secret),
		"every byte %XX":      each("%%%02X"),
		"every byte %xx":      each("%%%02x"),
		`half \u, half %XX`:   disguisesJoin(secret[:half], `\u%04x`) + disguisesJoin(secret[half:], "%%%02X"),
		"percent-encoded x2":  strings.ReplaceAll(each("%%%02X"), "%", "%25"),
		`\u of percent-coded`: strings.ReplaceAll(each("%%%02X"), "%", `\u0025`),
	}
}

func disguisesJoin(s, format string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		fmt.Fprintf(&b, format, c)
	}
	return b.String()
}

// The detector must see through every disguise, or the tests that rely on
// it prove nothing.
func TestLeakDetectorSeesDisguises(t *testing.T) {
	const key = "s3cr3tK3y/with+plus"
	basic := base64.StdEncoding.EncodeToString([]byte("yespo-go:" + key))
	for _, secret := range []string{key, "Basic " + basic} {
		for name, d := range disguises(secret) {
			planted := `{"message":"bad key ` + d + `"}`
			assert.NotEmpty(t, leaksOf(key, planted), "%s of %q not seen in %s", name, secret, planted)
		}
	}
	assert.NotEmpty(t, leaksOf(key, strings.TrimRight(basic, "=")), "unpadded Basic value")
	assert.NotEmpty(t, leaksOf(key, base64.RawURLEncoding.EncodeToString([]byte(key))), "base64url of the key")
	for _, clean := range []string{"bad key [REDACTED]", key[:len(key)-1], "s3cr3tK3y/with plus", ""} {
		assert.Empty(t, leaksOf(key, clean), clean)
	}
}

// echoKeys are the keys of the echo tests, by a label that does not show
// them: one with characters that JSON and URLs escape, and the tests' key —
// the sweep's, under the sweep, which then greps what the test logs.
func echoKeys() map[string]string {
	return map[string]string{"escaped key": "s3cr3tK3y/with+plus", "test key": testKey}
}

// A server that echoes the key and the Authorization value, in every
// disguise, in its body, its headers and its redirects, to every endpoint:
// no error text, formatted error, APIError field or debug log record shows
// either, in any form.
func TestEchoedKeyNeverShows(t *testing.T) {
	t.Parallel() // waits on timers, not the CPU: overlaps the other waiting tests
	for label, key := range echoKeys() {
		for _, name := range slices.Sorted(maps.Keys(disguises(key))) {
			t.Run(label+"/"+name, func(t *testing.T) { echoCase(t, key, name) })
		}
	}
}

func echoCase(t *testing.T, key, disguise string) {
	s := newServer(t)
	spell := func(r *http.Request) (string, string) {
		return disguises(key)[disguise], disguises(r.Header.Get("Authorization"))[disguise]
	}
	echo := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			k, auth := spell(r)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Echo-Key", k)
			w.Header().Set("X-Echo-Auth", auth)
			w.Header().Set("WWW-Authenticate", `Basic realm="`+k+`"`)
			w.Header().Set("Set-Cookie", "session="+k)
			w.Header().Set("X-"+strings.Map(func(r rune) rune {
				if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
					return r
				}
				return -1
			}, k), "name")
			w.WriteHeader(status)
			_, _ = fmt.Fprintf(w, `{"message":"bad key %s, header %s"}`, k, auth)
		}
	}
	redirect := func(w http.ResponseWriter, r *http.Request) {
		k, _ := spell(r)
		w.Header().Set("Location", "https://elsewhere.example/login?key="+k)
		w.WriteHeader(http.StatusTemporaryRedirect)
	}
	loop := func(w http.ResponseWriter, r *http.Request) {
		k, _ := spell(r)
		w.Header().Set("Location", prefix+"v1/loop/"+k+"?key="+k)
		w.WriteHeader(http.StatusTemporaryRedirect)
	}
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", sequence(echo(401), redirect, loop))
	s.mux.HandleFunc("POST /v1/apps/{uuid}/token/mute", sequence(echo(503), echo(503), echo(503), redirect, loop))
	s.mux.HandleFunc("POST /v1/apps/{uuid}/token/unmute", sequence(echo(404), redirect, loop,
		func(w http.ResponseWriter, r *http.Request) { // same host, method changed: a 302 answer
			k, _ := spell(r)
			http.Redirect(w, r, prefix+"v1/login?key="+k, http.StatusFound)
		}))
	s.mux.HandleFunc("GET /v1/contact/token/{uuid}/{token}/contactId", sequence(echo(400), redirect, loop,
		func(w http.ResponseWriter, r *http.Request) { // a 200 without an id
			k, auth := spell(r)
			_, _ = fmt.Fprintf(w, `{"key":"%s","auth":"%s"}`, k, auth)
		}))
	s.mux.HandleFunc("/v1/loop/", loop)

	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := yespo.NewClient(key, yespo.WithBaseURL(s.baseURL()), yespo.WithLogger(logger),
		yespo.WithRetry(2, time.Millisecond, 2*time.Millisecond))
	require.NoError(t, err)

	ctx := context.Background()
	var errs []error
	for range 4 {
		errs = append(errs,
			c.AddAppTokens(ctx, appUUID, oneToken),
			c.MuteAppToken(ctx, appUUID, "1", time.Hour),
			c.UnmuteAppToken(ctx, appUUID, "1"))
		_, err := c.ContactIDByToken(ctx, appUUID, "1")
		errs = append(errs, err)
	}
	sweep := os.Getenv("YESPO_SWEEP_KEY") != ""
	for i, err := range errs {
		require.Error(t, err, i)
		for _, out := range printed(err) {
			assert.Empty(t, leaksOf(key, out), "error %d: %s", i, out)
			if sweep {
				t.Log(out) // for the sweep's grep
			}
		}
		var ae *yespo.APIError
		if errors.As(err, &ae) {
			assert.Empty(t, leaksOf(key, ae.Message), "error %d message: %s", i, ae.Message)
			assert.Empty(t, leaksOf(key, string(ae.Body)), "error %d body: %s", i, ae.Body)
			for name, values := range ae.Header {
				assert.Empty(t, leaksOf(key, name+": "+strings.Join(values, ", ")), "error %d header %s: %v", i, name, values)
			}
			assert.Empty(t, ae.Header.Values("Set-Cookie"), "cookies are not kept")
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			assert.Empty(t, leaksOf(key, ue.Error()), "error %d: the *url.Error inside: %s", i, ue)
		}
	}
	require.NotEmpty(t, logs.String(), "debug logging was on")
	assert.Empty(t, leaksOf(key, logs.String()), logs.String())
	if sweep {
		t.Log(logs.String())
	}
}

// printed is err as every common verb prints it.
func printed(err error) []string {
	return []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err),
		fmt.Sprintf("%s", err), fmt.Sprintf("%q", err), fmt.Sprint(fmt.Errorf("wrapped: %w", err))}
}

// A base URL that does not parse and holds credentials is refused without
// quoting it: url.Parse's error carries the whole URL.
func TestBaseURLCredentialsNotEchoed(t *testing.T) {
	const secret = "s3cr%zzet-sentinel"
	for _, raw := range []string{
		"https://user:" + secret + "@yespo.io/api/",
		"https://user:" + secret + "@yes po.io/api/",
		"ht tp://user:" + secret + "@yespo.io/api/",
	} {
		_, err := yespo.NewClient(testKey, yespo.WithBaseURL(raw))
		require.Error(t, err, raw)
		assert.NotContains(t, err.Error(), "s3cr", raw)
		assert.NotContains(t, fmt.Sprintf("%+v %#v", err, err), "s3cr", raw)
	}
}
