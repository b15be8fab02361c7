package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/telegramtest"
	"github.com/yespo-go/yespo/yespotest"
)

// waitLimit bounds every wait of the tests; the waits end on a condition,
// normally within milliseconds.
const waitLimit = 10 * time.Second

func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

// harness is the real bot, long polling a fake Telegram, on a fake Yespo.
type harness struct {
	t    *testing.T
	tg   *telegramtest.Server
	ys   *yespotest.Server
	app  string // the Yespo app UUID
	bot  *app
	logs *lineBuffer
	sent int // updates sent so far
}

// fakes starts a fake Telegram and a fake Yespo, closed when t ends, and
// the config that points at them.
func fakes(t *testing.T) (*telegramtest.Server, *yespotest.Server, config) {
	tg := telegramtest.NewServer()
	t.Cleanup(tg.Close)
	ys := yespotest.NewServer()
	t.Cleanup(ys.Close)
	cfg := config{telegramToken: tg.Token, telegramURL: tg.URL, yespoKey: ys.APIKey, yespoURL: ys.URL, appUUID: ys.NewApp()}
	return tg, ys, cfg
}

// startBot runs the bot by long polling until the test ends, and then
// checks that it stopped cleanly.
func startBot(t *testing.T, yespoOpts ...yespo.Option) *harness {
	tg, ys, cfg := fakes(t)
	h := &harness{t: t, tg: tg, ys: ys, app: cfg.appUUID, logs: &lineBuffer{}}
	var err error
	h.bot, err = newApp(bounded(t), cfg, slog.New(slog.NewTextHandler(h.logs, nil)), yespoOpts...)
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	polled := make(chan error, 1)
	go func() { polled <- h.bot.poll(ctx) }()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-polled:
			require.NoError(t, err)
		case <-time.After(waitLimit):
			t.Error("the bot did not stop")
		}
	})
	require.NoError(t, tg.WaitPolling(bounded(t)))
	return h
}

// step does one update's worth of scripting, waits until the bot has
// handled it, and returns the messages u got meanwhile.
func (h *harness) step(u *telegramtest.User, do func()) []telegramtest.Message {
	h.t.Helper()
	before := len(u.Messages())
	do()
	h.sent++
	require.NoError(h.t, h.bot.work.waitHandled(bounded(h.t), h.sent), "the bot did not handle update %d", h.sent)
	return u.Messages()[before:]
}

// say sends text from u and returns the bot's answers.
func (h *harness) say(u *telegramtest.User, text string) []telegramtest.Message {
	h.t.Helper()
	return h.step(u, func() { u.Send(text) })
}

// texts returns the texts of msgs.
func texts(msgs []telegramtest.Message) []string {
	var ts []string
	for _, m := range msgs {
		ts = append(ts, m.Text)
	}
	return ts
}

// log returns the bot's log so far.
func (h *harness) log() string {
	return strings.Join(h.logs.take(), "\n")
}

// contactOf returns the contact holding u's token in Yespo.
func (h *harness) contactOf(u *telegramtest.User) (yespotest.Contact, bool) {
	return h.ys.ContactByToken(h.app, yespo.TelegramToken(u.ID))
}

// phoneKeyboardButtons is the request_contact keyboard as the fake sees it.
var phoneKeyboardButtons = [][]telegramtest.Button{{{Text: "Share my phone number", RequestContact: true}}}
