package retry

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/yespo-go/yespo/internal/pace"
)

// Caller is who makes a call: whose turn it takes at the budget's pace,
// and who hears of each attempt.
type Caller struct {
	Party *pace.Party // whose turn; nil: the budget's direct calls
	// Attempted, if set, hears of each attempt once it is answered:
	// status is 0 for a transport error.
	Attempted func(status int)
	// Sending, if set, hears that an attempt leaves for the server.
	Sending func()
	// HoldsOutage: the caller keeps its work through an outage by itself
	// (a Batcher), so its calls stop retrying while the budget holds one.
	HoldsOutage bool
}

// Loop is the state of one call's attempt loop. go-retryablehttp's hooks
// are per client, not per request, so each call gets a small client whose
// hooks close over this.
type Loop struct {
	HTTP         *http.Client // what each attempt goes through
	Budget       *pace.Budget
	Policy       Policy
	By           Caller
	Logger       *slog.Logger        // nil: no logging
	Method, Path string              // for the log records
	Scrub        func(string) string // cleans a transport error's text for the log
	Attempts     int                 // attempts made so far
	began        time.Time           // when the current attempt's turn was granted
	wait         time.Duration       // decided by checkRetry, handed to backoff
}

// Do runs the attempt loop for req: each attempt waits for its turn at the
// budget, is sent, and its answer is fed back to the pace and to the
// caller. It returns the last response, whatever its status, or the error
// that ended the loop; l.Attempts says how many attempts were made.
func (l *Loop) Do(req *retryablehttp.Request) (*http.Response, error) {
	if l.By.Party == nil {
		l.By.Party = l.Budget.Direct()
	}
	if err := l.pace(req.Context()); err != nil {
		return nil, err
	}
	rc := &retryablehttp.Client{
		HTTPClient:   l.HTTP,
		Logger:       nil, // no stderr logger: we log through slog, if at all
		RetryWaitMin: l.Policy.MinWait,
		RetryWaitMax: l.Policy.MaxWait,
		RetryMax:     l.Policy.MaxRetries,
		// Logging happens in checkRetry, where the attempt's outcome and
		// wait are both known; RequestLogHook runs just before each attempt
		// leaves.
		RequestLogHook:  l.leaving,
		ResponseLogHook: func(retryablehttp.Logger, *http.Response) {},
		CheckRetry:      l.checkRetry,
		Backoff:         l.backoff,
		ErrorHandler:    l.errorHandler,
		PrepareRetry:    l.prepareRetry,
	}
	return rc.Do(req)
}

// pace waits for the attempt's turn at its budget.
func (l *Loop) pace(ctx context.Context) error {
	if err := l.Budget.Wait(ctx, l.By.Party); err != nil {
		return err
	}
	l.began = time.Now()
	return nil
}

// leaving tells the caller an attempt is about to be sent.
func (l *Loop) leaving(retryablehttp.Logger, *http.Request, int) {
	if l.By.Sending != nil {
		l.By.Sending()
	}
}

// observe feeds one finished attempt to the pace and to the caller.
func (l *Loop) observe(resp *http.Response, err error) {
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	l.Budget.Answered(l.began, status)
	if l.By.Attempted != nil {
		l.By.Attempted(status)
	}
}

// checkRetry decides after each attempt, and also decides the wait, so that
// the attempt's log record can carry it. Returning false with a nil error
// hands the response back as is, for the caller to judge.
func (l *Loop) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	l.Attempts++
	l.wait = 0
	l.observe(resp, err)
	// A final answer stands even if ctx ended meanwhile: a 2xx means Yespo
	// has the tokens, and reporting it as cancelled would be wrong.
	final := err == nil && !Status(resp.StatusCode)
	switch {
	case !final && ctx.Err() != nil:
		l.log(ctx, slog.LevelDebug, "yespo: attempt", resp, err)
		return false, ctx.Err()
	case final || !Should(ctx, resp, err):
		l.log(ctx, slog.LevelDebug, "yespo: attempt", resp, err)
		return false, nil
	case l.By.HoldsOutage && l.Budget.Down():
		l.log(ctx, slog.LevelDebug, "yespo: attempt", resp, err)
		l.log(ctx, slog.LevelWarn, "yespo: giving up: Yespo is down; the batch is held", resp, err)
		return false, nil
	case l.Attempts > l.Policy.MaxRetries:
		l.log(ctx, slog.LevelDebug, "yespo: attempt", resp, err)
		if l.Policy.MaxRetries > 0 {
			l.log(ctx, slog.LevelWarn, "yespo: giving up: retries exhausted", resp, err)
		}
		return false, nil
	}
	if err == nil {
		if after, ok := ServerWait(resp.StatusCode, resp.Header, time.Now()); ok {
			if after > l.Policy.MaxWait {
				l.log(ctx, slog.LevelDebug, "yespo: attempt", resp, err)
				l.log(ctx, slog.LevelWarn, "yespo: giving up: server asks to wait longer than the retry limit", resp, err,
					slog.Duration("retryAfter", after))
				return false, nil
			}
			l.wait = after
			l.Budget.Pause(after) // the account was asked to wait, not only this call
		}
	}
	if l.wait == 0 {
		l.wait = l.Policy.Backoff(l.Attempts - 1)
	}
	l.log(ctx, slog.LevelDebug, "yespo: attempt", resp, err)
	return true, nil
}

// backoff returns the wait checkRetry decided.
func (l *Loop) backoff(_, _ time.Duration, _ int, _ *http.Response) time.Duration {
	return l.wait
}

// prepareRetry paces every retry like the first attempt.
func (l *Loop) prepareRetry(req *http.Request) error {
	return l.pace(req.Context())
}

// errorHandler runs when an error ends the loop: a transport error, a done
// context, or the limiter. It closes any response and returns the bare error
// (go-retryablehttp's default would wrap it in its own words). The last
// response of a loop that ran out of retries does not come here: checkRetry
// stops the loop first, so that response reaches the caller.
func (l *Loop) errorHandler(resp *http.Response, err error, _ int) (*http.Response, error) {
	if resp != nil {
		Drain(resp.Body)
	}
	if err == nil {
		err = errors.New("yespo: request failed without a response")
	}
	return nil, err
}

// log writes one record, if there is a logger. Only method, path, status,
// timing and a transport error's scrubbed text go out: never headers,
// never bodies.
func (l *Loop) log(ctx context.Context, level slog.Level, msg string, resp *http.Response, err error, extra ...slog.Attr) {
	if l.Logger == nil || !l.Logger.Enabled(ctx, level) {
		return
	}
	attrs := append([]slog.Attr{
		slog.String("method", l.Method),
		slog.String("path", l.Path),
		slog.Int("attempt", l.Attempts),
		slog.Duration("wait", l.wait),
	}, extra...)
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.StatusCode))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", l.Scrub(err.Error())))
	}
	l.Logger.LogAttrs(ctx, level, msg, attrs...)
}

// maxDrain bounds what is read of a body left unread, so that its
// connection can be reused.
const maxDrain = 64 << 10

// Drain reads a bounded amount of what is left, so that the connection can
// be reused, and closes the body. An endless or huge body is cut, not read.
func Drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxDrain))
	_ = body.Close()
}
