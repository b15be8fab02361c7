package main

import (
	"context"
	"errors"
	"strings"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/yespo-go/yespo"
)

// The handlers run only for private chats (see privateOnly), where the chat
// id is the user's id and the subscriber's Yespo token.

// onStart subscribes by the customer id in a deep link's payload
// ("/start PAYLOAD"), or, for a bare /start, asks for the phone number.
func (a *app) onStart(ctx context.Context, _ *bot.Bot, u *models.Update) {
	chat := u.Message.Chat.ID
	payload := commandArg(u.Message)
	if payload == "" {
		a.reply(ctx, chat, textAskPhone, phoneKeyboard)
		return
	}
	id, err := DecodeStartPayload(payload)
	if err != nil {
		a.log.Info("bad start payload", "chat", chat, "err", err)
		a.reply(ctx, chat, textBadLink, nil)
		return
	}
	a.subscribe(ctx, chat, yespo.Token{Token: yespo.TelegramToken(chat), ExternalCustomerID: id}, nil)
}

// onContact subscribes by a shared phone number, but only the sender's own:
// anyone can share any card from their phone book, and registering it would
// send someone else's newsletters here.
func (a *app) onContact(ctx context.Context, _ *bot.Bot, u *models.Update) {
	m := u.Message
	if m.From == nil || m.Contact.UserID != m.From.ID {
		a.log.Info("refused a contact that is not the sender's", "chat", m.Chat.ID)
		a.reply(ctx, m.Chat.ID, textNotYourContact, phoneKeyboard)
		return
	}
	phone, err := yespo.NormalizePhone(m.Contact.PhoneNumber)
	if err != nil {
		a.log.Info("unusable phone number", "chat", m.Chat.ID, "err", err)
		a.reply(ctx, m.Chat.ID, textBadPhone, phoneKeyboard)
		return
	}
	a.subscribe(ctx, m.Chat.ID, yespo.Token{Token: yespo.TelegramToken(m.Chat.ID), Phone: phone}, removeKeyboard)
}

// subscribe registers tok with Yespo and confirms with markup, or says to try
// again later.
func (a *app) subscribe(ctx context.Context, chat int64, tok yespo.Token, markup models.ReplyMarkup) {
	if err := a.yespo.AddAppTokens(ctx, a.cfg.appUUID, []yespo.Token{tok}); err != nil {
		a.yespoFailed(ctx, chat, "add token", err)
		return
	}
	by, _ := tok.PrimaryIdentifier()
	a.log.Info("subscribed", "chat", chat, "by", by.Kind.String()) // not the value: it may be a phone number
	a.reply(ctx, chat, textSubscribed, markup)
}

// onMute pauses newsletters for the duration given, or until /unmute.
func (a *app) onMute(ctx context.Context, _ *bot.Bot, u *models.Update) {
	chat := u.Message.Chat.ID
	d, err := parseMuteDuration(commandArg(u.Message))
	if err != nil {
		a.reply(ctx, chat, muteUsage, nil)
		return
	}
	err = a.yespo.MuteAppToken(ctx, a.cfg.appUUID, yespo.TelegramToken(chat), d)
	if a.tokenFailed(ctx, chat, "mute", err) {
		return
	}
	duration := "until /unmute"
	if d > 0 {
		duration = d.String()
	}
	a.log.Info("muted", "chat", chat, "duration", duration)
	a.reply(ctx, chat, textMuted(d), nil)
}

// onUnmute lets newsletters through again.
func (a *app) onUnmute(ctx context.Context, _ *bot.Bot, u *models.Update) {
	chat := u.Message.Chat.ID
	err := a.yespo.UnmuteAppToken(ctx, a.cfg.appUUID, yespo.TelegramToken(chat))
	if a.tokenFailed(ctx, chat, "unmute", err) {
		return
	}
	a.log.Info("unmuted", "chat", chat)
	a.reply(ctx, chat, textUnmuted, nil)
}

// tokenFailed answers a failed mute or unmute and reports whether err is one.
// A 404 means that no contact holds the token — the user never subscribed,
// or Yespo dropped the token after the user blocked the bot — so /start is
// the way on. (An unknown app is a 404 too; the log shows which.)
func (a *app) tokenFailed(ctx context.Context, chat int64, op string, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, yespo.ErrNotFound):
		a.log.Warn("yespo "+op+": not found", "chat", chat, "err", err)
		a.reply(ctx, chat, textNotSubscribed, nil)
	default:
		a.yespoFailed(ctx, chat, op, err)
	}
	return true
}

// onOther answers any other message with the commands; other kinds of
// updates (edits, reactions…) are left alone.
func (a *app) onOther(ctx context.Context, _ *bot.Bot, u *models.Update) {
	if u.Message == nil {
		a.log.Debug("ignored update", "update", u.ID)
		return
	}
	a.reply(ctx, u.Message.Chat.ID, textHelp, nil)
}

// commandArg returns what follows the command that starts m's text.
func commandArg(m *models.Message) string {
	fields := strings.Fields(m.Text)
	if len(fields) == 0 {
		return ""
	}
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(m.Text), fields[0]))
}
