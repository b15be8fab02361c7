package yesporedis

import (
	"github.com/redis/go-redis/v9"

	"github.com/yespo-go/yespo"
)

// NewBudgetLimiter returns the Limiter of Yespo's budget b for the account
// that account names: NewLimiter(rdb, BudgetKey(account, b),
// b.PerSecond(), opts...). Every process that passes the same account and
// b shares that budget, and each budget has a key of its own, so a burst
// on one never takes from another. Give it to the Client for that budget:
//
//	events := yesporedis.NewBudgetLimiter(rdb, "yespo:acct-42", yespo.BudgetEvent)
//	client, err := yespo.NewClient(apiKey,
//		yespo.WithRateLimiter(yesporedis.NewLimiter(rdb, "yespo:acct-42", 200)),
//		yespo.WithBudgetLimiter(yespo.BudgetEvent, events))
//
// It panics, as NewLimiter does, on a nil rdb, an empty account, a budget
// that is not one of yespo's constants or a bad option.
func NewBudgetLimiter(rdb redis.UniversalClient, account string, b yespo.Budget, opts ...Option) *Limiter {
	switch {
	case account == "":
		panic("yesporedis: NewBudgetLimiter: account is empty")
	case b.PerSecond() == 0:
		panic("yesporedis: NewBudgetLimiter: unknown budget " + b.String())
	}
	return NewLimiter(rdb, BudgetKey(account, b), b.PerSecond(), opts...)
}

// BudgetKey returns the key of budget b for account: account itself for
// yespo.BudgetAccount, the key NewLimiter(rdb, account, 200) shares, and
// account + ":" + b.String() for the others, e.g. "yespo:acct-42:event".
func BudgetKey(account string, b yespo.Budget) string {
	if b == yespo.BudgetAccount {
		return account
	}
	return account + ":" + b.String()
}
