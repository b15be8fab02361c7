package yespo

import (
	"cmp"
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/yespo-go/yespo/internal/engine"
	"github.com/yespo-go/yespo/internal/pace"
)

// ErrBatcherClosed is returned by Batcher.Add and AddAndWait once Close has
// been called.
var ErrBatcherClosed = engine.ErrClosed

// BatcherOptions tunes a Batcher; zero fields take the defaults. Values
// beyond the bounds below are refused by NewBatcher.
type BatcherOptions struct {
	// MaxBatch is the most tokens one request carries: default 500, at most
	// 10,000.
	MaxBatch int
	// FlushInterval is the longest a token waits for its batch to fill
	// before the batch is cut anyway: default 100 ms, from 1 ms to 1 hour.
	// It bounds what AddAndWait adds to a round trip.
	FlushInterval time.Duration
	// MaxPending is how many tokens may be queued or in flight before Add
	// blocks: default 100,000, at most 10,000,000, and at least MaxBatch.
	// MaxPending/MaxBatch batches circulate: the default 200 keep 200
	// requests per second in flight at round trips up to 300 ms with room
	// for retries and a client limiter's queue.
	MaxPending int
	// Concurrency is the upper bound on requests in flight: default 128, at
	// most 1,024. The pace, not this bound, usually decides how many are in
	// flight; see Batcher.
	Concurrency int
	// MaxPause is the longest Retry-After the Batcher honours by pausing
	// the Client's account budget — every Batcher and direct call of the
	// Client — when the client's own retries would not wait that long:
	// default 1 minute, at most 1 hour. A batch refused with a longer one
	// fails at once with the *APIError.
	MaxPause time.Duration
	// MaxOutage is how long a batch is held through an outage — Yespo
	// answering nothing but 5xx, 429 or transport errors — before its
	// tokens fail: default 10 minutes (long enough for a deploy of
	// Yespo's), from 1 second to 24 hours. With a Journal nothing fails at
	// MaxOutage: the tokens stay kept. See Batcher.
	MaxOutage time.Duration
	// OnBatch, if set, is called once for each settled batch with its
	// outcome — a batch refused with a 400 and split (see Batcher) piece
	// by piece — after its tokens are settled (sent, or failed; with a
	// Journal, removed from it). The calls are made one at a time, in the
	// order the batches settled, on one goroutine of the Batcher's own,
	// never on one that sends: a slow OnBatch delays no token already on
	// its way, but a send starts only while fewer than Concurrency batches
	// are in flight or waiting for OnBatch, so that what Yespo accepted and
	// OnBatch has not heard of stays bounded. OnBatch may call Add, Flush,
	// Close and AddAndWait: Flush and Close then return once the tokens
	// added before them are settled, without waiting for OnBatch. Close
	// from elsewhere waits for every OnBatch call to return, until its ctx
	// ends; a batch a Close gave up on, or settled and not yet reported
	// when it gave up, is not reported to OnBatch: it is in Close's error
	// and Stats.
	OnBatch func(BatchResult)
	// OnEvent, if set, is called once for each follow-up event (see
	// AddWithEvent) settled before Close returns — sent, or failed: refused
	// for good with a 400, or, without a Journal, held past MaxOutage — on
	// a dispatcher goroutine of its own, as OnBatch is. It may call Flush
	// and Close.
	OnEvent func(EventResult)
	// Journal, if set, keeps every accepted token on stable storage until
	// Yespo accepted it (a 2xx for its batch) or refused it for good (a
	// 400), so that a crash, a deploy or an outage of any length loses
	// nothing: Add returns once the token is kept — or an error, and then
	// the token is not accepted — and a Batcher opened on a journal that
	// still holds tokens sends them first. A batch that fails otherwise
	// (5xx, 429, a transport error, an outage, 401, 403, an unknown app)
	// is held, not failed: it is tried again, Flush and Close return an
	// error matching ErrHeld, and tokens held at Close stay in the journal
	// for the next Batcher on it. Delivery is at least once: a crash after
	// Yespo accepted a batch and before the journal forgot it sends that
	// batch again, which Yespo takes as a no-op (a token is kept once).
	// NewBatcher fails, with an error matching ErrJournalTarget, on a
	// journal made for another app or base URL. Nil keeps tokens in an
	// in-memory journal: the same path, but a batch held through an outage
	// fails after MaxOutage, and Close waits for it. See Journal and
	// github.com/yespo-go/yespo/yespobolt.
	Journal Journal
}

