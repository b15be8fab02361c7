package telegramupdates

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Poller long-polls getUpdates and hands each update to Handler, confirming
// to Telegram only what is done. Set Token and Handler; the zero value of
// every other field is its default. Run it once.
type Poller struct {
	Token   string  // the bot token from @BotFather
	Handler Handler // required
	// APIURL is the Bot API server, "https://api.telegram.org" when empty
	// (a local Bot API server, or a fake such as telegramtest, otherwise).
	APIURL string
	// Client makes the getUpdates calls; its Timeout, if set, must outlast
	// PollTimeout. Nil: a client of its own.
	Client *http.Client
	// PollTimeout is how long one getUpdates waits for an update: 50 s when
	// zero.
	PollTimeout time.Duration
	// AllowedUpdates is getUpdates' allowed_updates; nil keeps Telegram's
	// setting.
	AllowedUpdates []string
	// MaxInFlight bounds the Handler calls running at once: 64 when zero.
	MaxInFlight int
	// MaxPending bounds the updates taken and not done (running, queued
	// behind their chat, or waiting for a retry); beyond it Run waits
	// before asking for more. 1,000 when zero.
	MaxPending int
	// HandlerTimeout bounds one Handler call, through its context: one
	// minute when zero.
	HandlerTimeout time.Duration
	// RetryFor is how long an update whose Handler keeps failing is handled
	// again, after a delay growing from 100 ms to 5 s: one minute when zero.
	// Meanwhile its chat's later updates wait, other chats go on, and the
	// offset stays at it: Telegram then sends at most 100 updates past it,
	// which Run fetches once a second.
	// After RetryFor the update is reported to OnGiveUp and skipped: it is
	// confirmed like a done one, and Telegram will not send it again.
	RetryFor time.Duration
	// OnGiveUp hears of each update skipped after RetryFor, with its last
	// error: log it, or keep it somewhere for a person to look at.
	OnGiveUp func(u Update, err error)
	// OnPoll hears the outcome of every getUpdates: nil when it reached
	// Telegram (for a health check), else the error, which Run retries
	// after a growing delay (Telegram's retry_after for a 429). Errors never
	// hold the token.
	OnPoll func(err error)
	// ConfirmTimeout bounds the last getUpdates, at a stop, that confirms
	// the updates done: 5 s when zero.
	ConfirmTimeout time.Duration

	mu      sync.Mutex
	inHand  map[int64]bool // update ids at or past the offset that this run took: done or not
	maxSeen int64
	changed chan struct{} // closed and replaced when an update is done
}

// Defaults of the Poller's fields.
const (
	defaultPollTimeout    = 50 * time.Second
	defaultMaxInFlight    = 64
	defaultMaxPending     = 1000
	defaultHandlerTimeout = time.Minute
	defaultRetryFor       = time.Minute
	defaultConfirmTimeout = 5 * time.Second
)

// ErrUnauthorized is returned by Run when Telegram refuses the token (401,
// or 404 for a token it does not know): no retry fixes that.
var ErrUnauthorized = errors.New("telegramupdates: Telegram refuses the bot token")

// Run polls until ctx ends. Then it takes no more updates, lets those in
// hand run (each bounded by HandlerTimeout) but retries none, and confirms
// the updates done, within ConfirmTimeout; one that failed stays
// unconfirmed, for the next run. It returns nil after a stop by ctx, an error matching ErrUnauthorized
// at once when Telegram refuses the token, or an error for a Poller
// without Token or Handler.
func (p *Poller) Run(ctx context.Context) error {
	if p.Token == "" || p.Handler == nil {
		return errors.New("telegramupdates: Poller needs a Token and a Handler")
	}
	api := newBotAPI(p.APIURL, p.Token, p.Client, or(p.PollTimeout, defaultPollTimeout))
	d := newDispatcher(p.Handler, or(p.MaxInFlight, defaultMaxInFlight), or(p.HandlerTimeout, defaultHandlerTimeout))
	d.retryFor, d.giveUp = or(p.RetryFor, defaultRetryFor), p.OnGiveUp
	p.mu.Lock()
	p.inHand, p.maxSeen, p.changed = map[int64]bool{}, 0, make(chan struct{})
	p.mu.Unlock()

	err := p.poll(ctx, api, d)
	d.wait()
	confirm, cancel := context.WithTimeout(context.WithoutCancel(ctx), or(p.ConfirmTimeout, defaultConfirmTimeout))
	defer cancel()
	p.mu.Lock()
	offset := p.offsetLocked()
	p.mu.Unlock()
	if _, errConfirm := api.getUpdates(confirm, offset, 0, 1, nil); errConfirm != nil && err == nil {
		p.report(fmt.Errorf("confirming the updates done at stop (they will come again): %w", errConfirm))
	}
	return err
}

