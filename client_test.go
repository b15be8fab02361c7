package yespo_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
)

func TestAddAppTokensWireFormat(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", answer(200, `"ok"`))
	c := s.client(t, yespo.WithUserAgent("mybot/1.2"))

	err := c.AddAppTokens(context.Background(), appUUID, []yespo.Token{
		{Token: "111", Phone: "+380501234567"},
		{Token: "222", ContactID: 42, ExternalCustomerID: "crm-7", Email: "a@example.com"},
	})
	require.NoError(t, err)

	reqs := s.requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "POST", r.Method)
	assert.Equal(t, "/v1/apps/"+appUUID+"/tokens", r.Path)
	assert.Equal(t, "application/json; charset=UTF-8", r.Header.Get("Content-Type"))
	assert.Equal(t, "application/json", r.Header.Get("Accept"))
	assert.Equal(t, "mybot/1.2 yespo-go/"+yespo.Version, r.Header.Get("User-Agent"))
	assert.True(t, r.HasAuth)
	assert.NotEmpty(t, r.User)
	assert.Equal(t, testKey, r.Pass)
	assert.JSONEq(t, `{"tokens":[
		{"token":"111","phone":"+380501234567"},
		{"token":"222","contactId":42,"externalCustomerId":"crm-7","email":"a@example.com"}]}`, string(r.Body))
}

func TestDefaultUserAgent(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/token/unmute", answer(200, ""))
	require.NoError(t, s.client(t).UnmuteAppToken(context.Background(), appUUID, "111"))
	assert.Equal(t, "yespo-go/"+yespo.Version, s.requests()[0].Header.Get("User-Agent"))
}

func TestValidationBeforeNetwork(t *testing.T) {
	s := newServer(t)
	c := s.client(t)
	ctx := context.Background()

	err := c.AddAppTokens(ctx, appUUID, []yespo.Token{
		{Token: "ok", Phone: "+380501234567"},
		{Token: "", Email: "a@example.com"},
		{Token: "x y", Phone: "0501234567"},
		{Token: "z"},
	})
	require.ErrorIs(t, err, yespo.ErrInvalidInput)
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		walk(e, func(ve *yespo.ValidationError) { got = append(got, ve.Error()) })
	}
	assert.Equal(t, []string{
		"yespo: invalid tokens[1].token: must not be empty",
		`yespo: invalid tokens[2].token: must not contain white space or control characters (found ' ' at byte 1)`,
		`yespo: invalid tokens[2].phone: must be an optional "+" and 7 to 15 digits, the first not 0; it starts with 0, a national prefix: give the country code instead`,
		"yespo: invalid tokens[3].token: has no contact identifier: set contactId, externalCustomerId, phone or email",
	}, got)

	cases := map[string]func() error{
		"empty tokens": func() error { return c.AddAppTokens(ctx, appUUID, nil) },
		"bot token": func() error {
			return c.AddAppTokens(ctx, "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11", []yespo.Token{{Token: "1", Email: "a@b.co"}})
		},
		"mute bad token": func() error { return c.MuteAppToken(ctx, appUUID, "a\nb", time.Hour) },
		"unmute uuid":    func() error { return c.UnmuteAppToken(ctx, "nope", "1") },
		"contact empty":  func() error { _, err := c.ContactIDByToken(ctx, appUUID, ""); return err },
	}
	for name, call := range cases {
		err := call()
		var ve *yespo.ValidationError
		require.ErrorAs(t, err, &ve, name)
		assert.ErrorIs(t, err, yespo.ErrInvalidInput, name)
		assert.Equal(t, -1, ve.Index, name)
	}
	assert.Empty(t, s.requests(), "validation must happen before any network call")
}

// walk calls f for every *ValidationError in a tree of joined errors.
func walk(err error, f func(*yespo.ValidationError)) {
	if ve, ok := err.(*yespo.ValidationError); ok {
		f(ve)
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			walk(e, f)
		}
	}
}

