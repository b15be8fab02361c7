package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/yesporedis/redistest"
	"github.com/yespo-go/yespo/yespotest"
)

// With YESPO_REDIS_URL the import draws every request from the account's
// budget in a real Redis, the one the bot draws from, and from the bulk
// ceiling inside it that keeps the bot's headroom.
func TestBinaryRedisSharesTheAccountBudget(t *testing.T) {
	rs := redistest.Start(t)
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	path, invalid := subscribers(t, 300)
	code, stdout, stderr := runBinary(t, environ(append(serverEnv(srv, app), "YESPO_REDIS_URL="+rs.URL())...), "-batch", "50", path)
	assert.Equal(t, exitRejects, code, stdout+stderr)
	assert.Regexp(t, `at most 100 requests/s \(the default -rps: [^)]*\), within the account's 200 requests/s shared through Redis at key yespo:account on 127\.0\.0\.1:\d+ db \d+ \(YESPO_REDIS_URL\)`, stderr,
		"the start line says the budget is shared, where, and from which setting")
	assertImported(t, path, 300, srv, invalid)
	for _, key := range []string{accountBudgetKey, accountBudgetKey + ":bulk"} {
		n, err := rs.Client().Exists(context.Background(), "rate:"+key).Result()
		require.NoError(t, err)
		assert.Equal(t, int64(1), n, "no request drew from %s", key)
	}
}

func TestBinaryBadRedisURL(t *testing.T) {
	path, _ := subscribers(t, 3)
	code, _, stderr := runBinary(t, environ("YESPO_API_KEY=k", "YESPO_REDIS_URL=http://not-redis"), "-app", "123e4567-e89b-12d3-a456-426614174000", path)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr, "YESPO_REDIS_URL")
}
