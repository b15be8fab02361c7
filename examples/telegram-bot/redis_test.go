package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/yesporedis/redistest"
)

// With YESPO_REDIS_URL the bot's requests draw from the account's budget in
// a real Redis, the one the import and the other replicas draw from.
func TestRedisSharesTheAccountBudget(t *testing.T) {
	rs := redistest.Start(t)
	tg, ys, cfg := fakes(t)
	cfg.redisURL = rs.URL()
	h := startBotOn(t, tg, ys, cfg, nil)
	ann := h.tg.NewUser(1001, "Ann")
	assert.Equal(t, []string{textSubscribed}, texts(h.say(ann, "/start "+signed(t, "crm-42"))))
	settled(t, h.bot)
	n, err := rs.Client().Exists(context.Background(), "rate:"+accountBudgetKey).Result()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "the request waited its turn in Redis")
}

func TestBadRedisURLIsAConfigurationError(t *testing.T) {
	tg, ys, cfg := fakes(t)
	env := contractEnv(t, tg, ys, cfg.appUUID)
	env["YESPO_REDIS_URL"] = "http://not-redis"
	err := run(context.Background(), nil, getenv(env), nil, nil)
	var ue usageError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, err.Error(), "YESPO_REDIS_URL")
}