func TestAPIErrors(t *testing.T) {
	cases := []struct {
		name, ctype, body string
		status            int
		header            map[string]string
		is                error
		message           string
		retryAfter        time.Duration
	}{
		{"plain 400", "text/plain", "Wrong app uuid\n", 400, nil, yespo.ErrBadRequest, "Wrong app uuid", 0},
		{"401", "text/plain", "Unauthorized", 401, nil, yespo.ErrUnauthorized, "Unauthorized", 0},
		{"403 json error", "application/json", `{"error":"no rights"}`, 403, nil, yespo.ErrForbidden, "no rights", 0},
		{"404 json message", "application/json", `{"message":"Not registered application"}`, 404, nil, yespo.ErrNotFound, "Not registered application", 0},
		{"404 json string", "application/json", `"Not registered application"`, 404, nil, yespo.ErrNotFound, "Not registered application", 0},
		{"429 retry-after", "text/plain", "slow down", 429, map[string]string{"Retry-After": "120"}, yespo.ErrRateLimited, "slow down", 120 * time.Second},
		{"501 html", "text/html", "<html><head><title>501 Nope</title></head></html>", 501, nil, yespo.ErrServer, "501 Nope", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			err := s.client(t).AddAppTokens(context.Background(), appUUID, []yespo.Token{{Token: "1", Phone: "+380501234567"}})
			var ae *yespo.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tc.status, ae.StatusCode)
			assert.Equal(t, tc.message, ae.Message)
			assert.Equal(t, tc.body, string(ae.Body))
			assert.Equal(t, tc.retryAfter, ae.RetryAfter)
			assert.Equal(t, "POST", ae.Method)
			assert.Equal(t, "v1/apps/"+appUUID+"/tokens", ae.Path)
			assert.Equal(t, 1, ae.Attempts)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.Equal(t, tc.ctype, ae.Header.Get("Content-Type"), "the answer's headers are kept")
			for k, v := range tc.header {
				assert.Equal(t, v, ae.Header.Get(k))
			}
			for _, other := range []error{yespo.ErrBadRequest, yespo.ErrUnauthorized, yespo.ErrForbidden, yespo.ErrNotFound, yespo.ErrRateLimited, yespo.ErrServer, yespo.ErrInvalidInput} {
				if other != tc.is {
					assert.NotErrorIs(t, err, other)
				}
			}
		})
	}
}

func TestAPIErrorString(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", answer(404, "Not registered application"))
	err := s.client(t).AddAppTokens(context.Background(), appUUID, []yespo.Token{{Token: "1", Email: "a@example.com"}})
	assert.EqualError(t, err, "yespo: POST v1/apps/"+appUUID+"/tokens: 404 Not Found: Not registered application")
}

func TestConcurrentUse(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", answer(200, `"ok"`))
	c := s.client(t)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- c.AddAppTokens(context.Background(), appUUID, []yespo.Token{{Token: yespo.TelegramToken(int64(i)), ExternalCustomerID: "c"}})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Len(t, s.requests(), 50)
}

func TestNewClientOptions(t *testing.T) {
	bad := map[string]struct {
		key   string
		opts  []yespo.Option
		field string
	}{
		"blank key":        {"  ", nil, "apiKey"},
		"key with newline": {"abc\n", nil, "apiKey"},
		"relative url":     {testKey, []yespo.Option{yespo.WithBaseURL("api/")}, "baseURL"},
		"ftp url":          {testKey, []yespo.Option{yespo.WithBaseURL("ftp://yespo.io/api/")}, "baseURL"},
		"credentials":      {testKey, []yespo.Option{yespo.WithBaseURL("https://u:p@yespo.io/api/")}, "baseURL"},
		"query":            {testKey, []yespo.Option{yespo.WithBaseURL("https://yespo.io/api/?x=1")}, "baseURL"},
		"nil http client":  {testKey, []yespo.Option{yespo.WithHTTPClient(nil)}, "httpClient"},
		"both clients":     {testKey, []yespo.Option{yespo.WithTransport(http.DefaultTransport), yespo.WithHTTPClient(http.DefaultClient)}, "httpClient"},
		"negative retries": {testKey, []yespo.Option{yespo.WithRetry(-1, 0, 0)}, "retry"},
		"max below min":    {testKey, []yespo.Option{yespo.WithRetry(1, time.Second, time.Millisecond)}, "retry"},
		"ua newline":       {testKey, []yespo.Option{yespo.WithUserAgent("bot\r\nX-Evil: 1")}, "userAgent"},
		"nil logger":       {testKey, []yespo.Option{yespo.WithLogger(nil)}, "logger"},
		"nil limiter":      {testKey, []yespo.Option{yespo.WithRateLimiter(nil)}, "rateLimiter"},
	}
	for name, tc := range bad {
		c, err := yespo.NewClient(tc.key, tc.opts...)
		assert.Nil(t, c, name)
		var ve *yespo.ValidationError
		if assert.ErrorAs(t, err, &ve, name) {
			assert.Equal(t, tc.field, ve.Field, name)
			assert.ErrorIs(t, err, yespo.ErrInvalidInput, name)
		}
	}
}

