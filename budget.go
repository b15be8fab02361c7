package yespo

import (
	"strconv"

	"github.com/yespo-go/yespo/internal/pace"
)

// Budget names one of Yespo's rate budgets. Yespo counts requests per
// account, in budgets: most methods share the account's 200 requests per
// second, and some are listed with a budget of their own. A Client paces
// each budget apart (see Client), and WithBudgetLimiter gives one a
// Limiter of its own, e.g. one shared by several processes through Redis.
type Budget int

// The budgets the Client's methods draw from.
const (
	// BudgetAccount is the account's 200 requests per second, shared by
	// AddAppTokens, MuteAppToken, UnmuteAppToken and every Batcher.
	BudgetAccount Budget = iota + 1
	// BudgetContactLookup is ContactIDByToken's own 150 per second.
	BudgetContactLookup
	// BudgetEvent is SendEvent's own 350 per second (Generate event).
	BudgetEvent
)

// String returns a stable name, fit for a Redis key: "account",
// "contact-lookup" or "event"; "Budget(N)" for any other value.
func (b Budget) String() string {
	if b.PerSecond() == 0 {
		return "Budget(" + strconv.Itoa(int(b)) + ")"
	}
	return budgets[b].name
}

// budgets are the budgets' names and documented rates, by value.
var budgets = [...]struct {
	name string
	rate float64
}{BudgetAccount: {"account", pace.AccountRate}, BudgetContactLookup: {"contact-lookup", pace.LookupRate}, BudgetEvent: {"event", pace.EventRate}}

// PerSecond returns the budget's documented rate in requests per second:
// 200, 150 or 350; 0 for a value that is not one of the constants.
func (b Budget) PerSecond() int {
	if b < BudgetAccount || b > BudgetEvent {
		return 0
	}
	return int(budgets[b].rate)
}

// WithBudgetLimiter makes every attempt on budget b, retries included,
// wait on l first, as WithRateLimiter does for the account's budget
// (WithBudgetLimiter(BudgetAccount, l) is WithRateLimiter(l)): l is a
// ceiling, under which the Client's pace still backs off on every 429.
// Each budget waits on its own limiter only, so that a burst on one never
// slows another. Processes that share an account share each budget through
// Redis with one limiter per budget key (yesporedis.NewBudgetLimiter).
// It fails on an unknown budget or a nil l; a later option for the same
// budget replaces an earlier one.
func WithBudgetLimiter(b Budget, l Limiter) Option {
	return func(o *options) error {
		switch {
		case b.PerSecond() == 0:
			return invalid("budget", "unknown budget "+b.String()+": use BudgetAccount, BudgetContactLookup or BudgetEvent")
		case l == nil:
			return invalid("rateLimiter", "must not be nil")
		case b == BudgetAccount:
			o.limiter = l
		default:
			if o.budgetLimiters == nil {
				o.budgetLimiters = map[Budget]Limiter{}
			}
			o.budgetLimiters[b] = l
		}
		return nil
	}
}