// The bounds of BatcherOptions.
const (
	maxMaxBatch      = 10_000
	maxMaxPending    = 10_000_000
	maxConcurrency   = 1_024
	maxMaxPause      = time.Hour
	minMaxOutage     = time.Second
	maxMaxOutage     = 24 * time.Hour
	minFlushInterval = time.Millisecond
	maxFlushInterval = time.Hour
)

// BatchResult is what became of one batch: sent, or failed with Err.
type BatchResult struct {
	Tokens []Token
	Err    error // nil when Yespo accepted the batch
	// Attempted reports whether a request carrying the batch left for
	// Yespo: when it did, the tokens may have reached Yespo even if Err
	// is set. It is false for an Err matching ErrNotSent.
	Attempted bool
}

// BatcherStats counts what a Batcher did. After Close,
// Added + Reclaimed == Sent + Failed + Duplicates + Held: every token Add
// accepted or the journal handed back is sent, failed, a duplicate of one
// pending, or kept in the journal (Reclaimed, and Held after Close, are 0
// without one).
type BatcherStats struct {
	Added      int64 // tokens Add and AddAndWait accepted, duplicates included
	Duplicates int64 // accepted tokens equal to one still pending: not sent again
	Sent       int64 // tokens in batches Yespo accepted
	Failed     int64 // tokens in batches that failed
	Batches    int64 // batch outcomes: each batch counts once, however many attempts it took
	Attempts   int64 // HTTP requests sent, retries included: what the server saw
	// RateLimited counts attempts answered 429, including those the
	// client's retries absorbed.
	RateLimited int64
	Pauses      int64 // times a long Retry-After paused all sends
	// Pace is the Client's adaptive rate on the account's budget, in
	// requests per second, shared by all its Batchers and direct calls; a
	// client rate limiter (WithRateLimiter) caps what is sent under it.
	Pace    float64
	Pending int // tokens accepted and not yet sent or failed, duplicates aside
	// Held counts tokens held for a later try, neither sent nor failed:
	// while the Batcher runs, those of batches that failed for now (an
	// outage; with a Journal, see BatcherOptions.Journal, any failure but
	// a refusal for good) and wait to be sent again; after Close, those
	// left in the journal, which the next Batcher on it sends (0 without
	// a Journal).
	Held int64
	// Reclaimed counts tokens taken from the journal that earlier runs (or
	// a dead replica) left: they are sent like added ones. With it, after
	// Close, Added + Reclaimed == Sent + Failed + Duplicates + Held.
	Reclaimed int64
	// JournalDepth is how many tokens the journal holds, and
	// JournalOldest the age of the oldest of them — without a Journal,
	// the in-memory one: the tokens pending. Stats gives them as last
	// known (see Batcher.Stats), StatsContext reads them fresh.
	JournalDepth  int
	JournalOldest time.Duration
	// EventsSent, EventsFailed and EventsHeld count the follow-up events
	// of AddWithEvent as Sent, Failed and Held count tokens. An event
	// whose token failed is not sent, nor counted here.
	EventsSent, EventsFailed, EventsHeld int64
}

