package main

import (
	"context"
	"flag"
	"testing"

	"github.com/mymmrac/telego"

	"github.com/yespo-go/yespo/examples/recipes/internal/killtest"
	"github.com/yespo-go/yespo/telegramtest"
)

var long = flag.Bool("long", false, "7 bursts of 500, each with 3 SIGKILLs, instead of 1")

// SIGKILL during a burst of 500 /start, at random moments, then a run to
// the end: every user is subscribed.
func TestKillDuringBurst(t *testing.T) { killtest.Run(t, killtest.Rounds(*long)) }

// telego runs on telegramtest's defaults: its token passes telego's format
// check, and getMe answers.
func TestTelegoOnTelegramtestDefaults(t *testing.T) {
	tg := telegramtest.NewServer()
	defer tg.Close()
	bot, err := telego.NewBot(tg.Token, telego.WithAPIServer(tg.URL))
	if err != nil {
		t.Fatal(err)
	}
	me, err := bot.GetMe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if me.Username != tg.Username || !me.IsBot {
		t.Errorf("getMe: %+v", me)
	}
}
