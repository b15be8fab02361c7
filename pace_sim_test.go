package yespo_test

import (
	"context"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
)

// simLength is a run's length of fake time: the issues' full length. On a
// fake clock a 30 s run costs well under a second of CPU, so no run is
// scaled down.
func simLength(full time.Duration) time.Duration { return full }

// One Batcher, no limiter, Yespo's 200 a second at 150 ms: the pace finds
// the budget within the first second and a half, and then uses 95 % of it
// or more with at most 1 % of requests answered 429.
func TestSimSteadyState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := newSim(200, 150*time.Millisecond)
		b, err := sim.client(t).NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: simBatch, MaxPending: 200 * simBatch})
		require.NoError(t, err)
		run := simLength(30 * time.Second)
		added := feed(t, b, "s", sim.start.Add(run))
		require.NoError(t, b.Close(context.Background()))

		steady := sim.span(2*time.Second, run)
		all := sim.span(0, run+time.Minute)
		at, ok := sim.firstWindowAt(180)
		t.Logf("steady: %v; whole run: %v; first window ≥ 0.9 ends at %v", steady, all, at)
		assert.GreaterOrEqual(t, steady.used(200), 0.95, "share of the budget used")
		assert.LessOrEqual(t, all.share429(), 0.01, "share answered 429")
		require.True(t, ok)
		assert.LessOrEqual(t, at, 1500*time.Millisecond, "the first one-second window at ≥ 0.9 of the budget")
		assert.Zero(t, sim.lost(added))
	})
}

// Another integration takes 100 a second of the account for the middle
// third of the run: the pace uses 90 % or more of what is left in each
// third, with at most 3 % of requests answered 429 and nothing lost, and
// the other integration gets 90 or more of its 100 a second.
func TestSimOtherConsumer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := newSim(200, 150*time.Millisecond)
		third := simLength(30*time.Second) / 3
		go sim.consume(100, third, 2*third)
		b, err := sim.client(t).NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: simBatch, MaxPending: 200 * simBatch})
		require.NoError(t, err)
		added := feed(t, b, "o", sim.start.Add(3*third))
		require.NoError(t, b.Close(context.Background()))

		for i := range 3 {
			st := sim.span(time.Duration(i)*third, time.Duration(i+1)*third)
			t.Logf("third %d: %v: %.2f of what was left", i+1, st, st.used(200))
			assert.GreaterOrEqual(t, st.used(200), 0.90, "third %d", i+1)
		}
		all := sim.span(0, 3*third+time.Minute)
		t.Logf("whole run: %.2f %% answered 429", 100*all.share429())
		assert.LessOrEqual(t, all.share429(), 0.03, "share answered 429")
		assert.Zero(t, sim.lost(added))
		// The pace gives ground: the other integration keeps its 100 a
		// second. A pace that never met a 429 would keep the budget, its
		// turns freeing as its own old ones leave the window.
		mid := sim.span(third, 2*third)
		assert.GreaterOrEqual(t, float64(mid.other)/mid.seconds, 90.0, "the other integration's accepted requests a second")
	})
}

// Two Batchers on one Client (two apps on one account) share its pace:
// together they use 90 % of the budget or more, at most 0.5 % of their
// requests answered 429, and they take turns: each gets a fair share.
func TestSimTwoBatchersShareThePace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := newSim(200, 150*time.Millisecond)
		c := sim.client(t)
		run := simLength(30 * time.Second)
		var added [2][]string
		done := make(chan struct{})
		for i := range 2 {
			b, err := c.NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: simBatch, MaxPending: 200 * simBatch})
			require.NoError(t, err)
			go func() {
				added[i] = feed(t, b, string(rune('a'+i)), sim.start.Add(run))
				assert.NoError(t, b.Close(context.Background()))
				done <- struct{}{}
			}()
		}
		<-done
		<-done
		steady := sim.span(2*time.Second, run)
		all := sim.span(0, run+time.Minute)
		t.Logf("two Batchers: steady %v; whole run %v; added %d and %d", steady, all, len(added[0]), len(added[1]))
		assert.GreaterOrEqual(t, steady.used(200), 0.90)
		assert.LessOrEqual(t, all.share429(), 0.005)
		assert.InDelta(t, 1, float64(len(added[0]))/float64(len(added[1])), 0.2, "each Batcher gets its turns")
		assert.Zero(t, sim.lost(added[0])+sim.lost(added[1]))
	})
}

