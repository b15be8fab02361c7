// Command gotelegram is the recipe for go-telegram/bot: the bot's updates
// come through package telegramupdates, which confirms an update to
// Telegram only once its handler made its effect durable, and go into the
// library's own dispatch, ProcessUpdate. (The library's own loop confirms
// each update before any handler ran: a crash in between loses it.)
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

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/yespo-go/yespo/examples/recipes/subscribe"
	"github.com/yespo-go/yespo/telegramupdates"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "gotelegram:", err)
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
	opts := []bot.Option{bot.WithNotAsyncHandlers()} // ProcessUpdate returns once the handler has
	if apiURL != "" {
		opts = append(opts, bot.WithServerURL(apiURL))
	}
	b, err := bot.New(token, opts...)
	if err != nil {
		return err
	}
	b.RegisterHandler(bot.HandlerTypeMessageText, "start", bot.MatchTypeCommandStartOnly,
		func(ctx context.Context, b *bot.Bot, u *models.Update) {
			chat := u.Message.Chat.ID
			reply, err := subs.Start(ctx, chat, strings.TrimSpace(strings.TrimPrefix(u.Message.Text, "/start")))
			if err != nil {
				failed(ctx, err) // not kept: the update stays unconfirmed and comes again
				return
			}
			if _, err := b.SendMessage(ctx, &bot.SendMessageParams{ChatID: chat, Text: reply}); err != nil {
				slog.Warn("reply not sent", "chat", chat, "err", err) // the subscription is kept all the same
			}
		})

	p := &telegramupdates.Poller{Token: token, APIURL: apiURL,
		Handler: func(ctx context.Context, u telegramupdates.Update) error {
			var upd models.Update
			if err := json.Unmarshal(u.Raw, &upd); err != nil {
				return nil // not an update the library can read: no handler would run
			}
			ctx, result := withResult(ctx)
			b.ProcessUpdate(ctx, &upd)
			return *result
		},
		OnGiveUp: func(u telegramupdates.Update, err error) {
			slog.Error("update skipped after retries", "update", u.ID, "chat", u.ChatID, "err", err)
		},
	}
	slog.Info("polling")
	return p.Run(ctx)
}

// go-telegram/bot's handlers return nothing: a handler that could not keep
// its effect records it in the context that ProcessUpdate passes on.
type resultKey struct{}

func withResult(ctx context.Context) (context.Context, *error) {
	var err error
	return context.WithValue(ctx, resultKey{}, &err), &err
}

func failed(ctx context.Context, err error) {
	if p, ok := ctx.Value(resultKey{}).(*error); ok {
		*p = err
	}
}
