package yesporedis_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yesporedis"
	"github.com/yespo-go/yespo/yesporedis/redistest"
)

var quiet = slog.New(slog.DiscardHandler)

// TestReplicasShareOneBudget is the point of the package: three processes,
// each with its own Redis connection and yespo client, all busy, together
// stay under a sliding 200/s limit and still use most of it.
//
// It is a throughput measurement on a shared machine, so the two figures
// are asserted differently. The 429 share (≤ 0.5 %) is the limiter's
// promise and is asserted as is. Throughput (≥ 90 % of 200/s) is asserted
// only when the limiter was the bottleneck — the workers spent most of their
// time in Wait — and the race detector is off; when the machine could not
// produce the calls, it is logged instead, as failing then would measure the
// machine, not the limiter. Under -race on a loaded 2-core box the slots
// come late (measured 170–195 req/s), so there only a floor of 75 % is
// asserted, which still catches a limiter that wastes its slots wholesale.
func TestReplicasShareOneBudget(t *testing.T) {
	rs := redistest.Start(t)
	y := newSlidingYespo(t, 200)
	var lims []yespo.Limiter
	for i := range 3 {
		rdb := rs.Client()
		if i == 0 { // one replica on each of the two ways allow calls Redis
			rdb = redis.NewClient(&redis.Options{Addr: rs.Addr, ContextTimeoutEnabled: true})
			t.Cleanup(func() { _ = rdb.Close() })
		}
		lims = append(lims, yesporedis.NewLimiter(rdb, "yespo:acct", 200, yesporedis.WithLogger(quiet)))
	}
	r := runShare(y, t, lims, 4, 3*time.Second)
	t.Logf("3 replicas: %.1f req/s accepted, %.2f %% 429, workers in Wait %.0f %% of the time",
		r.perSecond, 100*r.limited, 100*r.waitShare)

	if r.limited > 0.005 {
		t.Errorf("%.2f %% of answers were 429, want ≤ 0.5 %%", 100*r.limited)
	}
	switch {
	case r.perSecond >= 0.9*200:
	case r.waitShare < 0.5:
		t.Logf("throughput not asserted: the machine, not the limiter, was the bottleneck (%s)", describe(r))
	case raceEnabled && r.perSecond >= 0.75*200:
		t.Logf("under -race: %.1f req/s accepted, under 180 but over the 150 floor (%s)", r.perSecond, describe(r))
	default:
		t.Errorf("%.1f req/s accepted, want ≥ 180 (%s)", r.perSecond, describe(r))
	}
}

func describe(r shareResult) string {
	return fmt.Sprintf("workers waited on the limiter %.0f %% of the time", 100*r.waitShare)
}
