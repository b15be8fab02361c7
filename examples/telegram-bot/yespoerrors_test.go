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
	assert.Contains(t, log, `level=ERROR msg="configuration error: YESPO_APP_UUID is not a bot connected in Yespo" app=`+testApp+` op="add token" chat=1001`)
	assert.Contains(t, log, `op=mute`)
	assert.Contains(t, log, `op=unmute`)
	assert.NotContains(t, log, ys.APIKey)
}

func TestWrongAPIKeyIsAConfigurationError(t *testing.T) {
	tg, ys, cfg := fakes(t)
	cfg.yespoKey = "wrong-key"
	h := startBotOn(t, tg, ys, cfg, nil)
	assert.Equal(t, []string{textUnavailable}, texts(h.say(h.tg.NewUser(1001, "Ann"), "/start "+signed(t, "crm-42"))))
	assert.Contains(t, h.log(), `msg="configuration error: YESPO_API_KEY is wrong or lacks the right for the apps methods"`)
}

func TestYespoErrorsTellTheUserToTryLater(t *testing.T) {
	h := startBot(t, yespo.WithRetry(0, 0, 0))
	ann := h.tg.NewUser(1001, "Ann")
	start := "/start " + signed(t, "crm-42")

	h.ys.FailNext(1, yespotest.Fault{Status: 429})
	assert.Equal(t, []string{"Sorry, we're busy. Please try again in 1 minute."}, texts(h.say(ann, start)))
	assert.Regexp(t, `level=WARN msg="yespo add token: rate limited" chat=1001 err=".*429`, h.log())

	h.ys.FailNext(1, yespotest.Fault{Status: 500})
	assert.Equal(t, []string{textTryLater}, texts(h.say(ann, start)))
	assert.Regexp(t, `level=ERROR msg="yespo add token failed" chat=1001 err=".*500`, h.log())
	_, ok := h.contactOf(ann)
	assert.False(t, ok, "no contact was created")

	h.say(ann, start)
	h.ys.FailNext(1, yespotest.Fault{Status: 503})
	assert.Equal(t, []string{textTryLater}, texts(h.say(ann, "/mute 1h")))
	assert.Contains(t, h.log(), `msg="yespo mute failed"`)

	h.ys.FailNext(1, yespotest.Fault{Status: 429, RetryAfter: 2 * time.Minute})
	assert.Equal(t, []string{"Sorry, we're busy. Please try again in 2 minutes."}, texts(h.say(ann, "/unmute")))
}

// A 429 whose Retry-After is longer than the Batcher pauses for (MaxPause)
// fails the batch at once: the user hears at once how long Yespo asked for,
// and is not left waiting.
func TestLongRateLimitTellsTheUserToComeBack(t *testing.T) {
	tg, ys, cfg := fakes(t)
	h := startBotOn(t, tg, ys, cfg, nil, yespo.WithRetry(0, 0, 0))
	h.ys.FailNext(1, yespotest.Fault{Status: 429, RetryAfter: 2 * time.Minute})
	ann := h.tg.NewUser(1001, "Ann")
	got := h.say(ann, "/start "+signed(t, "crm-42"))
	assert.Equal(t, []string{"Sorry, we're busy. Please try again in 2 minutes."}, texts(got))
	assert.Contains(t, h.log(), `msg="yespo add token: rate limited" chat=1001`)
	require.Len(t, yespoCalls(h.ys), 1, "not sent again behind the user's back")
	_, stored := h.contactOf(ann)
	assert.False(t, stored)
}
