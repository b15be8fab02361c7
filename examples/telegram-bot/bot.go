package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/yespo-go/yespo"
)

// app is the bot: a Telegram client, a Yespo client, and the handlers
// between them.
type app struct {
	cfg      config
	tg       *bot.Bot
	yespo    *yespo.Client
	log      *slog.Logger
	work     *tracker
	username string // the bot's, from getMe
	secret   string // webhook secret token, new on every start
}

// getMeTimeout bounds the first call to Telegram, which checks the token.
const getMeTimeout = 15 * time.Second

// newApp sets up the Yespo client and connects to Telegram (getMe, which
// checks the token); yespoOpts come after the configured ones.
func newApp(ctx context.Context, cfg config, log *slog.Logger, yespoOpts ...yespo.Option) (*app, error) {
	a := &app{cfg: cfg, log: log, work: newTracker(), secret: newSecret()}
	opts := append([]yespo.Option{
		yespo.WithBaseURL(cfg.yespoURL),
		yespo.WithUserAgent("yespo-telegram-bot"),
		yespo.WithLogger(log),
	}, yespoOpts...)
	var err error
	if a.yespo, err = yespo.NewClient(cfg.yespoKey, opts...); err != nil {
		return nil, err
	}
	a.tg, err = bot.New(cfg.telegramToken,
		bot.WithServerURL(cfg.telegramURL),
		bot.WithSkipGetMe(), // called below, with a clearer error
		bot.WithMiddlewares(a.work.middleware, a.privateOnly),
		bot.WithDefaultHandler(a.onOther),
		bot.WithMessageTextHandler("start", bot.MatchTypeCommandStartOnly, a.onStart),
		bot.WithMessageTextHandler("mute", bot.MatchTypeCommandStartOnly, a.onMute),
		bot.WithMessageTextHandler("unmute", bot.MatchTypeCommandStartOnly, a.onUnmute),
		bot.WithWebhookSecretToken(a.secret),
		bot.WithErrorsHandler(func(err error) { log.Error("telegram", "err", err) }),
	)
	if err != nil {
		return nil, err
	}
	a.tg.RegisterHandlerMatchFunc(isContact, a.onContact)
	ctx, cancel := context.WithTimeout(ctx, getMeTimeout)
	defer cancel()
	me, err := a.tg.GetMe(ctx)
	if err != nil {
		return nil, fmt.Errorf("telegram getMe at %s (is TELEGRAM_BOT_TOKEN right?): %w", cfg.telegramURL, err)
	}
	a.username = me.Username
	return a, nil
}

// newSecret makes the webhook secret: Telegram sends it back with every
// update, which tells real updates from anyone else's POST — a forged one
// could otherwise register any phone number for any chat.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails, per crypto/rand
	return hex.EncodeToString(b)
}

// privateOnly lets through updates from private chats only: subscriptions
// are per person, and the chat id is the Yespo token.
func (a *app) privateOnly(next bot.HandlerFunc) bot.HandlerFunc {
	return func(ctx context.Context, b *bot.Bot, u *models.Update) {
		if c := chatOf(u); c != nil && c.Type != models.ChatTypePrivate {
			a.log.Info("ignored update from a non-private chat", "chat", c.ID, "type", c.Type, "update", u.ID)
			return
		}
		next(ctx, b, u)
	}
}

// chatOf returns the chat an update happened in, nil for kinds without one.
func chatOf(u *models.Update) *models.Chat {
	for _, m := range []*models.Message{u.Message, u.EditedMessage, u.ChannelPost, u.EditedChannelPost} {
		if m != nil {
			return &m.Chat
		}
	}
	return nil
}

func isContact(u *models.Update) bool { return u.Message != nil && u.Message.Contact != nil }
