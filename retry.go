package yespo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/yespo-go/yespo/internal/retry"
)

// attemptLoop is the state of one call's attempt loop. go-retryablehttp's hooks
// are per client, not per request, so each call gets a small client whose
// hooks close over this.
type attemptLoop struct {
	c        *Client
	ep       endpoint
	policy   retry.Policy
	attempts int
	wait     time.Duration // decided by checkRetry, handed to backoff
}

// send runs the attempt loop for req. It returns the last response, whatever
// its status, or the error that ended the loop; st.attempts says how many
// attempts were made.
func (c *Client) send(req *retryablehttp.Request, ep endpoint) (*http.Response, *attemptLoop, error) {
	st := &attemptLoop{c: c, ep: ep, policy: c.retry}
	if err := c.pace(req.Context()); err != nil {
		return nil, st, err
	}
	rc := &retryablehttp.Client{
		HTTPClient:   c.httpClient,
		Logger:       nil, // no stderr logger: we log through slog, if at all
		RetryWaitMin: c.retry.MinWait,
		RetryWaitMax: c.retry.MaxWait,
		RetryMax:     c.retry.MaxRetries,
		// Set, though empty, like every hook: logging happens in checkRetry,
		// where the attempt's outcome and wait are both known.
		RequestLogHook:  func(retryablehttp.Logger, *http.Request, int) {},
		ResponseLogHook: func(retryablehttp.Logger, *http.Response) {},
		CheckRetry:      st.checkRetry,
		Backoff:         st.backoff,
		ErrorHandler:    st.errorHandler,
		PrepareRetry:    st.prepareRetry,
	}
	resp, err := rc.Do(req)
	return resp, st, err
}

// pace waits on the rate limiter, if any. x/time/rate refuses up front a
// wait that would outlast ctx's deadline, with an error of its own; that
// error is made to match context.DeadlineExceeded like every other expiry.
func (c *Client) pace(ctx context.Context) error {
	if c.limiter == nil {
		return nil
	}
	err := c.limiter.Wait(ctx)
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if _, ok := ctx.Deadline(); ok && strings.Contains(err.Error(), "deadline") {
		return fmt.Errorf("rate limiter: %w (%w)", err, context.DeadlineExceeded)
	}
	return fmt.Errorf("rate limiter: %w", err)
}

// checkRetry decides after each attempt, and also decides the wait, so that
// the attempt's log record can carry it. Returning false with a nil error
// hands the response back as is: checkResponse turns it into an *APIError.
func (a *attemptLoop) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	a.attempts++
	a.wait = 0
	// A final answer stands even if ctx ended meanwhile: a 2xx means Yespo
	// has the tokens, and reporting it as cancelled would be wrong.
	final := err == nil && !retry.RetryableStatus(resp.StatusCode)
	switch {
	case !final && ctx.Err() != nil:
		a.log(ctx, slog.LevelDebug, "yespo: attempt", resp, err)
		return false, ctx.Err()
	case final || !retry.ShouldRetry(ctx, resp, err):
		a.log(ctx, slog.LevelDebug, "yespo: attempt", resp, err)
		return false, nil
	case a.attempts > a.policy.MaxRetries:
		a.log(ctx, slog.LevelDebug, "yespo: attempt", resp, err)
		if a.policy.MaxRetries > 0 {
			a.log(ctx, slog.LevelWarn, "yespo: giving up: retries exhausted", resp, err)
		}
		return false, nil
	}
	if err == nil {
		if after, ok := retry.After(resp.StatusCode, resp.Header, time.Now()); ok {
			if after > a.policy.MaxWait {
				a.log(ctx, slog.LevelDebug, "yespo: attempt", resp, err)
				a.log(ctx, slog.LevelWarn, "yespo: giving up: server asks to wait longer than the retry limit", resp, err,
					slog.Duration("retryAfter", after))
				return false, nil
			}
			a.wait = after
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
	return a.c.pace(req.Context())
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
// status and timing go out: never headers, never bodies.
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
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	l.LogAttrs(ctx, level, msg, attrs...)
}
