package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/telegramtest"
)

// brokenJournal is the bot's journal with writes that fail while broken is
// set, as on a full or read-only disk.
type brokenJournal struct {
	yespo.Journal
	broken atomic.Bool
}

func (j *brokenJournal) Append(ctx context.Context, records []yespo.JournalRecord) ([]yespo.JournalEntry, error) {
	if j.broken.Load() {
		return nil, errors.New("write /data/bot.journal: no space left on device")
	}
	return j.Journal.Append(ctx, records)
}

// withBrokenJournal makes the bots the test starts use a brokenJournal.
func withBrokenJournal(t *testing.T) *brokenJournal {
	bj := &brokenJournal{}
	orig := openFileJournal
	openFileJournal = func(path string, log *slog.Logger) (yespo.Journal, func() error, error) {
		j, closer, err := orig(path, log)
		bj.Journal = j
		return bj, closer, err
	}
	t.Cleanup(func() { openFileJournal = orig })
	return bj
}

// An update whose token the journal could not keep is not confirmed to
// Telegram: the webhook answers 500, Telegram sends it again, and once the
// journal takes writes the user is subscribed. Nobody is told "subscribed"
// meanwhile.
func TestWebhookAnswers500WhileTheJournalFails(t *testing.T) {
	bj := withBrokenJournal(t)
	bj.broken.Store(true)
	tg := telegramtest.NewServer(telegramtest.WithWebhookRetry(100, 20*time.Millisecond))
	t.Cleanup(tg.Close)
	_, ys, cfg := fakes(t)
	cfg.telegramToken, cfg.telegramURL = tg.Token, tg.URL
	a, err := newApp(bounded(t), cfg, slog.New(slog.NewTextHandler(&lineBuffer{}, nil)))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.serveWebhook(ctx, ln, "http://"+ln.Addr().String()+"/telegram") }()
	_, err = tg.WaitWebhook(bounded(t))
	require.NoError(t, err)

	ann := tg.NewUser(1001, "Ann")
	id := ann.Send("/start " + signed(t, "crm-42"))
	waitFor(t, func() bool { return len(tg.Deliveries()) >= 2 }) // refused twice, at least
	for _, d := range tg.Deliveries() {
		assert.Equal(t, 500, d.Status)
	}
	assert.Empty(t, ann.Messages(), "nobody told \"subscribed\" while the token is not kept")
	status := readyStatus(a)
	assert.ErrorContains(t, status, "no space left on device", "/readyz fails")

	bj.broken.Store(false)
	require.NoError(t, tg.WaitConfirmed(bounded(t), id))
	got, err := ann.WaitMessages(bounded(t), 1)
	require.NoError(t, err)
	assert.Equal(t, textSubscribed, got[0].Text)
	settled(t, a)
	_, ok := ys.ContactByToken(cfg.appUUID, "1001")
	assert.True(t, ok)
	assert.NoError(t, readyStatus(a))
	stop()
	require.NoError(t, <-served)
}

// Long polling: the update is handled again until the journal keeps it,
// and only then confirmed.
func TestPollingRetriesWhileTheJournalFails(t *testing.T) {
	bj := withBrokenJournal(t)
	bj.broken.Store(true)
	h := startBot(t)
	ann := h.tg.NewUser(1001, "Ann")
	id := ann.Send("/start " + signed(t, "crm-42"))
	waitFor(t, func() bool { return h.bot.health.updatesFailed.Load() >= 2 }) // tried, and tried again
	assert.Equal(t, 1, h.tg.PendingUpdates(), "not confirmed to Telegram")
	assert.Empty(t, ann.Messages())
	bj.broken.Store(false)
	require.NoError(t, h.tg.WaitConfirmed(bounded(t), id))
	got, err := ann.WaitMessages(bounded(t), 1)
	require.NoError(t, err)
	assert.Equal(t, []string{textSubscribed}, texts(got))
	_, ok := h.contactOf(ann)
	assert.True(t, ok)
}

// readyStatus is what /readyz would say.
func readyStatus(a *app) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	return a.ready(ctx)
}

// waitFor waits until cond holds, checking every 10 ms, and fails the test
// after waitLimit.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for ctx := bounded(t); !cond(); time.Sleep(10 * time.Millisecond) {
		require.NoError(t, ctx.Err(), "the condition never held")
	}
}
