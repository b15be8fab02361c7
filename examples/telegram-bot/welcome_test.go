package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yesporedis/redistest"
	"github.com/yespo-go/yespo/yespotest"
)

// welcomeType is the event type of the tests, the one the issue names.
const welcomeType = "telegram_subscribed"

// -welcome-event and YESPO_WELCOME_EVENT: off by default, the flag wins,
// and a name Yespo would refuse stops the built bot at start with exit
// status 2 and the rule it broke, before any network call.
func TestWelcomeEventConfig(t *testing.T) {
	env := map[string]string{"TELEGRAM_BOT_TOKEN": "1:x", "YESPO_API_KEY": "k", "YESPO_APP_UUID": testApp}
	cfg, err := parseConfig(nil, getenv(env), io.Discard)
	require.NoError(t, err)
	assert.Empty(t, cfg.welcomeEvent, "off by default")

	env["YESPO_WELCOME_EVENT"] = "from_env"
	cfg, err = parseConfig(nil, getenv(env), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "from_env", cfg.welcomeEvent)
	cfg, err = parseConfig([]string{"-welcome-event", welcomeType}, getenv(env), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, welcomeType, cfg.welcomeEvent, "the flag wins")

	var help bytes.Buffer
	require.ErrorIs(t, run(context.Background(), []string{"-h"}, getenv(nil), io.Discard, &help), flag.ErrHelp)
	assert.Contains(t, help.String(), "-welcome-event")
	assert.Contains(t, help.String(), "(env YESPO_WELCOME_EVENT)")

	builtBot(t) // before runCommand's bounded wait starts
	cases := []struct {
		name, flag, env, rule string
	}{
		{"slash", "telegram/subscribed", "", `must not contain '/' (found at byte 8)`},
		{"comma in env", "", "welcome,new", `must not contain ','`},
		{"apostrophe", "it’s_new", "", `must not contain '’'`},
		{"too long", strings.Repeat("e", 101), "", "must be at most 100 characters, got 101"},
		{"control character", "a\tb", "", "must not contain control characters"},
	}
	for _, c := range cases {
		vars := map[string]string{"TELEGRAM_BOT_TOKEN": "1:x", "YESPO_API_KEY": "k", "YESPO_APP_UUID": testApp}
		var args []string
		if c.flag != "" {
			args = []string{"-welcome-event", c.flag}
		}
		if c.env != "" {
			vars["YESPO_WELCOME_EVENT"] = c.env
		}
		stdout, stderr, status := runCommand(t, vars, args...)
		assert.Equal(t, 2, status, c.name)
		assert.Empty(t, stdout, c.name)
		assert.True(t, strings.HasPrefix(stderr, "telegram-bot: YESPO_WELCOME_EVENT (-welcome-event): yespo: invalid eventTypeKey: "), "%s: %q", c.name, stderr)
		assert.Contains(t, stderr, c.rule, c.name)
	}
}