// Both documented roots work, with or without the trailing slash, and a path
// prefix is kept.
func TestBaseURLs(t *testing.T) {
	for base, want := range map[string]string{
		"":                           "https://yespo.io/api/v1/apps/" + appUUID + "/tokens",
		"https://api.yespo.io/api/":  "https://api.yespo.io/api/v1/apps/" + appUUID + "/tokens",
		"https://api.yespo.io/api":   "https://api.yespo.io/api/v1/apps/" + appUUID + "/tokens",
		"http://127.0.0.1:9/a/b/api": "http://127.0.0.1:9/a/b/api/v1/apps/" + appUUID + "/tokens",
	} {
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("POST", want, httpmock.NewStringResponder(200, `"ok"`))
		opts := []yespo.Option{yespo.WithTransport(mock)}
		if base != "" {
			opts = append(opts, yespo.WithBaseURL(base))
		}
		c, err := yespo.NewClient(testKey, opts...)
		require.NoError(t, err)
		require.NoError(t, c.AddAppTokens(context.Background(), appUUID, []yespo.Token{{Token: "1", Email: "a@example.com"}}), base)
		assert.Equal(t, 1, mock.GetTotalCallCount(), base)
	}
}

func TestWithHTTPClientUsedAsIs(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("POST", `=~/tokens\z`, func(r *http.Request) (*http.Response, error) {
		<-r.Context().Done() // a server that never answers: only the client's Timeout ends the wait
		return nil, r.Context().Err()
	})
	hc := &http.Client{Transport: mock, Timeout: 50 * time.Millisecond}
	c, err := yespo.NewClient(testKey, yespo.WithHTTPClient(hc), yespo.WithRetry(0, 0, 0))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // the default client's 30 s must not apply
	defer cancel()
	err = c.AddAppTokens(ctx, appUUID, []yespo.Token{{Token: "1", Email: "a@example.com"}})
	require.NoError(t, ctx.Err(), "the given client's 50 ms Timeout should have ended the call")
	var ne net.Error
	require.ErrorAs(t, err, &ne, "the given client's Timeout applies")
	assert.True(t, ne.Timeout(), err.Error())
	assert.Equal(t, 1, mock.GetTotalCallCount(), "the given client's Transport is used")
}

func TestDefaultTransportNotMutated(t *testing.T) {
	dt := http.DefaultTransport.(*http.Transport)
	before := dt.MaxIdleConnsPerHost
	_, err := yespo.NewClient(testKey)
	require.NoError(t, err)
	assert.Equal(t, before, dt.MaxIdleConnsPerHost)
}

// closeCounter counts CloseIdleConnections calls that reach the transport.
type closeCounter struct {
	http.RoundTripper
	closes atomic.Int32
}

// go-retryablehttp closes idle connections when a call fails. An HTTP error
// answer — retries exhausted, a final 4xx, a Retry-After too long — must not
// empty the pool every other call of a shared client relies on.
func TestErrorAnswersKeepSharedPool(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", answer(503, "x"))
	s.mux.HandleFunc("POST /v1/apps/{uuid}/token/mute", answer(404, "x"))
	s.mux.HandleFunc("POST /v1/apps/{uuid}/token/unmute", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		answer(429, "x")(w, r)
	})
	rt := &closeCounter{RoundTripper: http.DefaultTransport}
	c := s.client(t, yespo.WithHTTPClient(&http.Client{Transport: rt}))
	ctx := context.Background()

	require.ErrorIs(t, c.AddAppTokens(ctx, appUUID, oneToken), yespo.ErrServer)
	require.ErrorIs(t, c.MuteAppToken(ctx, appUUID, "1", 0), yespo.ErrNotFound)
	require.ErrorIs(t, c.UnmuteAppToken(ctx, appUUID, "1"), yespo.ErrRateLimited)
	assert.Zero(t, rt.closes.Load())
}

func (c *closeCounter) CloseIdleConnections() { c.closes.Add(1) }

