package yespo

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"
)

// ErrBatcherClosed is returned by Batcher.Add and AddAndWait once Close has
// been called.
var ErrBatcherClosed = errors.New("yespo: batcher closed")

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
	// all its sends: default 1 minute, at most 1 hour. A batch refused with
	// a longer one fails at once with the *APIError.
	MaxPause time.Duration
	// OnBatch, if set, is called exactly once for each batch, with its
	// outcome, from the goroutine that settled it. It must not block for
	// long: Flush and Close wait for it.
	OnBatch func(BatchResult)
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
	// journal made for another app or base URL. Nil keeps tokens in memory
	// only. See Journal and github.com/yespo-go/yespo/yespobolt.
	Journal Journal
}

// The bounds of BatcherOptions.
const (
	maxMaxBatch      = 10_000
	maxMaxPending    = 10_000_000
	maxConcurrency   = 1_024
	maxMaxPause      = time.Hour
	minFlushInterval = time.Millisecond
	maxFlushInterval = time.Hour
)

// BatchResult is what became of one batch: sent, or failed with Err.
type BatchResult struct {
	Tokens []Token
	Err    error // nil when Yespo accepted the batch
}

// BatcherStats counts what a Batcher did. After Close,
// Added + Reclaimed == Sent + Failed + Duplicates + Held (Reclaimed and Held
// are 0 without a journal).
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
	// Pace is the adaptive send rate in requests per second; 0 when the
	// client's own rate limiter paces the requests.
	Pace    float64
	Pending int // tokens accepted and not yet sent or failed, duplicates aside
	// Held counts tokens the journal holds for a later try, neither sent
	// nor failed: while the Batcher runs, those of batches that failed for
	// now (see BatcherOptions.Journal) and wait to be sent again; after
	// Close, those left in the journal, which the next Batcher on it
	// sends. Always 0 without a journal.
	Held int64
	// Reclaimed counts tokens taken from the journal that earlier runs (or
	// a dead replica) left: they are sent like added ones. With it, after
	// Close, Added + Reclaimed == Sent + Failed + Duplicates + Held.
	Reclaimed int64
	// JournalDepth is how many tokens the journal holds, and
	// JournalOldest the age of the oldest of them; both 0 without a
	// journal.
	JournalDepth  int
	JournalOldest time.Duration
}

// Batcher gathers tokens from any number of goroutines and sends them to
// AddAppTokens in batches: for bursts of /start (one request instead of
// thousands keeps an account under Yespo's 200 requests per second) and for
// bulk imports. Create it with Client.NewBatcher and always Close it.
//
// A batch is cut when it holds MaxBatch tokens or its oldest token has
// waited FlushInterval, never merely because a worker is idle: a burst of a
// few tokens goes out in one request. Full batches go out as fast as the
// budget allows. With a client rate limiter (WithRateLimiter) the limiter
// paces every attempt and the Batcher keeps up to Concurrency requests in
// flight. Without one, the Batcher paces its batches itself and finds the
// server's limit the way TCP finds a link's: it starts at half Yespo's
// documented 200 requests per second, climbs quickly to 85 % of the highest
// rate known to work and slowly beyond it while sends succeed, and cuts the
// rate by 30 % on an attempt answered 429 (also one the client's retries
// absorbed).
//
// Every token Add accepts ends up sent or failed, and a failed batch reaches
// OnBatch with its tokens. A batch fails once the client's retry policy is
// spent. Only a Retry-After longer than the client waits by itself — the
// client then returns an *APIError with RetryAfter set — pauses the whole
// Batcher, at most once per batch and at most MaxPause; a longer one fails
// the batch at once. Memory is bounded by MaxPending.
type Batcher struct {
	c    *Client
	app  string
	opts BatcherOptions

	ctx     context.Context // the sends'; cancelled, with a cause, when a Close gives up
	cancel  context.CancelCauseFunc
	closing chan struct{} // closed by the first Close: wakes blocked Adds
	drained chan struct{} // closed once closing and nothing is pending
	workers sync.WaitGroup
	stopped sync.Once

	mu         sync.Mutex
	wake       *sync.Cond          // workers wait on it for a batch they may send
	closed     bool                // Close was called: no more Adds
	abandoned  bool                // a Close gave up: nothing more is sent
	quit       bool                // the workers are to return
	filling    *batch              // accepting tokens; cut when full or due
	pending    map[Token]*batch    // each pending token → the batch carrying it, for de-duplication
	unfinished map[*batch]struct{} // cut and not settled: waiting or in flight
	room       chan struct{}       // closed when tokens settle: blocked Adds look again
	ready      []*batch            // cut, waiting for a worker
	flush      *time.Timer         // FlushInterval of the oldest filling token
	flushArmed bool
	pace       pacer
	settling   int  // batches finished whose OnBatch and waiters are being told
	isDrained  bool // drained is closed
	stats      BatcherStats
	firstErr   error
	jr         *journalState // nil without a journal: see batcher_journal.go
}

