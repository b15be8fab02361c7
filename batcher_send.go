package yespo

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/yespo-go/yespo/internal/engine"
	"github.com/yespo-go/yespo/internal/redact"
	"github.com/yespo-go/yespo/internal/retry"
)

// ErrNotSent is matched by the error of a batch that never left for Yespo:
// a Close gave up before its first attempt. Its tokens can be added again
// as they are; BatchResult.Attempted is false for it.
var ErrNotSent = errors.New("yespo: batch not sent")

// ErrHeld is matched by the error of Flush, Close and AddAndWait when tokens
// are held in the journal: Yespo has not accepted them yet (an outage, a
// rate limit, a refused key…; the error wraps the last cause too), and the
// Batcher — or, after Close, the next Batcher on the journal — sends them
// again. Nothing is lost; delivery is at least once.
var ErrHeld = engine.ErrHeld

// send makes one AddAppTokens call for a batch as the Batcher's own
// caller: its turns at the pace, its counters, its outage hold.
func (b *Batcher) send(ctx context.Context, tokens []Token, sending func()) error {
	return b.c.sendTokens(ctx, b.app, tokens, &caller{
		party:       &b.party,
		attempted:   b.observe,
		sending:     sending,
		holdsOutage: true,
	})
}

// observe counts one attempt of a send.
func (b *Batcher) observe(status int) {
	b.attempts.Add(1)
	if status == http.StatusTooManyRequests {
		b.rateLimited.Add(1)
	}
}

// classify says what a failed send means for its batch. An outage is the
// budget's to know: it holds one when Yespo answered nothing but errors for
// a while, and probes it, one attempt at a time. A batch answered 429
// after its retries is held the same way, not failed: the pace is there
// to absorb a 429, and one batch unlucky four times is no refusal.
func (b *Batcher) classify(err error) engine.Verdict {
	var apiErr *APIError
	switch {
	case refusedForGood(err) && errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest:
		return engine.Split
	case refusedForGood(err):
		return engine.Refused
	case transient(err) && b.c.account.Down(),
		errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests && apiErr.RetryAfter <= b.opts.MaxPause:
		return engine.Outage // the budget paces what is sent again: a 429 is its to absorb
	case errors.Is(err, ErrUnauthorized), errors.Is(err, ErrForbidden), errors.Is(err, ErrNotFound):
		return engine.Operator
	}
	return engine.Transient
}

// pauseFor pauses the Client's account budget, and reports true, when err
// asks for a pause: only an *APIError of a retryable status whose
// Retry-After is longer than the client's own longest wait (so the client
// gave up rather than wait) and at most MaxPause. A longer one is not
// honoured: the batch fails with it.
func (b *Batcher) pauseFor(err error) bool {
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !retry.Status(apiErr.StatusCode) {
		return false
	}
	d := apiErr.RetryAfter
	if d <= b.c.retry.MaxWait || d > b.opts.MaxPause {
		return false
	}
	b.c.account.Pause(d)
	return true
}

// transient reports whether err is one that time may cure: an *APIError
// of a retryable status, or a transport error that is not permanent.
func transient(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return retry.Status(apiErr.StatusCode)
	}
	var te *redact.TransportError
	return errors.As(err, &te) && !retry.Permanent(te.Cause)
}

// refusedForGood reports whether err is Yespo refusing the batch as sent:
// a 4xx no retry and no change of configuration fixes (400 above all), or
// a batch the client would not send. 401, 403 and 404 (a key, a permission
// or an app the operator must fix), 407, 408, 425 and 429 are not.
func refusedForGood(err error) bool {
	if errors.Is(err, ErrInvalidInput) {
		return true
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode < 400 || apiErr.StatusCode > 499 {
		return false
	}
	switch apiErr.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusProxyAuthRequired,
		http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return false
	}
	return true
}

// gaveUpError is the error of a batch a Close gave up on, cause being that
// Close's ctx error.
func gaveUpError(cause error, attempted bool) error {
	if !attempted {
		return notSent{cause}
	}
	return fmt.Errorf("yespo: batcher closed while the batch was in flight (it may have reached Yespo): %w", cause)
}

// notSent is the error of a batch a Close gave up on before it left.
type notSent struct{ cause error }

func (e notSent) Error() string {
	return "yespo: batcher closed before the batch was sent: " + e.cause.Error()
}

func (e notSent) Unwrap() []error { return []error{ErrNotSent, e.cause} }
