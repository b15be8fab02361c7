// Package tgbotapi holds the README's bot handler, copied verbatim (readme_test.go
// in the parent directory checks the copy), so that it compiles, and TestStartTgbotapi runs it on go-telegram-bot-api/v5.
package tgbotapi

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/deeplink"
)

var (
	batcher *yespo.Batcher                              // client.NewBatcher(appUUID, yespo.BatcherOptions{}) in main; Close it at exit
	secret  = []byte(os.Getenv("TELEGRAM_LINK_SECRET")) // ≥ 32 bytes, the shop's signing secret
)

// subscribe registers a chat with the customer id from the signed /start
// payload (t.me/<bot>?start=<payload>) and returns the reply. It knows no
// Telegram library: any library's handler calls it.
func subscribe(ctx context.Context, chatID int64, payload string) string {
	customerID, err := deeplink.Verify(secret, payload)
	if err != nil { // deeplink.ErrInvalid or ErrExpired: not the shop's link, or an old one
		return "This link is not valid; please ask for a new one."
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second) // the user waits 10 s at most
	defer cancel()
	// AddAndWait returns once Yespo has the token; a burst of /start shares
	// few requests. With a Journal, batcher.Add is enough: it returns once
	// the token is durably kept, and "Subscribed!" then means kept and on its
	// way to Yespo, through restarts and outages.
	err = batcher.AddAndWait(ctx, yespo.Token{
		Token:              yespo.TelegramToken(chatID),
		ExternalCustomerID: customerID,
	})
	var apiErr *yespo.APIError
	switch {
	case err == nil:
		return "Subscribed!"
	case errors.Is(err, context.DeadlineExceeded): // the token may still get through
		return "This is taking a while; please check again in a minute."
	case errors.As(err, &apiErr) && apiErr.RetryAfter > 0:
		return "Busy, please try again in " + apiErr.RetryAfter.String()
	default:
		slog.Error("yespo", "err", err) // errors never contain the API key
		return "Sorry, please try again later."
	}
}

// start is the /start handler on go-telegram/bot: b.RegisterHandler(
// bot.HandlerTypeMessageText, "start", bot.MatchTypeCommandStartOnly, start).
func start(ctx context.Context, b *bot.Bot, u *models.Update) {
	payload := strings.TrimSpace(strings.TrimPrefix(u.Message.Text, "/start"))
	b.SendMessage(ctx, &bot.SendMessageParams{
		ChatID: u.Message.Chat.ID,
		Text:   subscribe(ctx, u.Message.Chat.ID, payload),
	})
}

// start, the README's go-telegram/bot adapter, has no use beside
// go-telegram-bot-api; it is kept so that the README's block is whole.
var _ = start
