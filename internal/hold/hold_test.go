package hold

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// probes records when each probe went out.
type probes struct {
	mu    sync.Mutex
	start time.Time
	at    []time.Duration
	which []int
}

func (p *probes) release(b int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.at = append(p.at, time.Since(p.start))
	p.which = append(p.which, b)
}

func (p *probes) snapshot() ([]time.Duration, []int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Duration(nil), p.at...), append([]int(nil), p.which...)
}

// An operator's error is probed one batch at a time, oldest first, on an
// interval that doubles up to 30 s; the first success sends everything.
func TestHoldProbesOperatorErrorsUpTo30s(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &probes{start: time.Now()}
		h := New(p.release)
		assert.True(t, h.Add(1, Operator), "the hold begins")
		assert.False(t, h.Add(2, Operator))
		for range 9 { // each probe fails and comes back
			synctest.Wait()
			time.Sleep(time.Minute)
			_, which := p.snapshot()
			require.NotEmpty(t, which)
			h.Add(which[len(which)-1], Operator)
		}
		at, which := p.snapshot()
		var gaps []time.Duration
		for i := 1; i < len(at); i++ {
			gaps = append(gaps, at[i]-at[i-1])
		}
		assert.Equal(t, []int{1, 2, 1, 2, 1, 2, 1, 2, 1}, which, "one probe at a time, in turn")
		for _, g := range gaps {
			assert.GreaterOrEqual(t, g, time.Minute, "never two probes out")
		}
		assert.Equal(t, 2, h.Len(), "the last probe came back")
		assert.ElementsMatch(t, []int{1, 2}, h.Sent(), "a success sends everything")
		assert.Zero(t, h.Len())
	})
}

// The interval grows 100 ms, 200 ms, … up to 2 s for a transient error,
// up to 30 s for an operator's; an outage's probe goes at once, the budget
// pacing it.
func TestHoldBackoff(t *testing.T) {
	for reason, limit := range map[Reason]time.Duration{Transient: MaxTransient, Operator: MaxOperator, Outage: 0} {
		synctest.Test(t, func(t *testing.T) {
			sent := make(chan time.Time, 1)
			h := New(func(int) { sent <- time.Now() })
			var waits []time.Duration
			for range 12 {
				began := time.Now()
				h.Add(7, reason) // the probe comes back failed
				waits = append(waits, (<-sent).Sub(began))
			}
			want := []time.Duration{}
			for d := First; len(want) < 12; d = min(2*d, limit) {
				want = append(want, d)
			}
			if reason == Outage {
				want = make([]time.Duration, 12)
			}
			assert.Equal(t, want, waits)
			assert.Empty(t, h.Sent(), "the probe is out, nothing held")
		})
	}
}

// Stop hands back what is held and sends no more probes.
func TestHoldStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &probes{start: time.Now()}
		h := New(p.release)
		h.Add(1, Transient)
		h.Add(2, Transient)
		assert.Equal(t, []int{1, 2}, h.Stop())
		time.Sleep(time.Minute)
		at, _ := p.snapshot()
		assert.Empty(t, at)
	})
}

// Expire takes out what is too old, keeping the rest in order.
func TestHoldExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New(func(int) {})
		for i := range 5 {
			h.Add(i, Operator)
		}
		synctest.Wait()
		time.Sleep(time.Second) // 0 went out as the probe
		assert.Equal(t, []int{2, 4}, h.Expire(func(b int) bool { return b%2 == 0 }))
		assert.Equal(t, []int{1, 3}, h.Stop())
	})
}