// poll is Run's loop: ask for updates past the offset, hand the new ones to
// d, until ctx ends or Telegram refuses the token.
func (p *Poller) poll(ctx context.Context, api *botAPI, d *dispatcher) error {
	var backoff time.Duration
	maxPending := or(p.MaxPending, defaultMaxPending)
	for ctx.Err() == nil {
		p.mu.Lock()
		offset, pending, changed := p.offsetLocked(), p.pendingLocked(), p.changed
		p.mu.Unlock()
		if pending >= maxPending {
			select {
			case <-changed:
			case <-ctx.Done():
			}
			continue
		}
		raws, err := api.getUpdates(ctx, offset, api.pollSeconds, 100, p.AllowedUpdates)
		if ctx.Err() != nil {
			break
		}
		p.report(err)
		if errors.Is(err, ErrUnauthorized) {
			return err
		}
		if err != nil {
			backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
			var limited *retryAfterError
			if errors.As(err, &limited) {
				backoff = limited.wait
			}
			sleep(ctx, backoff)
			continue
		}
		backoff = 0
		if p.take(ctx, d, raws) == 0 && len(raws) > 0 {
			// Only updates in hand came back: Telegram sends at most 100
			// from the offset, so wait until the offset moves rather than
			// ask for the same ones again.
			p.waitOffsetPast(ctx, offset)
		}
	}
	return nil
}

func (p *Poller) report(err error) {
	if p.OnPoll != nil {
		p.OnPoll(err)
	}
}

// take hands the updates not seen yet to d and returns how many there were.
func (p *Poller) take(ctx context.Context, d *dispatcher, raws [][]byte) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, raw := range raws {
		u, err := Parse(raw)
		if err != nil {
			p.report(fmt.Errorf("telegram getUpdates: %w", err)) // no update_id: nothing to confirm it by
			continue
		}
		if u.ID <= p.maxSeen { // in hand, or confirmed already
			continue
		}
		p.inHand[u.ID] = false
		p.maxSeen = u.ID
		n++
		d.submit(context.WithoutCancel(ctx), ctx, u, func(err error) { p.finish(u.ID, err) })
	}
	return n
}

// finish marks an update done when its Handler succeeded (or it was given
// up on). One that is not (the stop came first) stays unconfirmed.
func (p *Poller) finish(id int64, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inHand[id] = err == nil
	close(p.changed)
	p.changed = make(chan struct{})
}

// offsetLocked is the getUpdates offset that confirms exactly the updates
// done: the lowest not done, else one past the highest taken. It forgets the
// updates below it, which Telegram will not send again.
func (p *Poller) offsetLocked() int64 {
	low := p.maxSeen + 1
	for id, done := range p.inHand {
		if !done && id < low {
			low = id
		}
	}
	for id := range p.inHand {
		if id < low {
			delete(p.inHand, id)
		}
	}
	return low
}

func (p *Poller) pendingLocked() int {
	n := 0
	for _, done := range p.inHand {
		if !done {
			n++
		}
	}
	return n
}

// waitOffsetPast waits until the offset can move past offset and at most
// half of Telegram's window of 100 is still in hand, or for repollEvery, or
// until ctx ends. Asking again as soon as the first update is done would
// fetch one new update per round trip; asking at once would fetch the same
// updates in a loop, since Telegram answers at once while any is pending.
// repollEvery lets the updates behind a slow one in: a getUpdates a second
// while it runs.
func (p *Poller) waitOffsetPast(ctx context.Context, offset int64) {
	repoll := time.NewTimer(repollEvery)
	defer repoll.Stop()
	for {
		p.mu.Lock()
		moved, changed := p.offsetLocked() > offset && p.pendingLocked() <= 50, p.changed
		p.mu.Unlock()
		if moved {
			return
		}
		select {
		case <-changed:
		case <-repoll.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// repollEvery is how often the Poller asks for new updates while the ones
// in hand keep the offset where it is.
const repollEvery = time.Second

// or returns v, or def when v is zero (or negative).
func or[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
