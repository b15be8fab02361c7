// Package subscribe is the part of the recipes that knows no Telegram
// library: it registers the sender of /start PAYLOAD (a deep link signed
// with package deeplink) with Yespo, and returns once Yespo has the token.
// Each recipe's handler calls it from its library's dispatch.
package subscribe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/deeplink"
)

// Service subscribes users to one Yespo app.
type Service struct {
	batcher *yespo.Batcher
	secret  []byte
}

// FromEnv makes the Yespo client of YESPO_API_KEY (at YESPO_BASE_URL if
// set) and its Batcher for YESPO_APP_UUID, with TELEGRAM_LINK_SECRET to
// verify deep links, after the start-up check: yespo's CheckApp. It fails
// when Yespo refuses the key or the app (ErrUnauthorized, ErrForbidden,
// ErrAppNotFound); an outage only logs a warning, since the Batcher waits
// for Yespo anyway.
func FromEnv(ctx context.Context) (*Service, error) {
	var opts []yespo.Option
	if u := os.Getenv("YESPO_BASE_URL"); u != "" {
		opts = append(opts, yespo.WithBaseURL(u))
	}
	client, err := yespo.NewClient(os.Getenv("YESPO_API_KEY"), opts...)
	if err != nil {
		return nil, err
	}
	app := os.Getenv("YESPO_APP_UUID")
	check, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	switch err := client.CheckApp(check, app); {
	case errors.Is(err, yespo.ErrUnauthorized), errors.Is(err, yespo.ErrForbidden),
		errors.Is(err, yespo.ErrAppNotFound), errors.Is(err, yespo.ErrInvalidInput):
		return nil, fmt.Errorf("yespo refuses the configuration: %w", err)
	case err != nil:
		slog.Warn("yespo: no verdict on the key and app yet", "err", err)
	}
	batcher, err := client.NewBatcher(app, yespo.BatcherOptions{})
	if err != nil {
		return nil, err
	}
	return &Service{batcher: batcher, secret: []byte(os.Getenv("TELEGRAM_LINK_SECRET"))}, nil
}

// Start handles /start PAYLOAD from chat and returns the reply. An error
// means the token is not kept (Yespo has not confirmed it): the update must
// not be confirmed to Telegram, which then sends it again.
func (s *Service) Start(ctx context.Context, chat int64, payload string) (string, error) {
	customerID, err := deeplink.Verify(s.secret, payload)
	if err != nil { // not the shop's link, or an old one: nothing to keep
		return "This link is not valid; please ask for a new one.", nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = s.batcher.AddAndWait(ctx, yespo.Token{Token: yespo.TelegramToken(chat), ExternalCustomerID: customerID})
	if err != nil {
		return "", fmt.Errorf("chat %d not subscribed: %w", chat, err)
	}
	return "Subscribed!", nil
}

// Close sends what the Batcher still holds, for at most 5 s.
func (s *Service) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.batcher.Close(ctx); err != nil {
		slog.Warn("yespo: tokens not sent at stop", "err", err)
	}
}
