package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespotest"
)

// What a user hears, and the log says, when Yespo fails.

// A bot configured with an app Yespo does not know: a configuration error
// in the log, "unavailable" to the user — not "you're not subscribed".
func TestUnregisteredAppIsAConfigurationError(t *testing.T) {
	tg, ys, cfg := fakes(t)
	cfg.appUUID = testApp // valid, but never registered with the fake
	h := startBotOn(t, tg, ys, cfg, nil)
	ann := h.tg.NewUser(1001, "Ann")
	for _, text := range []string{"/start " + signed(t, "crm-42"), "/mute 1h", "/unmute"} {
		assert.Equal(t, []string{textUnavailable}, texts(h.say(ann, text)), text)
	}
	log := h.log()
	assert.Contains(t, log, `level=ERROR msg="configuration error: Yespo refuses YESPO_API_KEY or YESPO_APP_UUID; users are told the service is unavailable, their tokens are kept" app=`+testApp)
	assert.Contains(t, log, `level=ERROR msg="kept in the journal; Yespo refuses the bot's configuration, so the user was told the service is unavailable" chat=1001`)
	assert.Contains(t, log, `level=ERROR msg="configuration error: YESPO_APP_UUID is not a bot connected in Yespo" app=`+testApp+` op=mute chat=1001`)
	assert.Contains(t, log, `op=unmute`)
	assert.NotContains(t, log, ys.APIKey)
}

func TestWrongAPIKeyIsAConfigurationError(t *testing.T) {
	tg, ys, cfg := fakes(t)
	cfg.yespoKey = "wrong-key"
	h := startBotOn(t, tg, ys, cfg, nil)
	assert.Equal(t, []string{textUnavailable}, texts(h.say(h.tg.NewUser(1001, "Ann"), "/start "+signed(t, "crm-42"))))
	assert.Contains(t, h.log(), `msg="configuration error: Yespo refuses YESPO_API_KEY or YESPO_APP_UUID`)
	assert.Equal(t, 1, h.bot.batch.Stats().JournalDepth, "the token waits in the journal for a key Yespo accepts")
}

func TestYespoErrorsTellTheUserToTryLater(t *testing.T) {
	h := startBot(t, yespo.WithRetry(0, 0, 0))
	ann := h.tg.NewUser(1001, "Ann")
	start := "/start " + signed(t, "crm-42")

	h.say(ann, start)
	_, ok := h.contactOf(ann)
	require.True(t, ok)
	h.ys.FailNext(1, yespotest.Fault{Status: 503})
	assert.Equal(t, []string{textTryLater}, texts(h.say(ann, "/mute 1h")))
	assert.Contains(t, h.log(), `msg="yespo mute failed"`)

	h.ys.FailNext(1, yespotest.Fault{Status: 429, RetryAfter: 2 * time.Minute})
	assert.Equal(t, []string{"Sorry, we're busy. Please try again in 2 minutes."}, texts(h.say(ann, "/unmute")))
}

// Yespo failing the tokens (429, 5xx) is none of the user's business: the
// token is in the journal, the user is told "subscribed" at once, and the
// token reaches Yespo when Yespo takes it.
func TestYespoFailingTheTokensStillSubscribes(t *testing.T) {
	for _, fault := range []yespotest.Fault{{Status: 429, RetryAfter: 2 * time.Minute}, {Status: 500}, {Status: 503}} {
		tg, ys, cfg := fakes(t)
		h := startBotOn(t, tg, ys, cfg, nil, yespo.WithRetry(0, 0, 0))
		h.ys.FailNext(1, fault)
		ann := h.tg.NewUser(1001, "Ann")
		assert.Equal(t, []string{textSubscribed}, texts(h.say(ann, "/start "+signed(t, "crm-42"))), fault.Status)
		if fault.RetryAfter > 0 {
			assert.Equal(t, 1, h.bot.batch.Stats().JournalDepth, "held in the journal while Yespo asks to wait")
			continue
		}
		_, stored := h.contactOf(ann)
		assert.True(t, stored, "sent again once Yespo took it: %d", fault.Status)
	}
}
