package main

import (
	"context"
	"errors"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/yespo-go/yespo"
)

// What the bot says. Kept together so that the wording is easy to review and
// to translate.
const (
	textSubscribed     = "You're subscribed: our news will come here. Send /mute to pause it, /unmute to resume."
	textAskPhone       = "To subscribe, share your phone number with the button below."
	textBadLink        = "This link doesn't work. Open it again from our website, or send /start to subscribe with your phone number."
	textNotYourContact = "Please share your own phone number, with the button below."
	textBadPhone       = "We can't use that number. Please share your own phone number with the button below."
	textNotSubscribed  = "You're not subscribed yet: send /start first."
	textUnmuted        = "Unmuted: our news will come here again."
	textHelp           = "Send /start to subscribe, /mute to pause our news (e.g. /mute 2h), /unmute to resume."
	textTryLater       = "Sorry, something went wrong on our side. Please try again later."
)

var (
	phoneKeyboard = &models.ReplyKeyboardMarkup{
		Keyboard:       [][]models.KeyboardButton{{{Text: "Share my phone number", RequestContact: true}}},
		ResizeKeyboard: true, OneTimeKeyboard: true,
	}
	removeKeyboard = &models.ReplyKeyboardRemove{RemoveKeyboard: true}
)

func textMuted(d time.Duration) string {
	if d == 0 {
		return "Muted until you send /unmute."
	}
	return "Muted for " + humanDuration(d) + ". Send /unmute to get our news sooner."
}

// reply sends text to chat. A failure is logged, never fatal: in particular
// a user who blocked the bot (403) is skipped.
func (a *app) reply(ctx context.Context, chat int64, text string, markup models.ReplyMarkup) {
	_, err := a.tg.SendMessage(ctx, &bot.SendMessageParams{ChatID: chat, Text: text, ReplyMarkup: markup})
	switch {
	case errors.Is(err, bot.ErrorForbidden):
		a.log.Warn("reply not delivered: the user blocked the bot", "chat", chat)
	case err != nil:
		a.log.Error("reply not delivered", "chat", chat, "err", err)
	}
}

// yespoFailed logs a Yespo error and tells the user to try again, with the
// wait when Yespo asked for one.
func (a *app) yespoFailed(ctx context.Context, chat int64, op string, err error) {
	a.log.Error("yespo "+op+" failed", "chat", chat, "err", err)
	text := textTryLater
	var apiErr *yespo.APIError
	if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
		text = "Sorry, we're busy. Please try again in " + humanDuration(apiErr.RetryAfter) + "."
	}
	a.reply(ctx, chat, text, nil)
}
