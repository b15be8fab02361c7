package main

import (
	"flag"
	"testing"

	"github.com/yespo-go/yespo/examples/recipes/internal/killtest"
)

var long = flag.Bool("long", false, "7 bursts of 500, each with 3 SIGKILLs, instead of 1")

// SIGKILL during a burst of 500 /start, at random moments, then a run to
// the end: every user is subscribed.
func TestKillDuringBurst(t *testing.T) { killtest.Run(t, killtest.Rounds(*long)) }
