// Package pace paces the attempts a Client makes on each of Yespo's rate
// budgets, finds the budget's real size from Yespo's answers, and holds an
// outage with one probe at a time.
package pace

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Yespo counts requests per account: 200 a second shared by every method
// not listed otherwise (AddAppTokens, MuteAppToken and UnmuteAppToken among
// them), 150 a second of its own for ContactIDByToken and 350 for
// SendEvent. A Client paces each budget on its own: every attempt of every
// call, retries included, waits for a turn at its budget's pace, and every
// answer teaches the pace (see rate.go). Two Clients with the same key
// pace separately; processes sharing an account share a limiter per budget
// through Redis instead (github.com/yespo-go/yespo/yesporedis, set with
// WithRateLimiter and WithBudgetLimiter).

// The documented budgets, in requests per second.
const (
	AccountRate = 200.0
	LookupRate  = 150.0
	EventRate   = 350.0
)

// Limiter is the user's fixed limiter: see yespo.Limiter.
type Limiter interface {
	Wait(ctx context.Context) error
}

// windowLimiter is yespo.WindowLimiter: a limiter shared by processes,
// which holds the budget over one second plus the spread of round trips
// (window.go) for all of them.
type windowLimiter interface {
	WaitWindow(ctx context.Context, window time.Duration) error
}

// paceSlack is how much unused time at the pace a sender may catch up
// after an idle spell, so that timer latency does not slow the pace down;
// lateSlack how much a sender that waited all along may catch up when its
// turns came late (a loaded machine's scheduler), which an idle one may not:
// a job's first turns do not burst.
const (
	paceSlack = 20 * time.Millisecond
	lateSlack = 100 * time.Millisecond
)

// Budget paces the attempts that draw from one of Yespo's rate budgets. The
// parties that wait on it — each Batcher of the Client, and the Client's
// direct calls as one — take turns, so that a Batcher with a long backlog
// cannot starve another's few sends.
type Budget struct {
	limiter Limiter // the user's fixed limiter: a ceiling under which the pace still adapts; nil for none

	mu          sync.Mutex
	rate        rateControl
	turns       turnLog   // so that no window of Yespo's holds more turns than the budget (window.go)
	next        time.Time // earliest start of the next turn
	busySince   time.Time // since when waiters have been queued
	pausedUntil time.Time // a Retry-After holds every turn until then
	parties     []*Party  // those with a waiter, in turn order
	turn        int       // index in parties of the next to be served
	timer       *time.Timer
	timerAt     time.Time // when timer fires; zero when not armed
	direct      Party     // the Client's own calls: AddAppTokens, mute, unmute, lookups
}

// Party is one queue of waiters at a budget: a Batcher's, or the direct
// calls'. Its fields are guarded by the budget's mutex.
type Party struct {
	waiting []chan struct{} // closed when granted, oldest first
	queued  bool            // in Budget.parties
}

// New returns a Budget of documented requests per second, under limiter
// (nil for none). The pace ramps up from half the documented rate to find
// what the account has left, unless stated: then the user said what the
// budget is, and the pace starts there (backing off on 429 all the same).
func New(documented float64, limiter Limiter, stated bool) *Budget {
	b := &Budget{limiter: limiter, rate: newRateControl(documented)}
	if stated {
		b.rate.believe()
	}
	b.timer = time.AfterFunc(time.Hour, b.fire)
	b.timer.Stop()
	return b
}

// Direct is the party of the Client's direct calls.
func (b *Budget) Direct() *Party { return &b.direct }

// Reset starts the pace afresh on a budget of documented requests per
// second: benchmarks of the library's own cost lift the pace with it.
func (b *Budget) Reset(documented float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rate = newRateControl(documented)
}

// Wait blocks on the user's limiter, if any, then until p's turn at the
// pace. The pace comes last so that a cut takes effect at once: turns the
// pace granted are sent without further delay. It returns ctx's error if
// ctx ends first; a turn granted meanwhile is given up.
func (b *Budget) Wait(ctx context.Context, p *Party) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.limit(ctx); err != nil {
		return err
	}
	ch := make(chan struct{})
	b.mu.Lock()
	if len(b.parties) == 0 {
		b.busySince = time.Now() // waiters from now on: an idle spell ends
	}
	p.waiting = append(p.waiting, ch)
	if !p.queued {
		p.queued = true
		b.parties = append(b.parties, p)
	}
	b.dispatchLocked(time.Now())
	b.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		if !b.withdrawLocked(p, ch) {
			b.rate.released() // granted meanwhile: the turn goes unused
		}
		b.mu.Unlock()
		return ctx.Err()
	}
}