// The event's params, from what Telegram gave: optional ones only when
// present; keyValue is the identifier unless it holds a character Yespo
// forbids there, and the identifier param is always there.
func TestWelcomeEventParams(t *testing.T) {
	full := &models.User{ID: 1001, FirstName: "Ann", Username: "ann_k", LanguageCode: "uk"}
	ev := welcomeEvent(welcomeType, yespo.Token{Token: "1001", ExternalCustomerID: "crm-42"}, full, sourceLink)
	assert.Equal(t, yespo.Event{TypeKey: welcomeType, KeyValue: "crm-42", Params: []yespo.EventParam{
		{Name: "telegramChatId", Value: "1001"}, {Name: "externalCustomerId", Value: "crm-42"},
		{Name: "telegramUsername", Value: "ann_k"}, {Name: "firstName", Value: "Ann"}, {Name: "languageCode", Value: "uk"},
		{Name: "source", Value: "link"},
	}}, ev)
	require.NoError(t, ev.Validate())

	ev = welcomeEvent(welcomeType, yespo.Token{Token: "1002", Phone: "+380501234567"}, &models.User{ID: 1002, FirstName: "Bob"}, sourcePhone)
	assert.Equal(t, yespo.Event{TypeKey: welcomeType, KeyValue: "+380501234567", Params: []yespo.EventParam{
		{Name: "telegramChatId", Value: "1002"}, {Name: "phone", Value: "+380501234567"},
		{Name: "firstName", Value: "Bob"}, {Name: "source", Value: "phone"},
	}}, ev)

	ev = welcomeEvent(welcomeType, yespo.Token{Token: "1003", ExternalCustomerID: "shop/7,eu"}, nil, sourceLink)
	assert.Equal(t, yespo.Event{TypeKey: welcomeType, Params: []yespo.EventParam{
		{Name: "telegramChatId", Value: "1003"}, {Name: "externalCustomerId", Value: "shop/7,eu"}, {Name: "source", Value: "link"},
	}}, ev, "no keyValue: Yespo forbids / and , there")
	require.NoError(t, ev.Validate())

	// An id no event can name (blank) leaves the token alone, with a warning
	// that never shows the id.
	var logs bytes.Buffer
	a := &app{cfg: config{welcomeEvent: welcomeType}, log: slog.New(slog.NewTextHandler(&logs, nil))}
	assert.Nil(t, a.welcomeFor(yespo.Token{Token: "1004", ExternalCustomerID: "   "}, full, sourceLink))
	assert.Contains(t, logs.String(), `msg="welcome event not sent`)
	assert.NotNil(t, a.welcomeFor(yespo.Token{Token: "1001", ExternalCustomerID: "crm-42"}, full, sourceLink))
	a.cfg.welcomeEvent = ""
	assert.Nil(t, a.welcomeFor(yespo.Token{Token: "1001", ExternalCustomerID: "crm-42"}, full, sourceLink), "off")
}

// Through the bot: a deep link, a shared phone number and an id with
// forbidden characters each give one event, after the token's 2xx, with
// the params the workflow reads; without the flag there is none.
func TestWelcomeEventsFromTheBot(t *testing.T) {
	tg, ys, cfg := fakes(t)
	cfg.welcomeEvent = welcomeType
	h := startBotOn(t, tg, ys, cfg, nil)
	ann, bob, cat := tg.NewUser(1001, "Ann"), tg.NewUser(1002, "Bob"), tg.NewUser(1003, "Cat")
	assert.Equal(t, []string{textSubscribed}, texts(h.say(ann, "/start "+signed(t, "crm-42"))))
	h.say(bob, "/start")
	assert.Equal(t, []string{textSubscribed}, texts(h.step(bob, func() { bob.ShareContact("380 50 123 45 67") })))
	assert.Equal(t, []string{textSubscribed}, texts(h.say(cat, "/start "+signed(t, "shop/7"))))

	evs := waitEvents(t, ys, 3)
	byChat := map[string]yespotest.Event{}
	for _, ev := range evs {
		p := params(t, ev)
		byChat[p["telegramChatId"]] = ev
		added, ok := ys.TokenAddedAt(h.app, p["telegramChatId"])
		require.True(t, ok, "event for a token Yespo never had: %v", p)
		assert.True(t, ev.Time.After(added), "event before its token's 2xx: %v", p)
		assert.Equal(t, welcomeType, ev.TypeKey)
	}
	assert.Equal(t, "crm-42", byChat["1001"].KeyValue)
	assert.Equal(t, map[string]string{"telegramChatId": "1001", "externalCustomerId": "crm-42", "firstName": "Ann", "source": "link"},
		params(t, byChat["1001"]))
	assert.Equal(t, "+380501234567", byChat["1002"].KeyValue)
	assert.Equal(t, map[string]string{"telegramChatId": "1002", "phone": "+380501234567", "firstName": "Bob", "source": "phone"},
		params(t, byChat["1002"]))
	assert.Empty(t, byChat["1003"].KeyValue)
	assert.Equal(t, "shop/7", params(t, byChat["1003"])["externalCustomerId"])

	off := startBot(t)
	dan := off.tg.NewUser(1004, "Dan")
	off.say(dan, "/start "+signed(t, "crm-44"))
	_, ok := off.contactOf(dan)
	require.True(t, ok)
	assert.Empty(t, off.ys.Events(), "no event without -welcome-event")
}

