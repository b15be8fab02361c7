package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// In webhook mode the bot registers its URL and secret with setWebhook, and
// the fake Telegram POSTs each update to it, as Telegram does.
func TestWebhookMode(t *testing.T) {
	tg, ys, cfg := fakes(t)
	logs := &lineBuffer{}
	a, err := newApp(bounded(t), cfg, slog.New(slog.NewTextHandler(logs, nil)))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hookURL := "http://" + ln.Addr().String() + "/telegram"
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() { served <- a.serveWebhook(ctx, ln, hookURL) }()

	hook, err := tg.WaitWebhook(bounded(t))
	require.NoError(t, err)
	assert.Equal(t, hookURL, hook.URL)
	assert.Equal(t, webhookSecret(cfg), hook.SecretToken, "derived from the bot token: every replica registers the same")
	assert.Regexp(t, `^[0-9a-f]{64}$`, hook.SecretToken)

	// A POST without the secret is not an update: a forged contact must not
	// register anything.
	forged := `{"update_id":9,"message":{"message_id":1,"date":1,"chat":{"id":666,"type":"private"},
		"from":{"id":666,"is_bot":false,"first_name":"Mallory"},"contact":{"phone_number":"15550100009","first_name":"M","user_id":666}}}`
	resp, err := http.Post(hookURL, "application/json", strings.NewReader(forged))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, err = http.Get(hookURL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	ann := tg.NewUser(1001, "Ann")
	ann.Send("/start " + signed(t, "crm-42"))
	require.NoError(t, a.work.waitHandled(bounded(t), 1))
	assert.Equal(t, []string{textSubscribed}, texts(ann.Messages()))
	assert.Empty(t, tg.Webhook().LastError)
	_, ok := ys.ContactByToken(cfg.appUUID, "666")
	assert.False(t, ok, "the forged update was dropped")
	settled(t, a)
	assert.Len(t, ys.Contacts(), 1)
	assert.Contains(t, strings.Join(logs.take(), "\n"), "invalid webhook secret token")

	stop()
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(waitLimit):
		t.Fatal("the webhook server did not stop")
	}
	assert.Equal(t, hookURL, tg.Webhook().URL, "the webhook stays registered for the next instance")
	_, err = net.Dial("tcp", ln.Addr().String())
	assert.Error(t, err, "the listener is closed")
}

// With the right secret, a body over 1 MiB or one that is not an update is
// refused with 400, and the log says why in one bounded line, never with
// the body.
func TestWebhookBoundsWhatABadRequestCosts(t *testing.T) {
	tg, _, cfg := fakes(t)
	logs := &lineBuffer{}
	a, err := newApp(bounded(t), cfg, slog.New(slog.NewTextHandler(logs, nil)))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hookURL := "http://" + ln.Addr().String() + "/telegram"
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.serveWebhook(ctx, ln, hookURL) }()
	_, err = tg.WaitWebhook(bounded(t))
	require.NoError(t, err)

	post := func(body string) int {
		req, err := http.NewRequest(http.MethodPost, hookURL, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", webhookSecret(cfg))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	huge := `{"update_id":1,"message":{"text":"` + strings.Repeat("x", 2<<20) + `"}}`
	assert.Equal(t, http.StatusBadRequest, post(huge))
	assert.Equal(t, http.StatusBadRequest, post("not json "+strings.Repeat("y", 900<<10)))
	log := strings.Join(logs.take(), "\n")
	assert.Contains(t, log, "undecodable update")
	assert.Less(t, len(log), 4<<10, "the log holds no body")
	assert.NotContains(t, log, "xxxxxxxx")
	stop()
	require.NoError(t, <-served)
}