// The three 404s of the issue, told apart: a wrong app UUID, an unknown
// token, and a base URL without its "/api/" part.
func TestThree404s(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/apps/{uuid}/tokens", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"message":"Not registered application"}`))
	})
	mux.HandleFunc("GET /api/v1/contact/token/{uuid}/{token}/contactId", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "Not found", http.StatusNotFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	hint := `check that the base URL ends in "/api/"`

	right, err := yespo.NewClient(testKey, yespo.WithBaseURL(srv.URL+"/api/"), yespo.WithRetry(0, 0, 0))
	require.NoError(t, err)
	err = right.AddAppTokens(ctx, appUUID, oneToken)
	assert.ErrorIs(t, err, yespo.ErrNotFound)
	assert.ErrorIs(t, err, yespo.ErrAppNotFound, "wrong app UUID")
	assert.NotContains(t, err.Error(), hint)

	_, err = right.ContactIDByToken(ctx, appUUID, "42")
	assert.ErrorIs(t, err, yespo.ErrNotFound)
	assert.NotErrorIs(t, err, yespo.ErrAppNotFound, "unknown token")
	assert.NotContains(t, err.Error(), hint)

	wrong, err := yespo.NewClient(testKey, yespo.WithBaseURL(srv.URL+"/"), yespo.WithRetry(0, 0, 0))
	require.NoError(t, err)
	for name, call := range map[string]func() error{
		"AddAppTokens": func() error { return wrong.AddAppTokens(ctx, appUUID, oneToken) },
		"ContactIDByToken": func() error {
			_, err := wrong.ContactIDByToken(ctx, appUUID, "42")
			return err
		},
	} {
		err := call()
		assert.ErrorIs(t, err, yespo.ErrNotFound, name)
		assert.NotErrorIs(t, err, yespo.ErrAppNotFound, name)
		assert.ErrorContains(t, err, hint, name)
	}
}

// A million bad rows make an error of bounded size: the first 100 problems,
// each still a *ValidationError for errors.Is and errors.As, then a count.
// Under the race detector, which slows this several times over, 200,000
// rows make the same point: past the hundredth problem the text no longer
// grows, only the count in its last line.
func TestManyInvalidTokensCapped(t *testing.T) {
	n := 1_000_000
	if raceEnabled {
		n = 200_000
	}
	tokens := slices.Repeat([]yespo.Token{
		{Token: "1"},                 // no identifier
		{Token: "1", Phone: "+1"},    // too few digits
		{Token: "a b", Email: "ann"}, // two problems
	}, n/3+1)[:n]
	c, err := yespo.NewClient(testKey)
	require.NoError(t, err)

	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	err = c.AddAppTokens(context.Background(), appUUID, tokens)
	took := time.Since(start)
	runtime.ReadMemStats(&m1)
	text := err.Error()
	alloc := m1.TotalAlloc - m0.TotalAlloc
	t.Logf("%d invalid tokens: %v, %d KiB allocated, %d bytes of error text", n, took.Round(time.Millisecond), alloc>>10, len(text))

	assert.Less(t, len(text), 64<<10)
	assert.Less(t, alloc, uint64(n)*128, "allocations stay sane: at most 128 bytes a token")
	require.ErrorIs(t, err, yespo.ErrInvalidInput)
	errs := err.(interface{ Unwrap() []error }).Unwrap()
	require.Len(t, errs, 101)
	var first *yespo.ValidationError
	require.ErrorAs(t, err, &first)
	assert.Equal(t, &yespo.ValidationError{Index: 0, Field: "token", Reason: "has no contact identifier: set contactId, externalCustomerId, phone or email"}, first)
	assert.Equal(t, 74, errs[99].(*yespo.ValidationError).Index, "problems 0..99 belong to tokens 0..74: every third token has two")
	for _, e := range errs {
		assert.ErrorIs(t, e, yespo.ErrInvalidInput)
	}
	total := n / 3 * 4 // one problem, one, then two, for each three tokens
	for i := n - n%3; i < n; i++ {
		total += []int{1, 1, 2}[i%3]
	}
	more := errs[100].(*yespo.ValidationError)
	assert.Equal(t, "tokens", more.Field)
	assert.Equal(t, -1, more.Index)
	want := "and " + strconv.Itoa(total-100) + " more problems, not listed"
	assert.Equal(t, want, more.Reason)
	assert.True(t, strings.HasSuffix(text, "\nyespo: invalid tokens: "+want), text[len(text)-200:])
}

// A call that fails on a transport error leaves the idle connections of
// the user's http.Client alone: another request's pooled connection to
// another server is reused, not dialled again.
func TestTransportErrorKeepsSharedIdleConnections(t *testing.T) {
	var dials atomic.Int32
	good := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	good.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			dials.Add(1)
		}
	}
	good.Start()
	t.Cleanup(good.Close)
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/tokens", reset)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(transport.CloseIdleConnections)
	shared := &http.Client{Transport: transport}
	get := func() {
		resp, err := shared.Get(good.URL)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		require.NoError(t, resp.Body.Close())
	}
	get() // the user's own request leaves an idle connection in the pool

	c := s.client(t, yespo.WithHTTPClient(shared), yespo.WithRetry(1, time.Millisecond, time.Millisecond))
	err := c.AddAppTokens(context.Background(), appUUID, oneToken)
	require.Error(t, err)
	require.False(t, errors.As(err, new(*yespo.APIError)), "a transport error: %v", err)

	get()
	assert.Equal(t, int32(1), dials.Load(), "the idle connection survived the failed call and was reused")
}
