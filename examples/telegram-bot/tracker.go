package main

import (
	"context"
	"sync"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

// handlerTimeout bounds one update's handling, Yespo retries included.
const handlerTimeout = 30 * time.Second

// tracker follows the update handlers, which go-telegram/bot runs each in its
// own goroutine: a stop waits for those in flight instead of cutting their
// Yespo calls and replies short, and the demo and the tests wait for a number
// of handled updates instead of sleeping.
type tracker struct {
	mu       sync.Mutex
	stopping bool
	inFlight sync.WaitGroup
	handled  int
	changed  chan struct{} // closed and replaced when handled grows
}

func newTracker() *tracker { return &tracker{changed: make(chan struct{})} }

// middleware runs next under the tracker, on a context that the bot's stop
// does not cancel (handlerTimeout bounds it instead). Updates that arrive
// once the stop has begun are dropped: Telegram sends unconfirmed ones again.
func (t *tracker) middleware(next bot.HandlerFunc) bot.HandlerFunc {
	return func(ctx context.Context, b *bot.Bot, u *models.Update) {
		if !t.begin() {
			return
		}
		defer t.end()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), handlerTimeout)
		defer cancel()
		next(ctx, b, u)
	}
}

func (t *tracker) begin() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopping {
		return false
	}
	t.inFlight.Add(1) // under mu, so never concurrent with stop's Wait
	return true
}

func (t *tracker) end() {
	t.mu.Lock()
	t.handled++
	close(t.changed)
	t.changed = make(chan struct{})
	t.mu.Unlock()
	t.inFlight.Done()
}

// stop refuses new handlers and waits for those in flight.
func (t *tracker) stop() {
	t.mu.Lock()
	t.stopping = true
	t.mu.Unlock()
	t.inFlight.Wait()
}

// waitHandled waits until n updates have been handled in all, and fails with
// ctx's error if ctx ends first.
func (t *tracker) waitHandled(ctx context.Context, n int) error {
	for {
		t.mu.Lock()
		done, changed := t.handled >= n, t.changed
		t.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
