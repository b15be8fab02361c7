package yespotest

import (
	"strings"
	"time"

	"github.com/yespo-go/yespo"
)

// Option configures a Server in NewServer.
type Option func(*config)

type config struct {
	apiKey       string
	matching     Matching
	rateLimit    int                  // the account budget's
	budgetLimits map[yespo.Budget]int // the others'
	latency      time.Duration
	seed         int64
	seeded       bool
	forget       bool
}

// WithAPIKey sets the key the server accepts as the Basic-auth password;
// any other key gets 401. By default each server makes up its own, in
// Server.APIKey.
func WithAPIKey(key string) Option { return func(c *config) { c.apiKey = key } }

// WithMatching chooses how AddAppTokens finds contacts; the default is
// MatchAnyIdentifier.
func WithMatching(m Matching) Option { return func(c *config) { c.matching = m } }

// WithRateLimit answers 429 with a Retry-After header to requests on the
// account's budget (add tokens, mute, unmute) beyond perSecond in any
// one-second window (a sliding window: no second, wherever it starts, lets
// more through). 0, the default, sets no limit; 200 is Yespo's documented
// limit per account. The contact id lookup and Generate event have windows
// of their own, as Yespo counts them apart: see WithBudgetRateLimit.
func WithRateLimit(perSecond int) Option { return func(c *config) { c.rateLimit = perSecond } }

// WithBudgetRateLimit is WithRateLimit for budget b's own window:
// yespo.BudgetEvent (Generate event; Yespo's limit is 350),
// yespo.BudgetContactLookup (the contact id by token; 150) or
// yespo.BudgetAccount (the same as WithRateLimit). Each budget's window
// counts only its own requests, so a burst of events never takes the
// account's 200. 0, the default, sets no limit. It panics on another
// budget, like httptest on misuse.
func WithBudgetRateLimit(b yespo.Budget, perSecond int) Option {
	if b.PerSecond() == 0 {
		panic("yespotest: WithBudgetRateLimit: unknown budget " + b.String())
	}
	return func(c *config) {
		if b == yespo.BudgetAccount {
			c.rateLimit = perSecond
			return
		}
		if c.budgetLimits == nil {
			c.budgetLimits = map[yespo.Budget]int{}
		}
		c.budgetLimits[b] = perSecond
	}
}

// limit returns budget b's requests per second; 0 for none.
func (c *config) limit(b yespo.Budget) int {
	if b == yespo.BudgetAccount {
		return c.rateLimit
	}
	return c.budgetLimits[b]
}

// budgetOf returns the budget a request to path draws from.
func budgetOf(path string) yespo.Budget {
	switch {
	case path == "/api/v2/event":
		return yespo.BudgetEvent
	case strings.HasPrefix(path, "/api/v1/contact/token/"):
		return yespo.BudgetContactLookup
	}
	return yespo.BudgetAccount
}

// WithLatency makes the server take d to answer every request, as a server
// far away would: the request is counted against the rate limit when it
// arrives, and answered d later (or dropped when the client goes away
// first). Requests wait side by side, so that throughput depends on how many
// a client keeps in flight, as with the real Yespo.
func WithLatency(d time.Duration) Option { return func(c *config) { c.latency = d } }

// WithSeed seeds the random source of FailRandomly, so that a run can be
// repeated. Without it the seed is random.
func WithSeed(seed int64) Option { return func(c *config) { c.seed, c.seeded = seed, true } }

// WithoutHistory makes a server that remembers nothing of what it is sent,
// so that its memory stays flat however many requests it answers (a bulk
// import of millions of rows into a fake, a soak test). Every request is
// still checked and answered as usual — key, app, body, faults, latency,
// rate limit — and then forgotten: Requests returns nothing and no token is
// stored, so Contacts is empty and ContactByToken finds nothing (the contact
// id endpoint answers 404). Mute and unmute answer 200 "OK" for any token,
// since the server cannot tell whether a contact holds it. Contacts seeded
// with AddContact are kept.
func WithoutHistory() Option { return func(c *config) { c.forget = true } }

// Matching is how the fake finds the contact a token belongs to. Yespo's
// guide words it in two ways; both are here.
type Matching int

const (
	// MatchAnyIdentifier follows the docs wording: the identifiers are tried
	// in priority order (contactId, externalCustomerId, phone, email) and the
	// first that finds a contact wins.
	MatchAnyIdentifier Matching = iota
	// MatchPrimaryOnly follows the site wording: only the highest-priority
	// identifier given is looked up (a contactId that does not exist passes
	// the turn to the next identifier).
	MatchPrimaryOnly
)

// String returns the constant's name.
func (m Matching) String() string {
	switch m {
	case MatchAnyIdentifier:
		return "MatchAnyIdentifier"
	case MatchPrimaryOnly:
		return "MatchPrimaryOnly"
	}
	return "Matching(?)"
}
