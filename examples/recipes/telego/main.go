// Command telego is the recipe for telego: the bot's updates come through
// package telegramupdates, which confirms an update to Telegram only once
// its handler returned nil, and go into telego's own dispatch, a
// telegohandler.BotHandler's handler group. (telego's long polling confirms
// each update as soon as it is off the wire, before any handler ran: a
// crash in between loses it.)
//
// Environment: TELEGRAM_BOT_TOKEN, YESPO_API_KEY, YESPO_APP_UUID,
// TELEGRAM_LINK_SECRET; optionally TELEGRAM_API_URL and YESPO_BASE_URL.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mymmrac/telego"
	th "github.com/mymmrac/telego/telegohandler"
	tu "github.com/mymmrac/telego/telegoutil"

	"github.com/yespo-go/yespo/examples/recipes/subscribe"
	"github.com/yespo-go/yespo/telegramupdates"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "telego:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	subs, err := subscribe.FromEnv(ctx)
	if err != nil {
		return err
	}
	defer subs.Close()
	token, apiURL := os.Getenv("TELEGRAM_BOT_TOKEN"), os.Getenv("TELEGRAM_API_URL")
	var opts []telego.BotOption
	if apiURL != "" {
		opts = append(opts, telego.WithAPIServer(apiURL))
	}
	bot, err := telego.NewBot(token, opts...)
	if err != nil {
		return err
	}
	// The BotHandler is never started: its handlers run when the Poller
	// hands an update to its group, and their error is the update's.
	// telego's router clones each update through its JSON codec, which
	// builds its encoder for the type on first use: in every handler
	// running at once after a start, a thundering herd (64 handlers took
	// ~7 s of CPU and 900 MB). One clone now builds it once.
	if _, err := (telego.Update{}).CloneSafe(); err != nil {
		return err
	}
	bh, err := th.NewBotHandler(bot, make(chan telego.Update))
	if err != nil {
		return err
	}
	bh.HandleMessage(func(ctx *th.Context, m telego.Message) error {
		reply, err := subs.Start(ctx, m.Chat.ID, strings.TrimSpace(strings.TrimPrefix(m.Text, "/start")))
		if err != nil {
			return err // not kept: the update stays unconfirmed and comes again
		}
		if _, err := bot.SendMessage(ctx, tu.Message(tu.ID(m.Chat.ID), reply)); err != nil {
			slog.Warn("reply not sent", "chat", m.Chat.ID, "err", err) // the subscription is kept all the same
		}
		return nil
	}, th.CommandEqual("start"))

	p := &telegramupdates.Poller{Token: token, APIURL: apiURL,
		Handler: func(ctx context.Context, u telegramupdates.Update) error {
			var upd telego.Update
			if err := json.Unmarshal(u.Raw, &upd); err != nil {
				return nil // not an update the library can read: no handler would run
			}
			return bh.BaseGroup().HandleUpdate(ctx, bot, upd)
		},
		OnGiveUp: func(u telegramupdates.Update, err error) {
			slog.Error("update skipped after retries", "update", u.ID, "chat", u.ChatID, "err", err)
		},
	}
	slog.Info("polling")
	return p.Run(ctx)
}
