package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/go-telegram/bot/models"
)

// poller long-polls getUpdates and confirms an offset to Telegram only when
// every update below it is done: handled, with its effect durable. An update
// the bot took and did not finish (a crash, a journal that refused it) is
// therefore sent again by Telegram, to this run or the next.
//
// go-telegram/bot's own loop confirms an update as soon as it took it off
// the wire, so the bot polls here and feeds the library's ProcessUpdate.
type poller struct {
	url      string // the Bot API root for this token: .../bot<token>/
	client   *http.Client
	dispatch *dispatcher
	onOK     func() // a getUpdates reached Telegram

	mu      sync.Mutex
	inHand  map[int64]bool // update ids at or past the offset that this run took: done or not
	maxSeen int64
	changed chan struct{} // closed and replaced when an update is done
}

// maxInHand bounds the updates taken and not yet done: beyond it the poller
// waits before asking for more.
const maxInHand = 2000

func newPoller(apiURL, token string, client *http.Client, d *dispatcher) *poller {
	return &poller{url: apiURL + "/bot" + token + "/", client: client, dispatch: d,
		inHand: map[int64]bool{}, changed: make(chan struct{})}
}

// offset is the getUpdates offset that confirms exactly the updates done:
// the lowest update not done, else one past the highest taken.
func (p *poller) offsetLocked() int64 {
	low := p.maxSeen + 1
	for id, done := range p.inHand {
		if !done && id < low {
			low = id
		}
	}
	for id := range p.inHand {
		if id < low {
			delete(p.inHand, id) // confirmed by this offset: Telegram will not send it again
		}
	}
	return low
}

// run polls until ctx ends; then it waits for the updates in hand and
// confirms those that are done, within confirmTimeout.
func (p *poller) run(ctx context.Context, onError func(error)) {
	var backoff time.Duration
	for ctx.Err() == nil {
		p.mu.Lock()
		offset, busy, changed := p.offsetLocked(), p.pendingLocked(), p.changed
		p.mu.Unlock()
		if busy >= maxInHand {
			select {
			case <-changed:
			case <-ctx.Done():
			}
			continue
		}
		updates, err := p.getUpdates(ctx, offset, int(pollTimeout/time.Second)-1)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			onError(err)
			backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
			var limited *retryAfterError
			if errors.As(err, &limited) {
				backoff = limited.wait
			}
			sleep(ctx, backoff)
			continue
		}
		backoff = 0
		if p.onOK != nil {
			p.onOK()
		}
		if p.take(updates) == 0 && len(updates) > 0 {
			// Only updates in hand came back: Telegram sends at most 100 from
			// the offset, so wait until the offset moves rather than ask for
			// the same ones again.
			p.waitOffsetPast(ctx, offset)
		}
	}
	p.dispatch.wait()
	confirm, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmTimeout)
	defer cancel()
	p.mu.Lock()
	offset := p.offsetLocked()
	p.mu.Unlock()
	if _, err := p.getUpdatesLimit(confirm, offset, 0, 1); err != nil {
		onError(fmt.Errorf("confirming the updates done at stop (they will come again): %w", err))
	}
}

// waitOffsetPast waits until the updates in hand let the offset move past
// offset, and at most half of Telegram's window of 100 are still in hand, or
// ctx ends. Updates finish in group commits of the journal; asking again as
// soon as the first is done would fetch one new update per round trip.
func (p *poller) waitOffsetPast(ctx context.Context, offset int64) {
	for {
		p.mu.Lock()
		moved, changed := p.offsetLocked() > offset && p.pendingLocked() <= 50, p.changed
		p.mu.Unlock()
		if moved {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}

// confirmTimeout bounds the getUpdates that confirms the last updates done.
const confirmTimeout = 5 * time.Second

func (p *poller) pendingLocked() int {
	n := 0
	for _, done := range p.inHand {
		if !done {
			n++
		}
	}
	return n
}

// take hands the new updates to the dispatcher and returns how many were
// new; the others are in hand already.
func (p *poller) take(updates []*models.Update) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, u := range updates {
		if u.ID <= p.maxSeen { // in hand, or confirmed already
			continue
		}
		p.inHand[u.ID] = false
		p.maxSeen = max(p.maxSeen, u.ID)
		n++
		id := u.ID
		p.dispatch.submit(u, func(err error) { p.finish(id, err) })
	}
	return n
}

// finish marks an update done when its effect is durable. One that is not
// (the dispatcher gave up on it only because the bot stops) stays
// unconfirmed, for the next run.
func (p *poller) finish(id int64, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inHand[id] = err == nil
	close(p.changed)
	p.changed = make(chan struct{})
}

// retryAfterError is Telegram's 429 on getUpdates.
type retryAfterError struct {
	wait time.Duration
	err  error
}

func (e *retryAfterError) Error() string { return e.err.Error() }

// getUpdates asks for up to 100 updates from offset, waiting up to timeout
// seconds for one.
func (p *poller) getUpdates(ctx context.Context, offset int64, timeout int) ([]*models.Update, error) {
	return p.getUpdatesLimit(ctx, offset, timeout, 100)
}

func (p *poller) getUpdatesLimit(ctx context.Context, offset int64, timeout, limit int) ([]*models.Update, error) {
	body, _ := json.Marshal(map[string]any{"offset": offset, "timeout": timeout, "limit": limit}) // cannot fail
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"getUpdates", bytes.NewReader(body))
	if err != nil {
		return nil, errors.New("telegram getUpdates: bad API URL") // the URL holds the token: not in the error
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL holds the token
		}
		return nil, fmt.Errorf("telegram getUpdates: %w", err)
	}
	defer resp.Body.Close()
	var env struct {
		OK          bool             `json:"ok"`
		Result      []*models.Update `json:"result"`
		ErrorCode   int              `json:"error_code"`
		Description string           `json:"description"`
		Parameters  struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return nil, fmt.Errorf("telegram getUpdates: %s, undecodable answer: %w", resp.Status, err)
	}
	if !env.OK {
		err := fmt.Errorf("telegram getUpdates: %d %s", env.ErrorCode, env.Description)
		if env.Parameters.RetryAfter > 0 {
			return nil, &retryAfterError{time.Duration(env.Parameters.RetryAfter) * time.Second, err}
		}
		return nil, err
	}
	return env.Result, nil
}