// batch is one request's worth of tokens.
type batch struct {
	tokens []Token
	paused bool // a long Retry-After has paused the Batcher for it once
	paced  bool // the pace, not the lack of work, held it back: its success may raise the pace
	err    error
	done   chan struct{}
}

// NewBatcher returns a running Batcher that adds tokens to appUUID. It fails
// with a *ValidationError, matching ErrInvalidInput, on a malformed appUUID
// or an option out of its bounds (see BatcherOptions), and allocates
// nothing for a refused option.
func (c *Client) NewBatcher(appUUID string, opts BatcherOptions) (*Batcher, error) {
	if err := ValidateAppUUID(appUUID); err != nil {
		return nil, err
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	b := &Batcher{
		c: c, app: appUUID, opts: opts,
		ctx:        ctx,
		cancel:     cancel,
		closing:    make(chan struct{}),
		drained:    make(chan struct{}),
		pending:    map[Token]*batch{},
		unfinished: map[*batch]struct{}{},
		room:       make(chan struct{}),
		pace:       newPacer(c.limiter == nil),
	}
	b.wake = sync.NewCond(&b.mu)
	b.filling = b.newBatch()
	b.flush = time.AfterFunc(time.Hour, b.flushDue)
	b.flush.Stop()
	b.pace.timer = time.AfterFunc(time.Hour, b.signal)
	b.pace.timer.Stop()
	if opts.Journal != nil { // journal hook: bind it, queue what earlier runs left
		if err := b.openJournal(); err != nil {
			cancel(err)
			return nil, err
		}
	}
	b.workers.Add(opts.Concurrency)
	for range opts.Concurrency {
		go b.work()
	}
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
	o.MaxBatch = cmpOr(o.MaxBatch, 500)
	o.FlushInterval = cmpOr(o.FlushInterval, 100*time.Millisecond)
	o.MaxPending = cmpOr(o.MaxPending, max(100_000, o.MaxBatch))
	o.Concurrency = cmpOr(o.Concurrency, 128)
	o.MaxPause = cmpOr(o.MaxPause, time.Minute)
	if o.MaxPending < o.MaxBatch {
		return o, invalid("BatcherOptions.MaxPending", "must be at least MaxBatch")
	}
	return o, nil
}

// boundString writes a bound as the documentation does.
func boundString(name string, v int64) string {
	if name == "MaxPause" || name == "FlushInterval" {
		return time.Duration(v).String()
	}
	return formatCount(v)
}

// formatCount writes n with thousands separators: 10,000,000.
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// newBatch returns an empty batch.
func (b *Batcher) newBatch() *batch {
	return &batch{done: make(chan struct{})}
}

// Stats returns the counters so far.
func (b *Batcher) Stats() BatcherStats {
	b.mu.Lock()
	st := b.stats
	st.Pending = b.pendingLocked()
	st.Pace = b.pace.rate
	b.mu.Unlock()
	b.journalStats(&st) // journal hook: outside the lock, it asks the journal
	return st
}

// pendingLocked counts tokens accepted and not yet sent or failed,
// duplicates aside.
func (b *Batcher) pendingLocked() int {
	return int(b.stats.Added + b.stats.Reclaimed - b.stats.Duplicates - b.stats.Sent - b.stats.Failed)
}
