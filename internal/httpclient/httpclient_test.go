package httpclient

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errRefused = errors.New("refused")

func hide(s string) string { return strings.ReplaceAll(s, "secret", "[REDACTED]") }

func TestCheckRedirect(t *testing.T) {
	check := CheckRedirect(errRefused, hide)
	req := func(method, url string) *http.Request {
		r, err := http.NewRequest(method, url, nil)
		require.NoError(t, err)
		return r
	}
	first := req("POST", "https://yespo.io/api/v1/apps")
	assert.NoError(t, check(req("POST", "https://YESPO.io/api/v2"), []*http.Request{first}))
	assert.ErrorIs(t, check(req("POST", "http://yespo.io/api/"), []*http.Request{first}), errRefused)
	err := check(req("POST", "https://secret.example/"), []*http.Request{first})
	assert.ErrorIs(t, err, errRefused)
	assert.Contains(t, err.Error(), "[REDACTED].example")
	assert.NotContains(t, err.Error(), "secret")
	assert.Equal(t, http.ErrUseLastResponse, check(req("GET", "https://yespo.io/api/"), []*http.Request{first}))
	via := make([]*http.Request, 10)
	for i := range via {
		via[i] = first
	}
	assert.ErrorIs(t, check(req("POST", "https://yespo.io/api/"), via), errRefused)
}

type closeCounter struct {
	http.RoundTripper
	closed int
}

func (c *closeCounter) CloseIdleConnections() { c.closed++ }

func TestShieldedKeepsTheUsersPool(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	rt := &closeCounter{RoundTripper: srv.Client().Transport}
	user := &http.Client{Transport: rt, Timeout: Timeout}
	s := Shielded(user)
	assert.Equal(t, user.Timeout, s.Timeout)
	resp, err := s.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	s.CloseIdleConnections()
	assert.Zero(t, rt.closed, "the shield must not pass CloseIdleConnections on")
	assert.Same(t, rt, user.Transport, "the user's client is not changed")
}

func TestDefault(t *testing.T) {
	c := Default(nil, errRefused, hide)
	assert.Equal(t, Timeout, c.Timeout)
	tr, ok := c.Transport.(*http.Transport)
	require.True(t, ok)
	assert.NotSame(t, http.DefaultTransport, tr)
	assert.Equal(t, 32, tr.MaxIdleConnsPerHost)
	assert.NotNil(t, c.CheckRedirect)
}

func TestBaseURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://api.yespo.io/api":   "https://api.yespo.io/api/",
		"http://127.0.0.1:8080/api/": "http://127.0.0.1:8080/api/",
		"https://x.test/a%2Fb":       "https://x.test/a%2Fb/",
		"/api/":                      `must be an absolute "http" or "https" URL`,
		"ftp://x.test/":              `must be an absolute "http" or "https" URL`,
		"https:///api/":              "has no host",
		"https://u:p@x.test/":        "must not contain credentials",
		"https://x.test/api/?k=v":    "must not have a query or fragment",
		"https://x.test/api/#frag":   "must not have a query or fragment",
		"https://x.test/api/?":       "must not have a query or fragment",
		"https://x.test/%zz":         "not a URL: ",
	} {
		root, problem := BaseURL(raw)
		if strings.HasPrefix(want, "http") {
			assert.Equal(t, want, root, raw)
			assert.Empty(t, problem, raw)
		} else {
			assert.Empty(t, root, raw)
			assert.Contains(t, problem, want, raw)
		}
	}
}

func TestNewRequest(t *testing.T) {
	req, err := NewRequest(context.Background(), "POST", "https://x.test/api/v1", "Basic abc", "bot yespo-go/1", []byte(`{}`))
	require.NoError(t, err)
	assert.Equal(t, "Basic abc", req.Header.Get("Authorization"))
	assert.Equal(t, "bot yespo-go/1", req.Header.Get("User-Agent"))
	assert.Equal(t, "application/json", req.Header.Get("Accept"))
	assert.Equal(t, "application/json; charset=UTF-8", req.Header.Get("Content-Type"))
	body, err := req.BodyBytes()
	require.NoError(t, err)
	assert.Equal(t, `{}`, string(body))

	req, err = NewRequest(context.Background(), "GET", "https://x.test/api/v1", "a", "u", nil)
	require.NoError(t, err)
	assert.Empty(t, req.Header.Get("Content-Type"))
	assert.Nil(t, req.Body, "a nil body sends none")

	_, err = NewRequest(context.Background(), "GET", "://bad", "a", "u", nil)
	assert.Error(t, err)
}
