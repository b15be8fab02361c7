// Package retry is the client's retry policy: which answers are worth
// another attempt, how long to wait before it, and what the server asked
// the client to wait.
package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Policy is how many times to retry and the bounds of the waits in between.
type Policy struct {
	MaxRetries int           // 0 = a single attempt
	MinWait    time.Duration // first backoff, and the floor of every jittered wait
	MaxWait    time.Duration // cap of every wait; a longer Retry-After ends the retries
}

// Default is 3 retries with exponential backoff from 250 ms to 5 s.
var Default = Policy{MaxRetries: 3, MinWait: 250 * time.Millisecond, MaxWait: 5 * time.Second}

// Status reports whether a response with this status may succeed
// when sent again: 408, 429, 500, 502, 503 and 504. Every Yespo apps endpoint
// is idempotent (tokens accumulate, mute and unmute set state), so a repeat
// is safe even when the first attempt was processed.
func Status(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// ErrRedirectRefused is returned by the client's redirect policy; a refused
// redirect is final.
var ErrRedirectRefused = errors.New("redirect refused")

// Permanent reports whether a transport error cannot be cured by
// retrying: certificate problems, a malformed or unsupported URL, and a
// redirect the policy refused. Other errors (refused or reset connections,
// timeouts of one attempt) are transient.
func Permanent(err error) bool {
	var (
		unknownAuth  x509.UnknownAuthorityError
		certInvalid  x509.CertificateInvalidError
		hostname     x509.HostnameError
		verification *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &unknownAuth), errors.As(err, &certInvalid),
		errors.As(err, &hostname), errors.As(err, &verification),
		errors.Is(err, ErrRedirectRefused):
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

// Should is the whole retry decision for one finished attempt. ctx is the
// caller's context: once it is done, nothing is retried.
func Should(ctx context.Context, resp *http.Response, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		return !Permanent(err)
	}
	return Status(resp.StatusCode)
}

// Backoff returns the wait before retry number n (0 for the first retry):
// a uniform pick between MinWait·2ⁿ and twice that, capped at MaxWait and
// never below MinWait. The upper half of a doubling band keeps the waits
// growing while the jitter keeps many clients from retrying in step — at the
// first retry too, and at the cap, where the pick is in [MaxWait/2, MaxWait].
func (p Policy) Backoff(n int) time.Duration {
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

// ServerWait returns the wait the server asked for with an answer of this status:
// Retry-After as seconds or an HTTP date, else, on a 429 only, the rate-limit
// headers some gateways send (RateLimit-Reset and X-RateLimit-Reset, as
// seconds to wait or as a Unix time) — on other answers they describe the
// quota window, not a request to wait. Yespo documents none of them; they
// are honoured when present, never required.
func ServerWait(status int, h http.Header, now time.Time) (time.Duration, bool) {
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

// Problem says what is wrong with p as a policy, or "".
func (p Policy) Problem() string {
	switch {
	case p.MaxRetries < 0:
		return "maxRetries must not be negative"
	case p.MinWait < 0:
		return "minWait must not be negative"
	case p.MaxWait < p.MinWait:
		return "maxWait must not be less than minWait"
	}
	return ""
}
