// Package httpclient builds the http.Client a yespo Client sends through:
// its own transport, the same-host redirect policy, and a shield that keeps
// a user's pooled connections from go-retryablehttp.
package httpclient

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Timeout bounds one attempt of the default client.
const Timeout = 30 * time.Second

// Default returns a client with its own transport (http.DefaultTransport
// is never mutated) unless rt is given, a 30 s timeout and the same-host
// redirect policy; refused wraps a refused redirect's error, and hide
// cleans the host it names.
func Default(rt http.RoundTripper, refused error, hide func(string) string) *http.Client {
	if rt == nil {
		rt = newTransport()
	}
	return &http.Client{Transport: rt, Timeout: Timeout, CheckRedirect: CheckRedirect(refused, hide)}
}

func newTransport() *http.Transport {
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t := dt.Clone()
		t.MaxIdleConnsPerHost = 32 // bursts and batches reuse connections
		return t
	}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// CheckRedirect follows at most 10 redirects, only to the host the request
// started at and never from https to http, so the API key goes nowhere else.
// A redirect that would change the method (a 301, 302 or 303 turns a POST
// into a bodiless GET) is not followed: its 3xx answer comes back as it is
// instead of a 2xx from somewhere that never saw the tokens. The host it
// names goes through hide: the redirect is the server's text. Each refusal
// wraps refused.
func CheckRedirect(refused error, hide func(string) string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		first := via[0]
		switch {
		case len(via) >= 10:
			return fmt.Errorf("yespo: stopped after 10 redirects: %w", refused)
		case first.URL.Scheme == "https" && req.URL.Scheme != "https":
			return fmt.Errorf("yespo: redirect from https to http: %w", refused)
		case !strings.EqualFold(req.URL.Host, first.URL.Host):
			return fmt.Errorf("yespo: redirect to another host (%s): %w", hide(req.URL.Host), refused)
		case req.Method != first.Method:
			return http.ErrUseLastResponse
		}
		return nil
	}
}

// keepIdle hides the user's transport from go-retryablehttp's calls to
// CloseIdleConnections, which it makes whenever a call ends in a transport
// error or a done context: an http.Client the user shares with other code
// keeps its pooled connections whatever one of our calls meets.
type keepIdle struct{ rt http.RoundTripper }

func (k keepIdle) RoundTrip(r *http.Request) (*http.Response, error) { return k.rt.RoundTrip(r) }

// Shielded returns a copy of hc — same Timeout, CheckRedirect and Jar —
// whose transport is hc's behind keepIdle.
func Shielded(hc *http.Client) *http.Client {
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c := *hc
	c.Transport = keepIdle{rt}
	return &c
}

// BaseURL normalises an API root to end in "/", keeping a path prefix. It
// returns the root, or "" and what is wrong: a relative URL, another
// scheme than http or https, credentials, a query or a fragment.
func BaseURL(raw string) (root, problem string) {
	u, err := url.Parse(raw)
	switch {
	case err != nil && strings.Contains(raw, "@"):
		// url.Error quotes the whole URL: its credentials too.
		return "", "not a URL, and it seems to hold credentials: pass the API key to NewClient"
	case err != nil:
		return "", "not a URL: " + err.Error()
	case u.Scheme != "http" && u.Scheme != "https":
		return "", `must be an absolute "http" or "https" URL`
	case u.Host == "":
		return "", "has no host"
	case u.User != nil:
		return "", "must not contain credentials: pass the API key to NewClient"
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "", "must not have a query or fragment"
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u.String(), ""
}

// NewRequest builds a request to url with the client's headers. The body,
// marshalled once by the caller, is replayed from memory on every retry and
// 307/308 redirect; a nil body sends none.
func NewRequest(ctx context.Context, method, url, auth, userAgent string, body []byte) (*retryablehttp.Request, error) {
	var raw any // a nil []byte would still be a body
	if body != nil {
		raw = body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, url, raw)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	}
	return req, nil
}
