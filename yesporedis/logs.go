package yesporedis

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"
)

// RouteRedisLogs sends what go-redis logs by itself — a line per failed
// dial, about 20 in the first second of an outage, then one a second — to l
// as Debug records, so that with an Info-level logger an outage of Redis
// shows as the Limiter's two records (down, back) and nothing else, and
// with debugging on go-redis's lines are there in the same place.
//
// go-redis has one logger for the whole process (redis.SetLogger), so this
// changes it for every go-redis client of the process, not only those a
// Limiter or Journal uses: that is why the package never calls it by
// itself. Call it once at start-up, before using Redis. l must not be nil.
func RouteRedisLogs(l *slog.Logger) {
	if l == nil {
		panic("yesporedis: RouteRedisLogs(nil)")
	}
	redis.SetLogger(routed{l})
}

// QuietRedisLogs silences what go-redis logs by itself, for the whole
// process (see RouteRedisLogs); the Limiter's and Journal's own records
// still tell when Redis goes away and comes back.
func QuietRedisLogs() {
	RouteRedisLogs(slog.New(slog.DiscardHandler))
}

// routed is go-redis's logging interface on top of an slog.Logger.
type routed struct{ l *slog.Logger }

func (r routed) Printf(ctx context.Context, format string, v ...any) {
	if !r.l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	r.l.Log(ctx, slog.LevelDebug, "go-redis: "+strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "))
}
