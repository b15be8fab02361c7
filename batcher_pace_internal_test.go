package yespo

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The pace's rules, step by step on a fake clock.
func TestBatcherPacerRules(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	p := newPacer(true)
	assert.Equal(t, paceStart, p.rate)

	// Successes of sends that went as soon as they were ready say nothing.
	p.succeeded(false, t0)
	assert.Equal(t, paceStart, p.rate, "no rise without a backlog")

	// Each held send that succeeds adds paceFast/rate: paceFast a second.
	p.succeeded(true, t0)
	assert.Equal(t, paceStart+paceFast/paceStart, p.rate)
	for p.rate < paceNear*paceBest {
		p.succeeded(true, t0)
	}
	// Past paceNear of best the climb is slow: paceSlow of best a second.
	before := p.rate
	p.succeeded(true, t0)
	assert.InDelta(t, before+paceSlow*paceBest/before, p.rate, 1e-9)

	// A 429 cuts once per round: attempts begun before the cut are old news.
	cutAt := t0.Add(2 * time.Second)
	rate := p.rate
	p.limited(cutAt.Add(-time.Millisecond), cutAt)
	assert.Less(t, p.rate, rate, "cut")
	cut := p.rate
	p.limited(cutAt.Add(-time.Millisecond), cutAt.Add(100*time.Millisecond))
	assert.Equal(t, cut, p.rate, "a 429 of an attempt begun before the cut changes nothing")
	p.limited(cutAt.Add(time.Millisecond), cutAt.Add(200*time.Millisecond))
	assert.Less(t, p.rate, cut, "one begun after it cuts again")
	assert.GreaterOrEqual(t, p.rate, paceMin)
}

// After a 429 the best rate is what the server accepted over the last
// second, so that a budget below the documented one is found at once.
func TestBatcherPacerLearnsAcceptedRate(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	p := newPacer(true)
	p.rate = 170
	for i := range 200 { // 2 s of 100 accepted a second
		p.succeeded(false, t0.Add(time.Duration(i)*10*time.Millisecond))
	}
	now := t0.Add(2 * time.Second)
	assert.InDelta(t, 100, p.acceptedRate(now), 1)
	p.limited(now, now.Add(time.Millisecond))
	assert.InDelta(t, 119, p.best, 1, "best: the larger of the accepted rate and the cut rate")
	assert.InDelta(t, 101, p.rate, 1, "rate: paceNear of best")
}

// With a client limiter nothing is paced: only pauses hold sends.
func TestBatcherPacerWithClientLimiter(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	p := newPacer(false)
	for range 1000 {
		assert.LessOrEqual(t, p.hold(now), time.Duration(0))
		p.take(now)
	}
	p.limited(now, now)
	p.succeeded(true, now)
	assert.Zero(t, p.rate)
	p.pause(now, time.Second)
	assert.Equal(t, time.Second, p.hold(now))
}
