package yespo

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/yespo-go/yespo/internal/httpclient"
	"github.com/yespo-go/yespo/internal/retry"
	"github.com/yespo-go/yespo/internal/validate"
)

// Option configures a Client in NewClient. An Option that gets a bad value
// makes NewClient fail with a *ValidationError naming the option's input.
type Option func(*options) error

// Limiter caps the rate of requests on a budget: the account's
// (WithRateLimiter), or another one (WithBudgetLimiter). Wait is called
// before every attempt on the budget, retries included — for the account's,
// of AddAppTokens, MuteAppToken, UnmuteAppToken and every Batcher of the
// Client — and must return early with an error when ctx is done.
// *rate.Limiter from golang.org/x/time/rate fits.
type Limiter interface {
	Wait(ctx context.Context) error
}

// WindowLimiter is a Limiter that can hold its rate over a window longer
// than a second; a limiter shared by processes implements it
// (yesporedis.Limiter does). Yespo counts requests as they arrive, and on
// an uneven way there (a loaded machine, a stalled scheduler) requests
// granted evenly arrive bunched: some second would hold more than the
// budget. A Client sees how uneven its way is from the round trips of its
// attempts (the slowest less the fastest of the last two seconds, at most
// half a second) and calls WaitWindow instead of Wait with one second plus
// that spread, so that the limiter lets through at most its per-second
// rate in any span of window. A limiter of one process needs none of this:
// the Client holds its own turns the same way.
type WindowLimiter interface {
	Limiter
	// WaitWindow is Wait, with the limiter's per-second rate held over
	// window (one second or more) instead of one second. It returns early
	// with an error when ctx is done.
	WaitWindow(ctx context.Context, window time.Duration) error
}

// options is what the Options collect; NewClient turns it into a Client.
type options struct {
	baseURL     string
	httpClient  *http.Client
	transport   http.RoundTripper
	userAgent   string
	retry       retry.Policy
	logger      *slog.Logger
	limiter     Limiter
	accountRate float64
	// budgetLimiters are the other budgets' (WithBudgetLimiter).
	budgetLimiters map[Budget]Limiter
}

// WithBaseURL points the client at another API root: an absolute http or
// https URL such as "https://api.yespo.io/api/" or a test server's URL plus
// "/api/". Endpoint paths such as "v1/apps/{appUUID}/tokens" are joined to
// it: with "http://127.0.0.1:8080/api" the server sees
// "/api/v1/apps/{appUUID}/tokens". A trailing slash is optional and a path
// prefix is kept. It fails on a relative
// URL, another scheme, credentials, a query or a fragment.
func WithBaseURL(rawURL string) Option {
	return func(o *options) error {
		u, r := httpclient.BaseURL(rawURL)
		if r != "" {
			return invalid("baseURL", r)
		}
		o.baseURL = u
		return nil
	}
}

// WithHTTPClient makes the client send through hc, used as is: its Transport,
// Timeout and CheckRedirect apply. It fails on nil and cannot be combined with
// WithTransport.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error {
		if hc == nil {
			return invalid("httpClient", "must not be nil")
		}
		if o.transport != nil {
			return invalid("httpClient", "cannot be combined with WithTransport")
		}
		o.httpClient = hc
		return nil
	}
}

// WithTransport keeps the default HTTP client (30 s timeout, same-host
// redirects only) but sends through rt, e.g. an instrumented or mocked
// RoundTripper. It fails on nil and cannot be combined with WithHTTPClient.
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) error {
		if rt == nil {
			return invalid("transport", "must not be nil")
		}
		if o.httpClient != nil {
			return invalid("transport", "cannot be combined with WithHTTPClient")
		}
		o.transport = rt
		return nil
	}
}

// WithUserAgent puts product in front of the library's own User-Agent, giving
// "product yespo-go/<Version>". It fails on an empty product or one with
// control characters.
func WithUserAgent(product string) Option {
	return func(o *options) error {
		if r := validate.Product(product); r != "" {
			return invalid("userAgent", r)
		}
		o.userAgent = product + " " + defaultUserAgent
		return nil
	}
}

// WithRetry sets how many times a failed attempt is retried (0 = never) and
// the bounds of the exponential, jittered wait in between. A Retry-After
// longer than maxWait ends the retries at once, so that the caller can decide.
// The default is 3 retries between 250 ms and 5 s. WithRetry(0, 0, 0) turns
// retries off, which keeps tests of error paths fast. It fails on negative
// values or maxWait < minWait.
func WithRetry(maxRetries int, minWait, maxWait time.Duration) Option {
	return func(o *options) error {
		p := retry.Policy{MaxRetries: maxRetries, MinWait: minWait, MaxWait: maxWait}
		if r := p.Problem(); r != "" {
			return invalid("retry", r)
		}
		o.retry = p
		return nil
	}
}

// WithLogger makes the client log to l: one Debug record per attempt (method,
// path, status, attempt, wait, a transport failure's text) and a Warn record
// when it gives up. Without it the client logs nothing. Records never
// contain the API key in any form, nor headers or bodies. It fails on nil.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return invalid("logger", "must not be nil")
		}
		o.logger = l
		return nil
	}
}

// WithRateLimiter makes every attempt on the account's budget, retries
// included, wait on l first: l is a ceiling, under which the Client's pace
// still backs off on every 429 (another integration may take part of the
// account). With a limiter the pace believes the budget from the first
// request — Yespo's documented 200 a second, or WithAccountRate's — rather
// than ramp up to it from half: l decides how fast. ContactIDByToken, on a
// budget of its own, does not wait on l, nor does SendEvent: see
// WithBudgetLimiter. A Client needs no limiter to stay
// within Yespo's 200 requests per second; use one to cap a Client lower,
// or, when several processes share the account, a limiter shared through
// Redis (github.com/yespo-go/yespo/yesporedis). It fails on nil.
func WithRateLimiter(l Limiter) Option {
	return func(o *options) error {
		if l == nil {
			return invalid("rateLimiter", "must not be nil")
		}
		o.limiter = l
		return nil
	}
}

// WithAccountRate states the account's budget, in requests per second,
// when it is not Yespo's documented 200 (a plan's own limit, or the share
// an import may take): the Client's pace starts at it from the first
// request instead of ramping up from half, and probes no higher; it still
// backs off on every 429. It fails unless perSecond is positive and finite.
func WithAccountRate(perSecond float64) Option {
	return func(o *options) error {
		if !(perSecond > 0 && perSecond <= math.MaxFloat64) {
			return invalid("accountRate", "must be a positive number of requests per second")
		}
		o.accountRate = perSecond
		return nil
	}
}
