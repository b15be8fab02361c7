package main

import (
	"testing"

	"github.com/yespo-go/yespo/examples/recipes/internal/killtest"
)

// SIGKILL three times during a burst of 500 /start, then a run to the end:
// every user is subscribed.
func TestKillDuringBurst(t *testing.T) { killtest.Run(t, 3) }
