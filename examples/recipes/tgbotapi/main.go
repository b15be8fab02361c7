// Command tgbotapi is the recipe for go-telegram-bot-api v5: the bot's
// updates come through package telegramupdates, which confirms an update to
// Telegram only once handle returned nil for it. (GetUpdatesChan confirms
// each update with the next getUpdates, whether or not its handling
// finished: a crash in between loses it.) The library has no router: its
// dispatch is the bot's own handle, which the Poller calls instead of a
// loop over the updates channel.
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
	"syscall"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/yespo-go/yespo/examples/recipes/subscribe"
	"github.com/yespo-go/yespo/telegramupdates"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "tgbotapi:", err)
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
	endpoint := tgbotapi.APIEndpoint
	if apiURL != "" {
		endpoint = apiURL + "/bot%s/%s"
	}
	bot, err := tgbotapi.NewBotAPIWithAPIEndpoint(token, endpoint)
	if err != nil {
		return err
	}
	p := &telegramupdates.Poller{Token: token, APIURL: apiURL,
		Handler: func(ctx context.Context, u telegramupdates.Update) error {
			var upd tgbotapi.Update
			if err := json.Unmarshal(u.Raw, &upd); err != nil {
				return nil // not an update the library can read: no handler would run
			}
			return handle(ctx, bot, subs, upd)
		},
		OnGiveUp: func(u telegramupdates.Update, err error) {
			slog.Error("update skipped after retries", "update", u.ID, "chat", u.ChatID, "err", err)
		},
	}
	slog.Info("polling")
	return p.Run(ctx)
}

// handle is the bot's dispatch: what a `for u := range bot.GetUpdatesChan(…)`
// loop would do with u. It returns nil once u's effect is kept.
func handle(ctx context.Context, bot *tgbotapi.BotAPI, subs *subscribe.Service, u tgbotapi.Update) error {
	m := u.Message
	if m == nil || !m.IsCommand() || m.Command() != "start" {
		return nil
	}
	reply, err := subs.Start(ctx, m.Chat.ID, m.CommandArguments())
	if err != nil {
		return err // not kept: the update stays unconfirmed and comes again
	}
	if _, err := bot.Send(tgbotapi.NewMessage(m.Chat.ID, reply)); err != nil {
		slog.Warn("reply not sent", "chat", m.Chat.ID, "err", err) // the subscription is kept all the same
	}
	return nil
}
