package yespo

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/yespo-go/yespo/internal/apierr"
	"github.com/yespo-go/yespo/internal/httpclient"
	"github.com/yespo-go/yespo/internal/pace"
	"github.com/yespo-go/yespo/internal/redact"
	"github.com/yespo-go/yespo/internal/retry"
	"github.com/yespo-go/yespo/internal/validate"
)

// Version is the library's version, sent in the User-Agent.
const Version = "0.4.0"

// DefaultBaseURL is the API root from Yespo's Telegram guide. The other
// documented root, "https://api.yespo.io/api/", works through WithBaseURL.
const DefaultBaseURL = "https://yespo.io/api/"

const (
	defaultUserAgent = "yespo-go/" + Version
	// basicUser is the Basic-auth user name: Yespo reads only the password.
	basicUser = "yespo-go"
	// maxErrorBody bounds what is kept of an error answer.
	maxErrorBody = 64 << 10
)

// Client calls the Yespo apps API. Create it with NewClient; it is safe for
// concurrent use by many goroutines, and meant to be shared: one Client per
// account and process.
//
// A Client paces its requests per Yespo budget, as Yespo counts them per
// account. AddAppTokens, MuteAppToken, UnmuteAppToken and every Batcher of
// the Client draw from the account's 200 requests per second; each
// attempt, retries included, waits for a turn, and the Client's Batchers
// and its direct calls take turns, so that an import's backlog does not
// starve a bot's registrations. ContactIDByToken draws from its own 150
// per second and SendEvent from its own 350 (see Budget), each paced apart:
// a burst of events never slows the tokens. The pace starts at half the
// documented rate and finds the budget within about a second — or, stated
// by WithAccountRate or a WithRateLimiter limiter (which caps it), starts
// there — learns from every 429 (also under a WithBudgetLimiter limiter)
// and holds an outage with one probe at a time (see Batcher). Two Clients
// with the same key pace separately; several processes on one account
// share each budget through Redis (github.com/yespo-go/yespo/yesporedis)
// set with WithRateLimiter and WithBudgetLimiter.
type Client struct {
	baseURL   string // absolute, ends in "/"
	creds     func() *credentials
	userAgent string
	// attemptClient is what go-retryablehttp sends through: the user's
	// http.Client, or the default one, behind a shield (see
	// httpclient.Shielded).
	attemptClient *http.Client
	retry         retry.Policy
	logger        *slog.Logger // nil: no logging
	// account paces the apps methods on the account's 200 requests per
	// second, under the user's Limiter if any; lookup paces
	// ContactIDByToken on its own 150 per second, event SendEvent on its
	// own 350, each under its WithBudgetLimiter limiter if any.
	account *pace.Budget
	lookup  *pace.Budget
	event   *pace.Budget
}

// credentials are reached through a func so that no printer — fmt on a
// Client nested in another value, spew, a debugger dump — can walk to them.
type credentials struct {
	auth  string          // the Authorization header value
	scrub redact.Scrubber // the key's forms, to scrub from everything a server sends
}

// NewClient returns a Client that authenticates with apiKey. Without options
// it talks to DefaultBaseURL with a 30 s timeout per attempt, 3 retries and
// no logging; bound a whole call, retries included, with its context.
// It fails with a *ValidationError (matching ErrInvalidInput) on a blank key,
// a key with white space in it, or a bad option.
func NewClient(apiKey string, opts ...Option) (*Client, error) {
	if r := validate.APIKey(apiKey); r != "" {
		return nil, invalid("apiKey", r)
	}
	o := options{baseURL: DefaultBaseURL, userAgent: defaultUserAgent, retry: retry.Default}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	basic := base64.StdEncoding.EncodeToString([]byte(basicUser + ":" + apiKey))
	creds := &credentials{auth: "Basic " + basic, scrub: redact.New(basicUser, apiKey)}
	hc := o.httpClient
	if hc == nil {
		hc = httpclient.Default(o.transport, retry.ErrRedirectRefused, creds.scrub.Text)
	}
	lookupL, eventL := o.budgetLimiters[BudgetContactLookup], o.budgetLimiters[BudgetEvent]
	return &Client{
		baseURL:       o.baseURL,
		creds:         func() *credentials { return creds },
		userAgent:     o.userAgent,
		attemptClient: httpclient.Shielded(hc),
		retry:         o.retry,
		logger:        o.logger,
		account:       pace.New(cmp.Or(o.accountRate, pace.AccountRate), o.limiter, o.limiter != nil || o.accountRate > 0),
		// The other budgets are believed from the first request when the
		// user gave them a limiter, as for the account.
		lookup: pace.New(pace.LookupRate, lookupL, lookupL != nil),
		event:  pace.New(pace.EventRate, eventL, eventL != nil),
	}, nil
}

