package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/yespo-go/yespo/yespotest"
)

// The environment names are the contract; run reads them, long-polls and
// stops with ctx.
func TestRunFromTheEnvironment(t *testing.T) {
	tg, ys, cfg := fakes(t)
	stop, stderr := runBot(t, []string{"-journal", cfg.journalPath}, contractEnv(t, tg, ys, cfg.appUUID))
	require.NoError(t, tg.WaitPolling(bounded(t)), stderr.String())
	ann := tg.NewUser(1001, "Ann")
	ann.Send("/start " + signed(t, "crm-42"))
	got, err := ann.WaitMessages(bounded(t), 1)
	require.NoError(t, err)
	assert.Equal(t, textSubscribed, got[0].Text)
	require.NoError(t, stop())
	assert.Contains(t, stderr.String(), `msg="bot started: long polling" bot=@YespoDemoBot`)
	assert.Contains(t, stderr.String(), `msg="bot stopped"`)
	assert.NotContains(t, stderr.String(), tg.Token)
	assert.NotContains(t, stderr.String(), ys.APIKey)
	assert.NotContains(t, stderr.String(), testSecret)
	assert.NotContains(t, stderr.String(), "deep links are refused")
}

func TestRunServesTheWebhookWithTheFlag(t *testing.T) {
	tg, ys, cfg := fakes(t)
	stop, stderr := runBot(t, []string{"-webhook", "127.0.0.1:0", "-webhook-url", "https://bot.example/tg"},
		contractEnv(t, tg, ys, cfg.appUUID))
	require.NoError(t, stderr.waitFor(bounded(t), `msg="bot started: webhook" bot=@YespoDemoBot listen=127\.0\.0\.1:\d+ url=https://bot\.example/tg`))
	assert.Equal(t, "https://bot.example/tg", tg.Webhook().URL)
	assert.Equal(t, defaultMaxConns, tg.Webhook().MaxConnections, "setWebhook max_connections matches the listener's cap")
	require.NoError(t, stop())
}

func TestRunFailsOnAWrongTelegramToken(t *testing.T) {
	tg, ys, cfg := fakes(t)
	env := contractEnv(t, tg, ys, cfg.appUUID)
	env["TELEGRAM_BOT_TOKEN"] = "1:wrong"
	err := run(bounded(t), nil, getenv(env), io.Discard, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "TELEGRAM_BOT_TOKEN")
	assert.Contains(t, err.Error(), "unauthorized")
}

// A signal that comes while the bot is still starting is a clean stop too.
func TestStopWhileStartingIsClean(t *testing.T) {
	tg, ys, cfg := fakes(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, args := range [][]string{nil, {"-webhook", "127.0.0.1:0", "-webhook-url", "https://bot.example/tg"}} {
		assert.NoError(t, run(ctx, args, getenv(contractEnv(t, tg, ys, cfg.appUUID)), io.Discard, io.Discard), args)
	}
	assert.Empty(t, tg.Requests(), "it stopped before calling Telegram")
}

// An update in hand when the stop comes is still answered: the handler's
// Yespo call and reply are not cut short, and run returns after them.
func TestStopFinishesTheUpdateInHand(t *testing.T) {
	tg, ys, cfg := fakes(t)
	arrived, release := make(chan struct{}), make(chan struct{})
	target, err := url.Parse(ys.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/tokens") { // not the probe
			close(arrived)
			<-release
		}
		proxy.ServeHTTP(w, r)
	}))
	defer slow.Close()
	env := contractEnv(t, tg, ys, cfg.appUUID)
	env["YESPO_BASE_URL"] = slow.URL + "/api/"

	stop, _ := runBot(t, nil, env)
	require.NoError(t, tg.WaitPolling(bounded(t)))
	ann := tg.NewUser(1001, "Ann")
	ann.Send("/start " + signed(t, "crm-42"))
	select {
	case <-arrived:
	case <-time.After(waitLimit):
		t.Fatal("the bot did not call Yespo")
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	close(release)
	require.NoError(t, <-stopped)
	assert.Equal(t, []string{textSubscribed}, texts(ann.Messages()), "answered before run returned")
	_, ok := ys.ContactByToken(cfg.appUUID, "1001")
	assert.True(t, ok)
}

