package pace

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The turn log holds a turn back until the limit-th last one has left a
// span of one second plus the spread of round trips, which forgets the
// trips older than spreadSpan and is capped at spreadMax.
func TestTurnLogSpanGrowsWithTheSpread(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var l turnLog
	assert.True(t, l.nextAt(3).IsZero(), "no turn yet")
	for _, ms := range []int{0, 100, 200} {
		l.grant(at(ms), 3)
	}
	assert.Equal(t, at(1000), l.nextAt(3), "an even way: one second after the third last turn")
	assert.True(t, l.nextAt(0).IsZero(), "no limit")

	l.answered(at(0), at(50))
	l.answered(at(100), at(250)) // 150 ms: 100 more than the fastest
	assert.Equal(t, 100*time.Millisecond, l.spread)
	assert.Equal(t, at(1100), l.nextAt(3))

	l.grant(at(1100), 3) // the oldest of the three leaves the log
	assert.Equal(t, []time.Time{at(100), at(200), at(1100)}, l.granted)
	l.grant(at(1650), 3) // and turns older than any span can be
	assert.Equal(t, []time.Time{at(200), at(1100), at(1650)}, l.granted)
	l.grant(at(2650), 3)
	assert.Equal(t, []time.Time{at(1650), at(2650)}, l.granted)

	l.answered(at(2300), at(2340)) // the two trips above are 2 s old: forgotten
	assert.Zero(t, l.spread)
	l.answered(at(2000), at(3400)) // a 1.4 s attempt
	assert.Equal(t, spreadMax, l.spread)
}
