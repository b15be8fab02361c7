package yespo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/yespo-go/yespo/internal/pace"
)

// caller is who makes a call: whose turn it takes at the budget's pace,
// and who hears of each attempt. Direct calls (AddAppTokens, mute, unmute,
// ContactIDByToken) pass nil and take the Client's own turns; a Batcher
// passes its own, built for each send. It reaches the attempt loop as an
// argument, never through the context.
type caller struct {
	party *pace.Party // whose turn; nil: the Client's direct calls
	// attempted, if set, hears of each attempt once it is answered:
	// status is 0 for a transport error.
	attempted func(status int)
	// sending, if set, hears that an attempt leaves for the server.
	sending func()
	// holdsOutage: the caller keeps its work through an outage by itself
	// (a Batcher), so its calls stop retrying while the budget holds one.
	holdsOutage bool
}

// attemptLoop is the state of one call's attempt loop. go-retryablehttp's hooks
// are per client, not per request, so each call gets a small client whose
// hooks close over this.
type attemptLoop struct {
	c        *Client
	ep       endpoint
	by       caller
	budget   *pace.Budget
	policy   retryPolicy
	attempts int
	began    time.Time     // when the current attempt's turn was granted
	wait     time.Duration // decided by checkRetry, handed to backoff
}

// send runs the attempt loop for req: each attempt waits for its turn at
// the endpoint's budget, is sent, and its answer is fed back to the pace
// and to the caller. It returns the last response, whatever its status,
// or the error that ended the loop; st.attempts says how many attempts
// were made.
func (c *Client) send(req *retryablehttp.Request, ep endpoint, by *caller) (*http.Response, *attemptLoop, error) {
	st := &attemptLoop{c: c, ep: ep, budget: c.budgetOf(ep), policy: c.retry}
	if by != nil {
		st.by = *by
	}
	if st.by.party == nil {
		st.by.party = st.budget.Direct()
	}
	if err := st.pace(req.Context()); err != nil {
		return nil, st, err
	}
	rc := &retryablehttp.Client{
		HTTPClient:   c.attemptClient,
		Logger:       nil, // no stderr logger: we log through slog, if at all
		RetryWaitMin: c.retry.MinWait,
		RetryWaitMax: c.retry.MaxWait,
		RetryMax:     c.retry.MaxRetries,
		// Logging happens in checkRetry, where the attempt's outcome and
		// wait are both known; RequestLogHook runs just before each attempt
		// leaves.
		RequestLogHook:  st.leaving,
		ResponseLogHook: func(retryablehttp.Logger, *http.Response) {},
		CheckRetry:      st.checkRetry,
		Backoff:         st.backoff,
		ErrorHandler:    st.errorHandler,
		PrepareRetry:    st.prepareRetry,
	}
	resp, err := rc.Do(req)
	return resp, st, err
}

// pace waits for the attempt's turn at its budget.
func (a *attemptLoop) pace(ctx context.Context) error {
	if err := a.budget.Wait(ctx, a.by.party); err != nil {
		return err
	}
	a.began = time.Now()
	return nil
}

// leaving tells the caller an attempt is about to be sent.
func (a *attemptLoop) leaving(retryablehttp.Logger, *http.Request, int) {
	if a.by.sending != nil {
		a.by.sending()
	}
}

// observe feeds one finished attempt to the pace and to the caller, and
// makes the whole budget wait when the server asked for a wait the client
// honours by itself.
func (a *attemptLoop) observe(resp *http.Response, err error) {
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	a.budget.Answered(a.began, status)
	if a.by.attempted != nil {
		a.by.attempted(status)
	}
}

