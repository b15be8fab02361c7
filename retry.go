package yespo

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/yespo-go/yespo/internal/pace"
	"github.com/yespo-go/yespo/internal/retry"
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
	policy   retry.Policy
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
	final := err == nil && !retry.Status(resp.StatusCode)
	switch {
	case !final && ctx.Err() != nil:
		a.log(ctx, slog.LevelDebug, "yespo: attempt", resp, err)
		return false, ctx.Err()
	case final || !retry.Should(ctx, resp, err):
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
		if after, ok := retry.ServerWait(resp.StatusCode, resp.Header, time.Now()); ok {
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