// BaseURL returns the API root the client sends to, as WithBaseURL
// normalised it (always ending in "/"). A Journal records it, so that
// tokens kept for one Yespo are never replayed into another.
func (c *Client) BaseURL() string { return c.baseURL }

// Format prints the client without its API key, for every verb: a Client
// that ends up in a log line or a panic message leaks nothing.
func (c Client) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "yespo.Client{baseURL: %q, userAgent: %q, apiKey: [REDACTED]}", c.baseURL, c.userAgent)
}

// LogValue gives slog the same redacted view as Format.
func (c Client) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("baseURL", c.baseURL),
		slog.String("userAgent", c.userAgent),
		slog.String("apiKey", "[REDACTED]"),
	)
}

// endpoint is one API call: method and path relative to the base URL, with
// every variable segment already escaped, and the budget it draws from.
type endpoint struct {
	method string
	path   string
	budget Budget // 0: the account's
}

// budgetOf returns the budget ep draws from.
func (c *Client) budgetOf(ep endpoint) *pace.Budget {
	switch ep.budget {
	case BudgetContactLookup:
		return c.lookup
	case BudgetEvent:
		return c.event
	}
	return c.account
}

// newRequest builds the request. The body is marshalled once by the caller
// and replayed from memory on every retry and 307/308 redirect.
func (c *Client) newRequest(ctx context.Context, ep endpoint, body []byte) (*retryablehttp.Request, error) {
	req, err := httpclient.NewRequest(ctx, ep.method, c.baseURL+ep.path, c.creds().auth, c.userAgent, body)
	if err != nil {
		return nil, fmt.Errorf("yespo: %s %s: %w", ep.method, ep.path, err)
	}
	return req, nil
}

// do is the one request path every endpoint takes: build, send with retries
// and pacing, and turn a non-2xx answer into an *APIError. by is the
// caller (nil for a direct call): see caller. On success the caller owns
// resp.Body and must close it.
func (c *Client) do(ctx context.Context, ep endpoint, body []byte, by *caller) (*http.Response, error) {
	if ctx == nil {
		return nil, invalid("ctx", "must not be nil")
	}
	req, err := c.newRequest(ctx, ep, body)
	if err != nil {
		return nil, err
	}
	resp, attempts, err := c.send(req, ep, by)
	if err != nil {
		return nil, scrubTransport(c.creds().scrub, ep, attempts, err)
	}
	if err := c.checkResponse(resp, ep, attempts); err != nil {
		return nil, err
	}
	return resp, nil
}

// checkResponse returns nil for a 2xx answer and otherwise an *APIError built
// from a bounded read of the body, which it closes. Everything taken from the
// answer is scrubbed in its final form: the message after decoding, the body
// as sent, each header value.
func (c *Client) checkResponse(resp *http.Response, ep endpoint, attempts int) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	defer discard(resp.Body)
	a := apierr.Read(resp, c.creds().scrub, maxErrorBody, maxMessage)
	return &APIError{StatusCode: resp.StatusCode, Message: a.Message, Body: a.Body, Header: a.Header,
		RetryAfter: a.RetryAfter, Attempts: attempts, Method: ep.method, Path: ep.path}
}

// discard reads a bounded amount of what is left, so that the connection can
// be reused, and closes the body. An endless or huge body is cut, not read.
func discard(body io.ReadCloser) { retry.Drain(body) }