// checkRetry decides after each attempt, and also decides the wait, so that
// the attempt's log record can carry it. Returning false with a nil error
// hands the response back as is: checkResponse turns it into an *APIError.
func (a *attemptLoop) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	a.attempts++
	a.wait = 0
	a.observe(resp, err)
	// A final answer stands even if ctx ended meanwhile: a 2xx means Yespo
	// has the tokens, and reporting it as cancelled would be wrong.
	final := err == nil && !retryableStatus(resp.StatusCode)
	switch {
	case !final && ctx.Err() != nil:
		a.log(ctx, slog.LevelDebug, "yespo: attempt", resp, err)
		return false, ctx.Err()
	case final || !shouldRetry(ctx, resp, err):
		a.log(ctx, slog.LevelDebug, "yespo: attempt", resp, err)
		return false, nil
	case a.by.holdsOutage && a.budget.Down():
		a.log(ctx, slog.LevelDebug, "yespo: attempt", resp, err)
		a.log(ctx, slog.LevelWarn, "yespo: giving up: Yespo is down; the batch is held", resp, err)
		return false, nil
	case a.attempts > a.policy.MaxRetries:
		a.log(ctx, slog.LevelDebug, "yespo: attempt", resp, err)
		if a.policy.MaxRetries > 0 {
			a.log(ctx, slog.LevelWarn, "yespo: giving up: retries exhausted", resp, err)
		}
		return false, nil
	}
	if err == nil {
		if after, ok := serverWait(resp.StatusCode, resp.Header, time.Now()); ok {
			if after > a.policy.MaxWait {
				a.log(ctx, slog.LevelDebug, "yespo: attempt", resp, err)
				a.log(ctx, slog.LevelWarn, "yespo: giving up: server asks to wait longer than the retry limit", resp, err,
					slog.Duration("retryAfter", after))
				return false, nil
			}
			a.wait = after
			a.budget.Pause(after) // the account was asked to wait, not only this call
		}
	}
	if a.wait == 0 {
		a.wait = a.policy.Backoff(a.attempts - 1)
	}
	a.log(ctx, slog.LevelDebug, "yespo: attempt", resp, err)
	return true, nil
}

// backoff returns the wait checkRetry decided.
func (a *attemptLoop) backoff(_, _ time.Duration, _ int, _ *http.Response) time.Duration {
	return a.wait
}

// prepareRetry paces every retry like the first attempt.
func (a *attemptLoop) prepareRetry(req *http.Request) error {
	return a.pace(req.Context())
}

// errorHandler runs when an error ends the loop: a transport error, a done
// context, or the limiter. It closes any response and returns the bare error
// (go-retryablehttp's default would wrap it in its own words). The last
// response of a loop that ran out of retries does not come here: checkRetry
// stops the loop first, so that response reaches checkResponse.
func (a *attemptLoop) errorHandler(resp *http.Response, err error, _ int) (*http.Response, error) {
	if resp != nil {
		discard(resp.Body)
	}
	if err == nil {
		err = errors.New("yespo: request failed without a response")
	}
	return nil, err
}

// log writes one record, if the client has a logger. Only method, path,
// status, timing and a transport error's scrubbed text go out: never
// headers, never bodies.
func (a *attemptLoop) log(ctx context.Context, level slog.Level, msg string, resp *http.Response, err error, extra ...slog.Attr) {
	l := a.c.logger
	if l == nil || !l.Enabled(ctx, level) {
		return
	}
	attrs := append([]slog.Attr{
		slog.String("method", a.ep.method),
		slog.String("path", a.ep.path),
		slog.Int("attempt", a.attempts),
		slog.Duration("wait", a.wait),
	}, extra...)
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.StatusCode))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", a.c.creds().scrub.Text(err.Error())))
	}
	l.LogAttrs(ctx, level, msg, attrs...)
}

// The retry policy: which answers are worth another attempt, how long to
// wait before it, and what the server asked us to wait.

// retryPolicy is how many times to retry and the bounds of the waits in between.
type retryPolicy struct {
	MaxRetries int           // 0 = a single attempt
	MinWait    time.Duration // first backoff, and the floor of every jittered wait
	MaxWait    time.Duration // cap of every wait; a longer Retry-After ends the retries
}

// defaultRetry is 3 retries with exponential backoff from 250 ms to 5 s.
var defaultRetry = retryPolicy{MaxRetries: 3, MinWait: 250 * time.Millisecond, MaxWait: 5 * time.Second}