// A bot's few registrations are not starved by an import's backlog on the
// same Client: they take their turns between the import's.
func TestSimImportDoesNotStarveBot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := newSim(200, 150*time.Millisecond)
		c := sim.client(t)
		imp, err := c.NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: simBatch, MaxPending: 1000 * simBatch})
		require.NoError(t, err)
		bot, err := c.NewBatcher(appUUID, yespo.BatcherOptions{})
		require.NoError(t, err)
		for i := range 1000 * simBatch { // a backlog of five seconds at the budget
			require.NoError(t, imp.Add(context.Background(), yespo.Token{Token: "i" + itoa(i), ExternalCustomerID: "c"}))
		}
		time.Sleep(time.Second)
		var slowest time.Duration
		for i := range 10 {
			began := time.Now()
			require.NoError(t, bot.AddAndWait(context.Background(), yespo.Token{Token: "b" + itoa(i), ExternalCustomerID: "c"}))
			slowest = max(slowest, time.Since(began))
		}
		t.Logf("slowest /start behind an import's backlog: %v", slowest)
		assert.Less(t, slowest, 500*time.Millisecond, "FlushInterval + a turn + a round trip, not the import's backlog")
		require.NoError(t, bot.Close(context.Background()))
		require.NoError(t, imp.Close(context.Background()))
	})
}

// The documented fixed limiter at 190 a second, on an account another
// integration takes 100 a second of for the middle third: the Client's pace
// learns from the 429s under the limiter, at most 3 % answered 429 and
// nothing lost.
func TestSimFixedLimiterLearns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := newSim(200, 150*time.Millisecond)
		third := simLength(30*time.Second) / 3
		go sim.consume(100, third, 2*third)
		b, err := sim.client(t, yespo.WithRateLimiter(newBucket(190))).NewBatcher(appUUID,
			yespo.BatcherOptions{MaxBatch: simBatch, MaxPending: 200 * simBatch})
		require.NoError(t, err)
		added := feed(t, b, "l", sim.start.Add(3*third))
		require.NoError(t, b.Close(context.Background()))
		for i := range 3 {
			st := sim.span(time.Duration(i)*third, time.Duration(i+1)*third)
			t.Logf("third %d: %v: %.2f of what was left", i+1, st, st.used(200))
		}
		all := sim.span(0, 3*third+time.Minute)
		t.Logf("whole run: %.2f %% answered 429", 100*all.share429())
		assert.LessOrEqual(t, all.share429(), 0.03, "share answered 429")
		assert.Zero(t, sim.lost(added))
	})
}

func itoa(i int) string { return strconv.Itoa(i) }

// A stated budget is believed from the first request: a 5 s job at 150 ms
// with a limiter of 200 a second, or the account's rate stated as 200,
// gets 85 % or more of 200 requests a second end to end — from the first
// Add to Close's return — with at most 1 % answered 429 and nothing lost.
func TestSimStatedBudgetEndToEnd(t *testing.T) {
	for name, opt := range map[string]func() yespo.Option{
		"WithRateLimiter(200/s)": func() yespo.Option { return yespo.WithRateLimiter(newBucket(200)) },
		"WithAccountRate(200)":   func() yespo.Option { return yespo.WithAccountRate(200) },
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sim := newSim(200, 150*time.Millisecond)
				b, err := sim.client(t, opt()).NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: simBatch, MaxPending: 200 * simBatch})
				require.NoError(t, err)
				added := feed(t, b, "e", sim.start.Add(5*time.Second))
				require.NoError(t, b.Close(context.Background()))
				took := time.Since(sim.start)
				all := sim.span(0, time.Hour)
				ratio := float64(all.ok) / took.Seconds() / 200
				t.Logf("%s: %v in %v end to end: %.2f of 200 req/s", name, all, took, ratio)
				assert.GreaterOrEqual(t, ratio, 0.85, "end to end")
				assert.LessOrEqual(t, all.share429(), 0.01)
				assert.Zero(t, sim.lost(added))
			})
		})
	}
}