// limit waits on the user's limiter, if any. x/time/rate refuses up front
// a wait that would outlast ctx's deadline, with an error of its own; that
// error is made to match context.DeadlineExceeded like every other expiry.
func (b *Budget) limit(ctx context.Context) error {
	if b.limiter == nil {
		return nil
	}
	var err error
	if wl, ok := b.limiter.(windowLimiter); ok {
		b.mu.Lock()
		window := time.Second + b.turns.spread
		b.mu.Unlock()
		err = wl.WaitWindow(ctx, window)
	} else {
		err = b.limiter.Wait(ctx)
	}
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if _, ok := ctx.Deadline(); ok && strings.Contains(err.Error(), "deadline") {
		return fmt.Errorf("rate limiter: %w (%w)", err, context.DeadlineExceeded)
	}
	return fmt.Errorf("rate limiter: %w", err)
}

// Answered feeds one attempt's outcome to the pace: status is the HTTP
// status, 0 for a transport error; began is when its turn was granted.
func (b *Budget) Answered(began time.Time, status int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if status != 0 {
		b.turns.answered(began, now)
	}
	if b.rate.answered(began, now, status) {
		b.next = now // the outage is over: the ramp starts now
	}
	b.dispatchLocked(now) // an outage's probe may be due now
}

// Pause holds every turn until d from now, or later if already paused: the
// server asked the account to wait.
func (b *Budget) Pause(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if until := time.Now().Add(d); until.After(b.pausedUntil) {
		b.pausedUntil = until
	}
}

// Down reports whether the budget is holding an outage: no answer but
// errors for a while, probed one attempt at a time.
func (b *Budget) Down() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rate.down()
}

// Rate returns the pace in requests per second.
func (b *Budget) Rate() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rate.rate
}

// fire is the timer's: a turn may be due.
func (b *Budget) fire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.timerAt = time.Time{}
	b.dispatchLocked(time.Now())
}

// dispatchLocked grants every turn due by now, one party after the other,
// and arms the timer for the next one.
func (b *Budget) dispatchLocked(now time.Time) {
	for len(b.parties) > 0 {
		at := b.dueLocked(now)
		if at.After(now) {
			b.armLocked(at, now)
			return
		}
		b.turn %= len(b.parties)
		p := b.parties[b.turn]
		ch := p.waiting[0]
		p.waiting[0] = nil
		p.waiting = p.waiting[1:]
		if len(p.waiting) == 0 {
			b.dropLocked(b.turn) // the next party moves into its place
		} else {
			b.turn++
		}
		paced := !b.next.Before(now.Add(-paceSlack))                 // the sender was not idle: the pace held it
		owed := maxTime(maxTime(b.next, b.busySince), b.pausedUntil) // turns owed since then, if they came late
		b.next = maxTime(owed, now.Add(-lateSlack)).Add(b.rate.interval())
		b.rate.took(now, paced)
		b.turns.grant(now, b.rate.perWindow())
		close(ch)
	}
}

// dueLocked returns when the next turn may be granted.
func (b *Budget) dueLocked(now time.Time) time.Time {
	at := maxTime(maxTime(b.next, b.pausedUntil), b.turns.nextAt(b.rate.perWindow()))
	if probe, ok := b.rate.probeAt(now); ok {
		at = maxTime(at, probe)
	}
	return at
}

// armLocked makes sure the timer fires by at.
func (b *Budget) armLocked(at, now time.Time) {
	if !b.timerAt.IsZero() && !b.timerAt.After(at) {
		return
	}
	b.timerAt = at
	b.timer.Reset(at.Sub(now))
}

// withdrawLocked takes ch out of p's queue; false if it was granted already.
func (b *Budget) withdrawLocked(p *Party, ch chan struct{}) bool {
	for i, w := range p.waiting {
		if w != ch {
			continue
		}
		p.waiting = append(p.waiting[:i], p.waiting[i+1:]...)
		if len(p.waiting) == 0 {
			for j, q := range b.parties {
				if q == p {
					b.dropLocked(j)
					break
				}
			}
		}
		return true
	}
	return false
}

// dropLocked removes the party at i, which has no waiter left.
func (b *Budget) dropLocked(i int) {
	b.parties[i].queued = false
	b.parties = append(b.parties[:i], b.parties[i+1:]...)
	if b.turn > i {
		b.turn--
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
