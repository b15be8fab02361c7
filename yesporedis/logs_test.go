package yesporedis_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/yesporedis/redistest"
)

// TestRedisDownLogsOnce runs a busy bot process that calls RouteRedisLogs,
// kills its Redis for 5 s and brings it back: the process's whole stderr is
// one line for the outage and one for the return. The same process without
// the call shows go-redis's own lines, so the count does see them.
func TestRedisDownLogsOnce(t *testing.T) {
	rs := redistest.Start(t)
	for _, tc := range []struct {
		logs   string
		outage time.Duration
	}{{"route", 5 * time.Second}, {"quiet", time.Second}, {"", time.Second}} {
		c := startChild(t, "outage", "YR_REDIS="+rs.Addr, "YR_LOGS="+tc.logs)
		c.expect(t, "ready")
		rs.Kill()
		waitFor(t, "the outage's log line", func() bool { return c.stderr.count(logDown) > 0 })
		time.Sleep(tc.outage) // the outage: what it logs is counted at the end
		rs.Restart()
		waitFor(t, "the return's log line", func() bool { return c.stderr.count(logBack) > 0 })
		require.NoError(t, c.stdin.Close())
		require.NoError(t, c.cmd.Wait(), "the child's exit")

		out := c.stderr.String()
		lines := strings.Count(out, "\n")
		if tc.logs == "" {
			assert.Greater(t, lines, 2, "without RouteRedisLogs go-redis logs too:\n%s", out)
			continue
		}
		assert.Equal(t, 2, lines, "YR_LOGS=%s, stderr:\n%s", tc.logs, out)
		assert.Equal(t, 1, c.stderr.count(logDown), out)
		assert.Equal(t, 1, c.stderr.count(logBack), out)
	}
}
