package yespotest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// No one-second window, wherever it starts, lets more than the limit
// through: 10 requests at 0.9 s and 10 more at 1.1 s would pass fixed
// windows of [0,1) and [1,2) but hold 20 within 0.2 s.
func TestRateWindowSlides(t *testing.T) {
	var w rateWindow
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for range 10 {
		ok, _ := w.allow(10, at(900))
		assert.True(t, ok)
	}
	ok, wait := w.allow(10, at(1100))
	assert.False(t, ok, "the 11th within one second")
	assert.Equal(t, 800*time.Millisecond, wait, "until the oldest leaves the window")
	ok, _ = w.allow(10, at(1899))
	assert.False(t, ok, "refused requests are not counted, the window still holds 10")
	for range 10 {
		ok, _ := w.allow(10, at(1900))
		assert.True(t, ok, "a second after the first ten")
	}
	ok, _ = w.allow(0, at(1900))
	assert.True(t, ok, "no limit")
}