// Batcher gathers tokens from any number of goroutines and sends them to
// AddAppTokens in batches: for bursts of /start (one request instead of
// thousands keeps an account under Yespo's 200 requests per second) and for
// bulk imports. Create it with Client.NewBatcher and always Close it.
//
// A batch is cut when it holds MaxBatch tokens or its oldest token has
// waited FlushInterval, never merely because a worker is idle: a burst of a
// few tokens goes out in one request. Full batches go out as fast as the
// budget allows: every attempt, retries included, draws from the Client's
// pace on the account's budget (see Client), which all the Client's
// Batchers share, taking turns — an import's backlog does not starve a
// bot's registrations — with its direct calls. Up to Concurrency requests
// are in flight.
//
// Every token Add accepts ends up sent or failed (or, with a Journal,
// kept), and a failed batch reaches OnBatch with its tokens. A batch fails
// once the client's retry policy is spent, with three exceptions. A
// Retry-After longer than the client waits by itself — the client then
// returns an *APIError with RetryAfter set — pauses the whole account
// budget, at most once per batch and at most MaxPause; a longer one fails
// the batch at once. During an outage (the Client saw nothing but 5xx, 429
// or transport errors for three attempts spanning a second or more), or
// after a 429 its retries did not cure, a batch is held: the Client probes
// Yespo with one request at a time, every 250 ms to 2 s, and when one
// succeeds the pace finds the budget again; a batch fails only after
// MaxOutage held (never, with a Journal, which holds as well a 401, 403 or
// unknown app, tried again every 100 ms to 30 s). Each probe goes through
// the Client's budget, which alone knows the outage. And a batch of
// several tokens refused with a 400 is split in halves, again and again,
// so that the token Yespo refuses fails alone and the others are sent; a
// 400 that every half gets ends the search after about 2·log2(MaxBatch)
// requests. Memory is bounded by MaxPending.
type Batcher struct {
	c     *Client
	app   string
	opts  BatcherOptions
	eng   *engine.Engine[Token]
	party pace.Party // the Batcher's turns at the Client's pace

	// events sends the follow-up events of AddWithEvent, on the event
	// budget, with turns of their own.
	events     *engine.Engine[followUp]
	eventsCtx  context.Context
	eventParty pace.Party
	lostEvents atomic.Int64  // follow-ups a closing Batcher could not queue
	followed   atomic.Uint64 // follow-ups handed over, numbering them
	journal    engine.Journal[Token]
	// durable is the one policy value of a Batcher with a Journal: what
	// Yespo has not accepted is held in it, for any time and across runs.
	durable    bool
	final      atomic.Pointer[engine.JournalStats] // the journal's figures after Close
	stopEvents context.CancelFunc

	attempts, rateLimited atomic.Int64
}

