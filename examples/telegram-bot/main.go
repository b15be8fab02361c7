// Command telegram-bot subscribes a Telegram bot's users to a business's
// Yespo newsletters, built on github.com/go-telegram/bot and the yespo SDK.
//
//   - /start PAYLOAD, from a deep link t.me/<bot>?start=PAYLOAD (see
//     DeepLink), registers the chat with the customer id in the payload.
//   - /start alone asks for the phone number with a button; the user's own
//     shared contact registers the chat with that number.
//   - /mute [30m|2h|7d] pauses newsletters (until /unmute without a
//     duration); /unmute resumes them.
//
// Only private chats are served. Yespo errors get the user a "try again
// later" and the log the details; a user who blocked the bot is logged and
// skipped. SIGINT or SIGTERM stops the bot after the updates in hand.
//
// Configuration comes from the environment, or from flags that override it:
// TELEGRAM_BOT_TOKEN, YESPO_API_KEY, YESPO_APP_UUID, and optionally
// TELEGRAM_API_URL (default the public Bot API) and YESPO_BASE_URL (default
// yespo.DefaultBaseURL). It long-polls unless -webhook ADDR and -webhook-url
// URL are given. With -demo it needs nothing and plays a scripted
// conversation against in-process fakes:
//
//	go run ./examples/telegram-bot -demo
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "telegram-bot:", err)
		os.Exit(1)
	}
}

// run is the whole program, with its surroundings passed in for the tests:
// it returns nil once ctx ends and the bot has stopped cleanly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.demo {
		return runDemo(ctx, stdout)
	}
	a, err := newApp(ctx, cfg, slog.New(slog.NewTextHandler(stderr, nil)))
	switch {
	case err != nil && ctx.Err() != nil:
		return nil // stopped while starting: a clean stop too
	case err != nil:
		return err
	}
	if cfg.webhookAddr == "" {
		return a.poll(ctx)
	}
	ln, err := net.Listen("tcp", cfg.webhookAddr)
	if err != nil {
		return err
	}
	return a.serveWebhook(ctx, ln, cfg.webhookURL)
}