// A polling bot refuses to start while a webhook is set: another process
// (a replica in webhook mode) may be serving it, and deleting it would take
// its updates silently. -take-over deletes it, and says so.
func TestPollingRefusesASetWebhookUnlessTakingOver(t *testing.T) {
	tg, ys, cfg := fakes(t)
	resp, err := http.Get(tg.URL + "/bot" + tg.Token + "/setWebhook?url=https://old.example/hook")
	require.NoError(t, err)
	resp.Body.Close()
	env := contractEnv(t, tg, ys, cfg.appUUID)

	err = run(bounded(t), []string{"-journal", cfg.journalPath}, getenv(env), io.Discard, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "a webhook is set (https://old.example/hook)")
	assert.Contains(t, err.Error(), "-take-over")
	assert.Equal(t, "https://old.example/hook", tg.Webhook().URL, "left alone")

	stop, stderr := runBot(t, []string{"-journal", cfg.journalPath, "-take-over"}, env)
	require.NoError(t, tg.WaitPolling(bounded(t)), stderr.String())
	assert.Empty(t, tg.Webhook().URL)
	require.NoError(t, stop())
	assert.Contains(t, stderr.String(), `level=WARN msg="-take-over: deleted the webhook; Telegram's updates now come to this process" webhook=https://old.example/hook`)
}

// SIGTERM and SIGINT, sent to a real process running main, stop the bot
// with exit status 0.
func TestSignalsStopTheBot(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM on Windows")
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			tg, ys, cfg := fakes(t)
			cmd := exec.Command(builtBot(t))
			cmd.Env = envList(contractEnv(t, tg, ys, cfg.appUUID))
			var stderr syncBuffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() { _ = cmd.Process.Kill() }()

			ann := tg.NewUser(1001, "Ann")
			ann.Send("/start " + signed(t, "crm-42"))
			_, err := ann.WaitMessages(bounded(t), 1)
			require.NoError(t, err, stderr.String())
			require.NoError(t, cmd.Process.Signal(sig))
			select {
			case err := <-exited:
				require.NoError(t, err, stderr.String())
			case <-time.After(waitLimit):
				t.Fatal("the bot did not exit on " + sig.String())
			}
			assert.Contains(t, stderr.String(), `msg="bot stopped"`)
		})
	}
}

// While the bot waits for a slow Yespo after the first Ctrl-C, a second one
// quits the process at once.
func TestSecondSIGINTQuitsAtOnce(t *testing.T) {
	tg, ys, cfg := fakes(t, yespotest.WithLatency(time.Minute))
	cmd := exec.Command(builtBot(t))
	cmd.Env = envList(contractEnv(t, tg, ys, cfg.appUUID))
	var stderr syncBuffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() { _ = cmd.Process.Kill() }()

	require.NoError(t, stderr.waitFor(bounded(t), `msg="bot started: long polling"`))
	tg.NewUser(1001, "Ann").Send("/start " + signed(t, "crm-42"))
	for ctx := bounded(t); len(yespoCalls(ys)) == 0; { // the handler waits on Yespo's answer
		require.NoError(t, ctx.Err(), "the token never reached Yespo")
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, stderr.waitFor(bounded(t), "Ctrl-C again quits at once"))
	select {
	case err := <-exited:
		t.Fatalf("exited on the first SIGINT while a handler waited: %v", err)
	default:
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	select {
	case err := <-exited:
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, stderr.String())
		assert.False(t, ee.Success())
	case <-time.After(waitLimit):
		t.Fatal("the second SIGINT did not quit the bot")
	}
}

// The listen address of -webhook is checked by listening on it.
func TestWebhookAddressInUse(t *testing.T) {
	tg, ys, cfg := fakes(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	err = run(bounded(t), []string{"-webhook", ln.Addr().String(), "-webhook-url", "https://x.example/"},
		getenv(contractEnv(t, tg, ys, cfg.appUUID)), io.Discard, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "listen tcp "+ln.Addr().String())
}

// Without TELEGRAM_LINK_SECRET the bot runs, and says at start that deep
// links will be refused.
func TestRunWarnsWithoutALinkSecret(t *testing.T) {
	tg, ys, cfg := fakes(t)
	env := contractEnv(t, tg, ys, cfg.appUUID)
	delete(env, "TELEGRAM_LINK_SECRET")
	stop, stderr := runBot(t, nil, env)
	require.NoError(t, stderr.waitFor(bounded(t), `msg="bot started: long polling"`))
	require.NoError(t, stop())
	assert.Contains(t, stderr.String(), `level=WARN msg="deep links are refused: TELEGRAM_LINK_SECRET is not set (the phone number still works)"`)
}