// NewBatcher returns a running Batcher that adds tokens to appUUID. It fails
// with a *ValidationError, matching ErrInvalidInput, on a malformed appUUID
// or an option out of its bounds (see BatcherOptions), and allocates
// nothing for a refused option. With a Journal it opens it and takes what
// earlier runs left, up to MaxPending, within a minute: it fails, wrapping
// the journal's error, if either fails.
func (c *Client) NewBatcher(appUUID string, opts BatcherOptions) (*Batcher, error) {
	if err := ValidateAppUUID(appUUID); err != nil {
		return nil, err
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Batcher{c: c, app: appUUID, opts: opts, durable: opts.Journal != nil}
	cfg := engine.Config[Token]{
		MaxBatch: opts.MaxBatch, MaxPending: opts.MaxPending, Concurrency: opts.Concurrency,
		FlushInterval: opts.FlushInterval, MaxOutage: opts.MaxOutage,
		Durable:  b.durable,
		Journal:  engine.NewMemory[Token](),
		FollowUp: b.handOver,
		Send:     b.send,
		Classify: b.classify,
		Pause:    b.pauseFor,
		GaveUp:   gaveUpError,
		Logger:   c.logger,
	}
	if opts.OnBatch != nil {
		cfg.OnResult = func(r engine.Result[Token]) {
			opts.OnBatch(BatchResult{Tokens: r.Items, Err: r.Err, Attempted: r.Attempted})
		}
	}
	if opts.Journal != nil {
		ctx, cancel := context.WithTimeout(context.Background(), engine.OpenTimeout)
		defer cancel()
		if err := opts.Journal.Open(ctx, JournalTarget{AppUUID: appUUID, BaseURL: c.BaseURL()}); err != nil {
			return nil, fmt.Errorf("yespo: batcher: journal: %w", err)
		}
		cfg.Journal = journalOf{opts.Journal}
	}
	var cancel context.CancelFunc
	b.eventsCtx, cancel = context.WithCancel(context.Background())
	b.journal = cfg.Journal
	if b.events, err = b.newEvents(cfg.Journal); err != nil {
		cancel()
		return nil, err
	}
	if b.eng, err = engine.New(cfg); err != nil {
		cancel()
		_ = b.events.Close(context.Background())
		return nil, fmt.Errorf("yespo: batcher: journal: reclaim: %w", err)
	}
	b.stopEvents = cancel
	return b, nil
}

// withDefaults checks every option against its bounds, then fills in the
// defaults.
func (o BatcherOptions) withDefaults() (BatcherOptions, error) {
	for _, f := range []struct {
		name   string
		v, max int64
	}{
		{"MaxBatch", int64(o.MaxBatch), maxMaxBatch},
		{"MaxPending", int64(o.MaxPending), maxMaxPending},
		{"Concurrency", int64(o.Concurrency), maxConcurrency},
		{"MaxPause", int64(o.MaxPause), int64(maxMaxPause)},
		{"MaxOutage", int64(o.MaxOutage), int64(maxMaxOutage)},
		{"FlushInterval", int64(o.FlushInterval), int64(maxFlushInterval)},
	} {
		switch {
		case f.v < 0:
			return o, invalid("BatcherOptions."+f.name, "must not be negative")
		case f.v > f.max:
			return o, invalid("BatcherOptions."+f.name, "must be at most "+boundString(f.name, f.max))
		}
	}
	if o.FlushInterval != 0 && o.FlushInterval < minFlushInterval {
		return o, invalid("BatcherOptions.FlushInterval", "must be at least 1ms (or 0 for the default)")
	}
	if o.MaxOutage != 0 && o.MaxOutage < minMaxOutage {
		return o, invalid("BatcherOptions.MaxOutage", "must be at least 1s (or 0 for the default)")
	}
	o.MaxBatch = cmp.Or(o.MaxBatch, 500)
	o.FlushInterval = cmp.Or(o.FlushInterval, 100*time.Millisecond)
	o.MaxPending = cmp.Or(o.MaxPending, max(100_000, o.MaxBatch))
	o.Concurrency = cmp.Or(o.Concurrency, 128)
	o.MaxPause = cmp.Or(o.MaxPause, time.Minute)
	o.MaxOutage = cmp.Or(o.MaxOutage, 10*time.Minute)
	if o.MaxPending < o.MaxBatch {
		return o, invalid("BatcherOptions.MaxPending", "must be at least MaxBatch")
	}
	return o, nil
}

// boundString writes a bound as the documentation does.
func boundString(name string, v int64) string {
	if name == "MaxPause" || name == "FlushInterval" || name == "MaxOutage" {
		return time.Duration(v).String()
	}
	s := fmt.Sprint(v)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Stats returns the counters so far, and the journal's depth and oldest
// entry as last known — refreshed in the background at most every 2 s
// while Stats is called, and following the Batcher's own appends and
// removes in between: it does no I/O. StatsContext reads them fresh.
func (b *Batcher) Stats() BatcherStats {
	return b.stats(b.eng.Stats())
}

// StatsContext returns the counters with the journal's depth and oldest
// entry read now. If the journal fails or ctx ends first, it returns the
// last known figures with that error.
func (b *Batcher) StatsContext(ctx context.Context) (BatcherStats, error) {
	if ctx == nil {
		return b.Stats(), invalid("ctx", "must not be nil")
	}
	st, err := b.eng.StatsContext(ctx)
	return b.stats(st), err
}

func (b *Batcher) stats(e engine.Stats) BatcherStats {
	ev := b.events.Stats()
	st := BatcherStats{
		Added: e.Added, Duplicates: e.Duplicates, Sent: e.Sent, Failed: e.Failed, Batches: e.Batches,
		Pauses: e.Pauses, Pending: e.Pending, Held: e.Held, Reclaimed: e.Reclaimed,
		Attempts: b.attempts.Load(), RateLimited: b.rateLimited.Load(),
		Pace: b.c.account.Rate(), JournalDepth: e.Journal.Depth,
		EventsSent: ev.Sent, EventsFailed: ev.Failed, EventsHeld: ev.Held,
	}
	lost := &st.EventsFailed
	if b.durable { // kept with its token, for the next Batcher
		lost = &st.EventsHeld
	}
	*lost += b.lostEvents.Load()
	if js := b.final.Load(); js != nil {
		e.Journal = *js
		st.JournalDepth = js.Depth
	}
	if !e.Journal.Oldest.IsZero() {
		st.JournalOldest = time.Since(e.Journal.Oldest)
	}
	return st
}
