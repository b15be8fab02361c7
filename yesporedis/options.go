package yesporedis

import (
	"fmt"
	"log/slog"
	"time"
)

// Option configures a Limiter in NewLimiter. A bad value makes NewLimiter
// panic with a message naming the option: options are fixed at start-up, so
// a bad one is a programming error, as with regexp.MustCompile.
type Option func(*config)

// config is what the Options collect; NewLimiter checks it.
type config struct {
	burst         int
	headroom      float64
	fallbackShare float64
	logger        *slog.Logger
	redisTimeout  time.Duration
	probeEvery    time.Duration
	ceilings      []ceiling
	errs          []string
}

// ceiling is one WithCeiling: a second, lower budget drawn from as well.
type ceiling struct {
	key       string
	perSecond int
}

// Defaults (the burst's is derived in NewLimiter). Why each value is what
// it is is told in doc.go.
const (
	defaultHeadroom      = 0.05
	defaultFallbackShare = 1.0 / 3
	defaultRedisTimeout  = 250 * time.Millisecond
	defaultProbeEvery    = time.Second
)

func defaults() config {
	return config{
		burst:         0, // 0: derived from perSecond and the headroom in NewLimiter
		headroom:      defaultHeadroom,
		fallbackShare: defaultFallbackShare,
		logger:        slog.Default(),
		redisTimeout:  defaultRedisTimeout,
		probeEvery:    defaultProbeEvery,
	}
}

func (c *config) bad(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

// WithBurst lets up to n requests through at once after a quiet spell. The
// default is half the headroom, at least 1 (5 for 200/s with the default
// headroom): enough to make up for requests that come a little late to their
// slot, few enough that a one-second window stays under perSecond. Every
// unit of burst can put one more request in some one-second window, so keep
// n under perSecond × headroom. NewLimiter panics if n < 1.
func WithBurst(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.bad("WithBurst(%d): must be at least 1", n)
		}
		c.burst = n
	}
}

// WithHeadroom paces at perSecond × (1 − fraction) instead of perSecond
// (default 0.05: 190 for 200), so that network jitter between Redis granting
// a request and the request reaching Yespo does not push a one-second window
// over Yespo's limit. WithHeadroom(0) paces at perSecond exactly. NewLimiter
// panics if fraction is outside [0, 0.5].
func WithHeadroom(fraction float64) Option {
	return func(c *config) {
		if !(fraction >= 0 && fraction <= 0.5) {
			c.bad("WithHeadroom(%v): must be between 0 and 0.5", fraction)
		}
		c.headroom = fraction
	}
}

// WithFallbackShare sets the share of the rate this process allows itself
// while Redis cannot be reached (default 1/3: three processes sharing the
// account stay under the limit together). Use 1/N for N processes sharing
// the key. NewLimiter panics if share is not in (0, 1].
func WithFallbackShare(share float64) Option {
	return func(c *config) {
		if !(share > 0 && share <= 1) {
			c.bad("WithFallbackShare(%v): must be in (0, 1]", share)
		}
		c.fallbackShare = share
	}
}

// WithLogger makes the limiter log to l: one Warn record when Redis stops
// answering and one Info record when it answers again. The default is
// slog.Default(); pass slog.New(slog.DiscardHandler) for silence. NewLimiter
// panics if l is nil.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			c.bad("WithLogger(nil)")
		}
		c.logger = l
	}
}

// WithRedisTimeout bounds how long one Wait waits for one Redis answer
// before falling back to the local limiter (default 250 ms; a healthy Redis
// answers in well under a millisecond). It applies whatever the client's own
// timeouts are. NewLimiter panics if d <= 0.
func WithRedisTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.bad("WithRedisTimeout(%v): must be positive", d)
		}
		c.redisTimeout = d
	}
}

// WithProbeInterval sets how often, while in fallback, one Wait tries Redis
// again (default 1 s). The other Waits use the local limiter meanwhile, so a
// dead Redis costs at most one WithRedisTimeout per interval, to one caller.
// NewLimiter panics if d <= 0.
func WithProbeInterval(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.bad("WithProbeInterval(%v): must be positive", d)
		}
		c.probeEvery = d
	}
}

// WithCeiling makes every Wait also draw from a second budget: key, at
// perSecond. Give it to the limiters of bulk work (an import, a broadcast)
// with the same account key as the live bot: bulk then never takes more than
// perSecond of the account, and the rest stays free for interactive calls,
// whose limiters have no ceiling. The ceiling is drawn from first and held
// while waiting for the account (see doc.go). It may be given more than
// once. NewLimiter panics if key is empty or equal to the account key, or if
// perSecond <= 0.
func WithCeiling(key string, perSecond int) Option {
	return func(c *config) {
		if key == "" || perSecond <= 0 {
			c.bad("WithCeiling(%q, %d): needs a key and a positive rate", key, perSecond)
		}
		c.ceilings = append(c.ceilings, ceiling{key, perSecond})
	}
}