// retryableStatus reports whether a response with this status may succeed
// when sent again: 408, 429, 500, 502, 503 and 504. Every Yespo apps endpoint
// is idempotent (tokens accumulate, mute and unmute set state), so a repeat
// is safe even when the first attempt was processed.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// errRedirectRefused is returned by the client's redirect policy; a refused
// redirect is final.
var errRedirectRefused = errors.New("redirect refused")

// permanentError reports whether a transport error cannot be cured by
// retrying: certificate problems, a malformed or unsupported URL, and a
// redirect the policy refused. Other errors (refused or reset connections,
// timeouts of one attempt) are transient.
func permanentError(err error) bool {
	var (
		unknownAuth  x509.UnknownAuthorityError
		certInvalid  x509.CertificateInvalidError
		hostname     x509.HostnameError
		verification *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &unknownAuth), errors.As(err, &certInvalid),
		errors.As(err, &hostname), errors.As(err, &verification),
		errors.Is(err, errRedirectRefused):
		return true
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		msg := ue.Err.Error()
		return strings.Contains(msg, "unsupported protocol scheme") ||
			strings.Contains(msg, "stopped after") ||
			strings.Contains(msg, "invalid header")
	}
	return false
}

// shouldRetry is the whole retry decision for one finished attempt. ctx is the
// caller's context: once it is done, nothing is retried.
func shouldRetry(ctx context.Context, resp *http.Response, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		return !permanentError(err)
	}
	return retryableStatus(resp.StatusCode)
}

// Backoff returns the wait before retry number n (0 for the first retry):
// a uniform pick between MinWait·2ⁿ and twice that, capped at MaxWait and
// never below MinWait. The upper half of a doubling band keeps the waits
// growing while the jitter keeps many clients from retrying in step — at the
// first retry too, and at the cap, where the pick is in [MaxWait/2, MaxWait].
func (p retryPolicy) Backoff(n int) time.Duration {
	if p.MaxWait <= 0 {
		return 0
	}
	hi := doubled(max(p.MinWait, 1), n+1, p.MaxWait)
	lo := max(hi/2, min(p.MinWait, p.MaxWait))
	return lo + rand.N(hi-lo+1)
}

// doubled returns d doubled n times, or limit once that is reached; it
// never overflows.
func doubled(d time.Duration, n int, limit time.Duration) time.Duration {
	for i := 0; i < n && d < limit; i++ {
		if d > limit/2 {
			return limit
		}
		d *= 2
	}
	return min(d, limit)
}

// serverWait returns the wait the server asked for with an answer of this status:
// Retry-After as seconds or an HTTP date, else, on a 429 only, the rate-limit
// headers some gateways send (RateLimit-Reset and X-RateLimit-Reset, as
// seconds to wait or as a Unix time) — on other answers they describe the
// quota window, not a request to wait. Yespo documents none of them; they
// are honoured when present, never required.
func serverWait(status int, h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, ok := parseSeconds(v); ok {
			return seconds(secs), true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	if status != http.StatusTooManyRequests {
		return 0, false
	}
	for _, name := range []string{"RateLimit-Reset", "X-RateLimit-Reset"} {
		secs, ok := parseSeconds(strings.TrimSpace(h.Get(name)))
		if !ok {
			continue
		}
		if secs > 1_000_000_000 { // a Unix time, not a delta
			secs = max(secs-now.Unix(), 0)
		}
		return seconds(secs), true
	}
	return 0, false
}

// parseSeconds reads a non-negative decimal; values beyond int64 saturate.
func parseSeconds(v string) (int64, bool) {
	secs, err := strconv.ParseUint(v, 10, 64)
	switch {
	case err == nil:
		return int64(min(secs, 1<<63-1)), true
	case errors.Is(err, strconv.ErrRange):
		return 1<<63 - 1, true
	}
	return 0, false
}

// seconds converts without overflowing: absurd values saturate.
func seconds(s int64) time.Duration {
	const maxSecs = int64(1<<63-1) / int64(time.Second)
	if s < 0 {
		return 0
	}
	return time.Duration(min(s, maxSecs)) * time.Second
}
