// Command telebot is the recipe for telebot v3: the bot's updates come
// through package telegramupdates, which confirms an update to Telegram
// only once its handler returned nil, and go into telebot's own dispatch,
// ProcessUpdate, with the handlers synchronous so that it returns once they
// have. (telebot's LongPoller confirms each update before its handler ran:
// a crash in between loses it.)
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
	"sync"
	"syscall"

	tele "gopkg.in/telebot.v3"

	"github.com/yespo-go/yespo/examples/recipes/subscribe"
	"github.com/yespo-go/yespo/telegramupdates"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "telebot:", err)
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
	b, err := tele.NewBot(tele.Settings{Token: token, URL: apiURL,
		Synchronous: true, // ProcessUpdate returns once the handler has
		OnError:     func(err error, c tele.Context) { slog.Warn("handler", "err", err) },
	})
	if err != nil {
		return err
	}
	// telebot's handlers return their error to OnError, not to the caller
	// of ProcessUpdate: a middleware keeps it per update.
	var results sync.Map // update id → the handler's error
	b.Use(func(next tele.HandlerFunc) tele.HandlerFunc {
		return func(c tele.Context) error {
			err := next(c)
			if err != nil {
				results.Store(c.Update().ID, err)
			}
			return err
		}
	})
	b.Handle("/start", func(c tele.Context) error {
		// telebot's handlers get no context.Context: Start bounds its wait.
		reply, err := subs.Start(context.Background(), c.Chat().ID, c.Message().Payload)
		if err != nil {
			return err // not kept: the update stays unconfirmed and comes again
		}
		if err := c.Send(reply); err != nil {
			slog.Warn("reply not sent", "chat", c.Chat().ID, "err", err) // the subscription is kept all the same
		}
		return nil
	})

	p := &telegramupdates.Poller{Token: token, APIURL: apiURL,
		Handler: func(ctx context.Context, u telegramupdates.Update) error {
			var upd tele.Update
			if err := json.Unmarshal(u.Raw, &upd); err != nil {
				return nil // not an update the library can read: no handler would run
			}
			b.ProcessUpdate(upd)
			if err, ok := results.LoadAndDelete(upd.ID); ok {
				return err.(error)
			}
			return nil
		},
		OnGiveUp: func(u telegramupdates.Update, err error) {
			slog.Error("update skipped after retries", "update", u.ID, "chat", u.ChatID, "err", err)
		},
	}
	slog.Info("polling")
	return p.Run(ctx)
}
