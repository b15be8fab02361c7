package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-telegram/bot/models"
)

// dispatcher runs the handlers of updates: one chat's updates one at a time
// and in the order given, so that a replayed /mute and /unmute cannot swap;
// different chats side by side, at most maxHandlers at once. It tells the
// caller of each update whether its effect is durable (see outcome), which
// is when the update may be confirmed to Telegram.
type dispatcher struct {
	handle func(ctx context.Context, u *models.Update) error // runs the handlers, says if the effect is durable
	slots  chan struct{}                                     // one per handler running
	// retry, when not nil, has an update whose effect is not durable handled
	// again after a growing delay, while retry lasts (long polling: Telegram
	// would send it again only to the next run). Nil leaves that to the
	// caller (webhook: Telegram re-sends on a 5xx).
	retry context.Context

	mu    sync.Mutex
	chats map[int64][]job // updates queued per chat; a chat with an entry has a goroutine draining it
	wg    sync.WaitGroup
}

// job is one update and who to tell its outcome.
type job struct {
	u    *models.Update
	done func(error)
}

// maxHandlers bounds the handlers running at once: they mostly wait on the
// journal's group commit, which a few hundred share.
const maxHandlers = 256

func newDispatcher(handle func(context.Context, *models.Update) error) *dispatcher {
	return &dispatcher{handle: handle, slots: make(chan struct{}, maxHandlers), chats: map[int64][]job{}}
}

// submit queues u behind the earlier updates of its chat; done is called
// with nil once u's effect is durable, or with why it is not.
func (d *dispatcher) submit(u *models.Update, done func(error)) {
	chat := int64(0) // updates without a chat (none that the bot handles) share one line
	if c := chatOf(u); c != nil {
		chat = c.ID
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	q, running := d.chats[chat]
	d.chats[chat] = append(q, job{u, done})
	if !running {
		d.wg.Add(1)
		go d.drain(chat)
	}
}

// drain handles chat's updates in order until its queue is empty.
func (d *dispatcher) drain(chat int64) {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		q := d.chats[chat]
		if len(q) == 0 {
			delete(d.chats, chat)
			d.mu.Unlock()
			return
		}
		j := q[0]
		d.chats[chat] = q[1:]
		d.mu.Unlock()
		j.done(d.handleOne(j.u))
	}
}

// handleOne runs u's handlers, again while they fail and retry lasts.
func (d *dispatcher) handleOne(u *models.Update) error {
	var backoff time.Duration
	for {
		d.slots <- struct{}{}
		err := d.handle(context.Background(), u)
		<-d.slots
		if err == nil || d.retry == nil || d.retry.Err() != nil {
			return err
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
		if !sleep(d.retry, backoff) {
			return err
		}
	}
}

// wait waits for every update submitted so far to be handled.
func (d *dispatcher) wait() { d.wg.Wait() }

// outcome is what a handler found about the durability of its update's
// effect; the dispatcher puts one in the handler's context.
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
