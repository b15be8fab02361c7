package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/telegramtest"
)

// End to end: the bot's own code with go-telegram/bot, against the fake
// Telegram and yespotest. Each user action is one update; the harness waits
// until the bot has handled it before looking at the outcome.

func TestPlainStartAsksForThePhone(t *testing.T) {
	h := startBot(t)
	got := h.say(h.tg.NewUser(1002, "Bob"), "/start")
	require.Len(t, got, 1)
	assert.Equal(t, textAskPhone, got[0].Text)
	assert.Equal(t, phoneKeyboardButtons, got[0].Keyboard)
	assert.Empty(t, yespoCalls(h.ys))
}

func TestOwnContactRegistersThePhone(t *testing.T) {
	h := startBot(t)
	bob := h.tg.NewUser(1002, "Bob")
	h.say(bob, "/start")
	got := h.step(bob, func() { bob.ShareContact("380501234567") }) // Telegram's form: no "+"
	require.Len(t, got, 1)
	assert.Equal(t, textSubscribed, got[0].Text)
	assert.True(t, got[0].RemoveKeyboard, "the phone keyboard goes away")
	c, ok := h.contactOf(bob)
	require.True(t, ok)
	assert.Equal(t, "+380501234567", c.Phone)
	assert.Empty(t, c.ExternalCustomerID)
	assert.NotContains(t, h.log(), "380501234567", "phone numbers stay out of the log")
}

func TestSomeoneElsesContactIsRefused(t *testing.T) {
	h := startBot(t)
	eve := h.tg.NewUser(1003, "Eve")
	for name, card := range map[string]telegramtest.Contact{
		"another user's":   {PhoneNumber: "15550100002", FirstName: "Bob", UserID: 1002},
		"not on Telegram":  {PhoneNumber: "15550100003", FirstName: "Carol"},
		"own but unusable": {PhoneNumber: "0501234567", UserID: 1003}, // no country code
	} {
		got := h.step(eve, func() { eve.ShareContactOf(card) })
		require.Len(t, got, 1, name)
		want := textNotYourContact
		if card.UserID == eve.ID {
			want = textBadPhone
		}
		assert.Equal(t, want, got[0].Text, name)
		assert.Equal(t, phoneKeyboardButtons, got[0].Keyboard, "%s: the button stays", name)
	}
	assert.Empty(t, yespoCalls(h.ys), "nothing was sent to Yespo")
	assert.Contains(t, h.log(), "refused a contact that is not the sender's")
}

func TestMuteAndUnmute(t *testing.T) {
	h := startBot(t)
	ann := h.tg.NewUser(1001, "Ann")
	h.say(ann, "/start "+signed(t, "crm-42"))
	mutedUntil := func() time.Time {
		c, ok := h.contactOf(ann)
		require.True(t, ok)
		return c.Tokens[0].MutedUntil
	}
	cases := []struct {
		text, reply string
		d           time.Duration // -1: until /unmute
	}{
		{"/mute 30m", "Muted for 30 minutes. Send /unmute to get our news sooner.", 30 * time.Minute},
		{"/mute 2h", "Muted for 2 hours. Send /unmute to get our news sooner.", 2 * time.Hour},
		{"/mute 7d", "Muted for 7 days. Send /unmute to get our news sooner.", 7 * day},
		{"/mute", "Muted until you send /unmute.", -1},
		{"/unmute", textUnmuted, 0},
	}
	for _, c := range cases {
		before := time.Now()
		assert.Equal(t, []string{c.reply}, texts(h.say(ann, c.text)), c.text)
		switch got := mutedUntil(); c.d {
		case -1:
			assert.Equal(t, 9999, got.Year(), c.text)
		case 0:
			assert.True(t, got.IsZero(), "%s: %v", c.text, got)
		default:
			assert.WithinRange(t, got, before.Add(c.d), time.Now().Add(c.d), c.text)
		}
	}
}

func TestMuteWithABadDurationExplainsTheFormat(t *testing.T) {
	h := startBot(t)
	ann := h.tg.NewUser(1001, "Ann")
	for _, arg := range []string{"soon", "2s", "366d", "10.5s", "-1h", "2 h"} {
		assert.Equal(t, []string{textMuteUsage}, texts(h.say(ann, "/mute "+arg)), arg)
	}
	assert.Empty(t, yespoCalls(h.ys), "nothing was sent to Yespo")
}

func TestMuteBeforeStartSaysToStart(t *testing.T) {
	h := startBot(t)
	ann := h.tg.NewUser(1001, "Ann")
	assert.Equal(t, []string{textNotSubscribed}, texts(h.say(ann, "/mute 1h")))
	assert.Equal(t, []string{textNotSubscribed}, texts(h.say(ann, "/unmute")))
	assert.Contains(t, h.log(), "Token not found")
}

func TestGroupAndChannelUpdatesAreIgnored(t *testing.T) {
	h := startBot(t)
	ann := h.tg.NewUser(1001, "Ann")
	h.step(ann, func() { ann.SendInGroup(-100, "/start crm-42") })
	h.step(ann, func() { h.tg.PostToChannel(-200, "/start crm-43") })
	assert.Empty(t, h.tg.Messages(-100))
	assert.Empty(t, h.tg.Messages(-200))
	assert.Empty(t, yespoCalls(h.ys))
	log := h.log()
	assert.Contains(t, log, `msg="ignored update from a non-private chat" chat=-100 type=group`)
	assert.Contains(t, log, `msg="ignored update from a non-private chat" chat=-200 type=channel`)
}

func TestBlockedUserIsLoggedAndSkipped(t *testing.T) {
	h := startBot(t)
	dan, ann := h.tg.NewUser(1004, "Dan"), h.tg.NewUser(1001, "Ann")
	dan.Block()
	got := h.say(dan, "/start "+signed(t, "crm-7"))
	require.Len(t, got, 1)
	assert.True(t, got[0].Blocked, "the reply met the 403")
	assert.Contains(t, h.log(), `level=WARN msg="reply not delivered: the user blocked the bot" chat=1004`)
	_, ok := h.contactOf(dan)
	assert.True(t, ok, "the subscription itself went through")

	assert.Equal(t, []string{textSubscribed}, texts(h.say(ann, "/start "+signed(t, "crm-42"))), "the bot carries on")
}

func TestOtherMessagesGetTheCommands(t *testing.T) {
	h := startBot(t)
	assert.Equal(t, []string{textHelp}, texts(h.say(h.tg.NewUser(1001, "Ann"), "hello")))
}

// Telegram's 429 to a reply is waited out as it asks, and the reply sent.
func TestReplyWaitsOutTelegramsRateLimit(t *testing.T) {
	h := startBot(t)
	ann := h.tg.NewUser(1001, "Ann")
	h.tg.LimitNextSends(1, time.Second)
	start := time.Now()
	assert.Equal(t, []string{textHelp}, texts(h.say(ann, "hello")))
	assert.GreaterOrEqual(t, time.Since(start), time.Second, "it waited the retry_after")
	assert.NotContains(t, h.log(), "reply not delivered")
}