// waitEvents waits until ys has accepted at least n events, checking every
// 10 ms, and returns them; it fails the test after waitLimit.
func waitEvents(t testing.TB, ys *yespotest.Server, n int) []yespotest.Event {
	t.Helper()
	ctx := bounded(t)
	for {
		evs := ys.Events()
		if len(evs) >= n {
			return evs
		}
		require.NoError(t, ctx.Err(), "%d of %d events arrived", len(evs), n)
		time.Sleep(10 * time.Millisecond)
	}
}

// params returns ev's params that are JSON strings, by name.
func params(t testing.TB, ev yespotest.Event) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, p := range ev.Params {
		raw, ok := p.Value.(json.RawMessage)
		require.True(t, ok, "param %s is %T", p.Name, p.Value)
		var s string
		require.NoError(t, json.Unmarshal(raw, &s), "param %s = %s", p.Name, raw)
		m[p.Name] = s
	}
	return m
}

// An event Yespo refuses for good (400) is logged with Yespo's words and
// leaves the journal: the subscriber stays registered, the bot goes on.
func TestWelcomeEventRefusedIsLogged(t *testing.T) {
	tg, ys, cfg := fakes(t)
	cfg.welcomeEvent = welcomeType
	h := startBotOn(t, tg, ys, cfg, nil)
	ys.FailNextEvents(1, yespotest.Fault{Status: 400, Body: `{"errors":[{"field":"firstName","message":"too long"}]}`})
	ann := tg.NewUser(1001, "Ann")
	assert.Equal(t, []string{textSubscribed}, texts(h.say(ann, "/start "+signed(t, "crm-42"))))
	settled(t, h.bot)
	_, ok := ys.ContactByToken(h.app, "1001")
	assert.True(t, ok)
	assert.Empty(t, ys.Events())
	assert.Equal(t, int64(1), h.bot.batch.Stats().EventsFailed)
	want := regexp.MustCompile(`level=ERROR msg="yespo refused the welcome event; the subscriber is registered without it" chat=1001 event=telegram_subscribed err=.*too long`)
	var logs strings.Builder
	for ctx := bounded(t); !want.MatchString(logs.String()); { // OnEvent runs on a goroutine of its own
		require.NoError(t, ctx.Err(), "no such line in %s", logs.String())
		time.Sleep(10 * time.Millisecond)
		logs.WriteString(h.log())
	}
}

// With YESPO_REDIS_URL the welcome events draw from Generate event's own
// budget in Redis (yespo:account:event), which the replicas share, apart
// from the account's.
func TestWelcomeEventsShareTheirBudgetInRedis(t *testing.T) {
	rs := redistest.Start(t)
	tg, ys, cfg := fakes(t)
	cfg.redisURL, cfg.welcomeEvent = rs.URL(), welcomeType
	h := startBotOn(t, tg, ys, cfg, nil)
	h.say(tg.NewUser(1001, "Ann"), "/start "+signed(t, "crm-42"))
	waitEvents(t, ys, 1)
	for _, key := range []string{"rate:" + accountBudgetKey, "rate:" + accountBudgetKey + ":event"} {
		n, err := rs.Client().Exists(context.Background(), key).Result()
		require.NoError(t, err)
		assert.Equal(t, int64(1), n, "%s: the request waited its turn in Redis", key)
	}
}
