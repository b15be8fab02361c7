package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParseMuteDuration(t *testing.T) {
	ok := map[string]time.Duration{
		"":      0, // until /unmute
		"  ":    0,
		"5s":    5 * time.Second,
		"30m":   30 * time.Minute,
		"2h":    2 * time.Hour,
		"1h30m": 90 * time.Minute,
		"7d":    7 * day,
		"365d":  365 * day,
		"8760h": 365 * day,
	}
	for arg, want := range ok {
		got, err := parseMuteDuration(arg)
		if assert.NoError(t, err, arg) {
			assert.Equal(t, want, got, arg)
		}
	}
	for _, arg := range []string{"4s", "0s", "0d", "366d", "8761h", "-1h", "10.5s", "1.5d", "soon", "d", "7 d", "1w", "7D"} {
		_, err := parseMuteDuration(arg)
		assert.Error(t, err, arg)
	}
}

func TestHumanDuration(t *testing.T) {
	cases := map[time.Duration]string{
		time.Second:                      "1 second",
		45 * time.Second:                 "45 seconds",
		1500 * time.Millisecond:          "2 seconds", // rounded up: never promise a shorter wait
		time.Minute:                      "1 minute",
		90 * time.Second:                 "90 seconds",
		2 * time.Minute:                  "2 minutes",
		time.Hour:                        "1 hour",
		90 * time.Minute:                 "90 minutes",
		7 * day:                          "7 days",
		day + time.Hour:                  "25 hours",
		2*time.Minute - time.Millisecond: "2 minutes",
	}
	for d, want := range cases {
		assert.Equal(t, want, humanDuration(d), d.String())
	}
}
