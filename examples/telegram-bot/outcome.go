package main

import (
	"context"
	"errors"
	"sync"
)

// outcome is what a handler found about the durability of its update's
// effect; handleUpdate puts one in the handlers' context.
type outcome struct {
	mu  sync.Mutex
	err error
}

type outcomeKey struct{}

// withOutcome returns ctx carrying a new outcome.
func withOutcome(ctx context.Context) (context.Context, *outcome) {
	o := &outcome{}
	return context.WithValue(ctx, outcomeKey{}, o), o
}

// notDurable records, for the update being handled in ctx, that its effect
// could not be kept (the journal refused the token): the update must not be
// confirmed to Telegram, which will send it again.
func notDurable(ctx context.Context, err error) {
	if o, ok := ctx.Value(outcomeKey{}).(*outcome); ok {
		o.mu.Lock()
		o.err = errors.Join(o.err, err)
		o.mu.Unlock()
	}
}

func (o *outcome) result() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}
