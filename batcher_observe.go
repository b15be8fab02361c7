package yespo

import (
	"context"
	"net/http"
)

// The Batcher counts every HTTP attempt, and paces by their answers —
// including the 429s the client's retry loop absorbs — so it needs to see
// each attempt, not only each call's outcome; and its pace must hold the
// retries too, or they come back on top of it. It passes an attemptHook
// down in the call's context: the client's retry loop calls observeAttempt
// after every attempt and paceAttempt before every attempt. Other callers
// pass none and pay a context lookup.

type attemptHookKey struct{}

// attemptHook is what a call's attempts report to.
type attemptHook interface {
	observe(resp *http.Response, err error) // after each attempt; resp is nil on a transport error
	pace(ctx context.Context) error         // before each attempt
}

// withAttemptHook returns ctx carrying h for the calls made with it.
func withAttemptHook(ctx context.Context, h attemptHook) context.Context {
	return context.WithValue(ctx, attemptHookKey{}, h)
}

// observeAttempt tells ctx's hook, if any, one attempt's outcome.
func observeAttempt(ctx context.Context, resp *http.Response, err error) {
	if h, ok := ctx.Value(attemptHookKey{}).(attemptHook); ok {
		h.observe(resp, err)
	}
}

// paceAttempt waits for ctx's hook, if any, to let the next attempt go.
func paceAttempt(ctx context.Context) error {
	if h, ok := ctx.Value(attemptHookKey{}).(attemptHook); ok {
		return h.pace(ctx)
	}
	return nil
}
