package yespo

import (
	"context"
	"net/http"
)

// The Batcher counts every HTTP attempt, and paces by their answers —
// including the 429s the client's retry loop absorbs — so it needs to see
// each attempt, not only each call's outcome. It passes an observer down
// in the call's context; the client's retry loop calls observeAttempt after
// every attempt. Other callers pass none and pay one context lookup.

type attemptObserverKey struct{}

// withAttemptObserver returns ctx carrying f, to be called after each
// attempt of a call made with it.
func withAttemptObserver(ctx context.Context, f func(*http.Response, error)) context.Context {
	return context.WithValue(ctx, attemptObserverKey{}, f)
}

// observeAttempt tells ctx's observer, if any, one attempt's outcome: the
// response (nil on a transport error) and the error.
func observeAttempt(ctx context.Context, resp *http.Response, err error) {
	if f, ok := ctx.Value(attemptObserverKey{}).(func(*http.Response, error)); ok {
		f(resp, err)
	}
}
