package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/telegramtest"
	"github.com/yespo-go/yespo/yespotest"
)

// childEnv makes the test binary run main instead of the tests: the signal
// test needs a process of its own to send SIGTERM to.
const childEnv = "TELEGRAM_BOT_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// contractEnv is the environment a deployment sets, pointing at the fakes.
func contractEnv(tg *telegramtest.Server, ys *yespotest.Server, app string) map[string]string {
	return map[string]string{
		"TELEGRAM_BOT_TOKEN": tg.Token,
		"TELEGRAM_API_URL":   tg.URL,
		"YESPO_API_KEY":      ys.APIKey,
		"YESPO_APP_UUID":     app,
		"YESPO_BASE_URL":     ys.URL,
	}
}

func getenv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// syncBuffer is a bytes.Buffer that run's goroutines may write to, and that
// a test can wait on.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	return s.b.Write(p)
}

// waitFor waits until the buffer has matched re.
func (s *syncBuffer) waitFor(ctx context.Context, re string) error {
	rx := regexp.MustCompile(re)
	for {
		s.mu.Lock()
		found := rx.Match(s.b.Bytes())
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		changed := s.changed
		s.mu.Unlock()
		if found {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("no %q in %q: %w", re, s.String(), ctx.Err())
		}
	}
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runBot runs run in the background; the returned func cancels it and
// returns its error.
func runBot(t *testing.T, args []string, env map[string]string) (stop func() error, stderr *syncBuffer) {
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, getenv(env), io.Discard, stderr) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(waitLimit):
				err = errors.New("run did not return after its context ended")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop, stderr
}

// The environment names are the contract; run reads them, long-polls (after
// deleting a webhook left by an earlier -webhook run) and stops with ctx.
func TestRunFromTheEnvironment(t *testing.T) {
	tg, ys, cfg := fakes(t)
	resp, err := http.Get(tg.URL + "/bot" + tg.Token + "/setWebhook?url=https://old.example/hook")
	require.NoError(t, err)
	resp.Body.Close()

	stop, stderr := runBot(t, nil, contractEnv(tg, ys, cfg.appUUID))
	require.NoError(t, tg.WaitPolling(bounded(t)), stderr.String())
	ann := tg.NewUser(1001, "Ann")
	ann.Send("/start crm-42")
	got, err := ann.WaitMessages(bounded(t), 1)
	require.NoError(t, err)
	assert.Equal(t, textSubscribed, got[0].Text)
	require.NoError(t, stop())
	assert.Contains(t, stderr.String(), `msg="bot started: long polling" bot=@YespoDemoBot`)
	assert.Contains(t, stderr.String(), `msg="bot stopped"`)
	assert.NotContains(t, stderr.String(), tg.Token)
	assert.NotContains(t, stderr.String(), ys.APIKey)
}

func TestFlagsOverrideTheEnvironment(t *testing.T) {
	tg, ys, cfg := fakes(t)
	env := contractEnv(tg, ys, cfg.appUUID)
	env["TELEGRAM_BOT_TOKEN"], env["YESPO_API_KEY"] = "1:wrong", "wrong-key"
	stop, stderr := runBot(t, []string{"-telegram-bot-token", tg.Token, "-yespo-api-key", ys.APIKey}, env)
	require.NoError(t, tg.WaitPolling(bounded(t)), stderr.String())
	ann := tg.NewUser(1001, "Ann")
	ann.Send("/start crm-42")
	got, err := ann.WaitMessages(bounded(t), 1)
	require.NoError(t, err)
	assert.Equal(t, textSubscribed, got[0].Text, "Yespo took the key from the flag")
	require.NoError(t, stop())
}

func TestRunServesTheWebhookWithTheFlag(t *testing.T) {
	tg, ys, cfg := fakes(t)
	stop, stderr := runBot(t, []string{"-webhook", "127.0.0.1:0", "-webhook-url", "https://bot.example/tg"},
		contractEnv(tg, ys, cfg.appUUID))
	require.NoError(t, stderr.waitFor(bounded(t), `msg="bot started: webhook" bot=@YespoDemoBot listen=127\.0\.0\.1:\d+ url=https://bot\.example/tg`))
	assert.Equal(t, "https://bot.example/tg", tg.Webhook().URL)
	require.NoError(t, stop())
}

func TestRunFailsOnAWrongTelegramToken(t *testing.T) {
	tg, ys, cfg := fakes(t)
	env := contractEnv(tg, ys, cfg.appUUID)
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
		assert.NoError(t, run(ctx, args, getenv(contractEnv(tg, ys, cfg.appUUID)), io.Discard, io.Discard), args)
	}
	assert.Empty(t, tg.Requests(), "it stopped before calling Telegram")
}

// -h lists the variables but never the secrets they hold.
func TestHelpKeepsSecretsOut(t *testing.T) {
	var out bytes.Buffer
	env := map[string]string{"TELEGRAM_BOT_TOKEN": "1:SECRET-TOKEN", "YESPO_API_KEY": "SECRET-KEY"}
	err := run(context.Background(), []string{"-h"}, getenv(env), io.Discard, &out)
	require.ErrorIs(t, err, flag.ErrHelp)
	for _, name := range []string{"TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL", "YESPO_API_KEY", "YESPO_APP_UUID", "YESPO_BASE_URL", "-webhook", "-demo"} {
		assert.Contains(t, out.String(), name)
	}
	assert.NotContains(t, out.String(), "SECRET")
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
		close(arrived)
		<-release
		proxy.ServeHTTP(w, r)
	}))
	defer slow.Close()
	env := contractEnv(tg, ys, cfg.appUUID)
	env["YESPO_BASE_URL"] = slow.URL + "/api/"

	stop, _ := runBot(t, nil, env)
	require.NoError(t, tg.WaitPolling(bounded(t)))
	ann := tg.NewUser(1001, "Ann")
	ann.Send("/start crm-42")
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

// SIGTERM and SIGINT, sent to a real process running main, stop the bot
// with exit status 0.
func TestSignalsStopTheBot(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM on Windows")
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			tg, ys, cfg := fakes(t)
			cmd := exec.Command(os.Args[0])
			// Under -race a process sleeps a second at exit unless told not to.
			cmd.Env = append(os.Environ(), childEnv+"=1", "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
			for k, v := range contractEnv(tg, ys, cfg.appUUID) {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			var stderr syncBuffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() { _ = cmd.Process.Kill() }()

			ann := tg.NewUser(1001, "Ann")
			ann.Send("/start crm-42")
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

func TestConfigErrors(t *testing.T) {
	app := "123e4567-e89b-12d3-a456-426614174000"
	full := map[string]string{"TELEGRAM_BOT_TOKEN": "1:x", "YESPO_API_KEY": "k", "YESPO_APP_UUID": app}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for kk, vv := range full {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	cases := map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"nothing set":        {nil, nil, "missing TELEGRAM_BOT_TOKEN (or -telegram-bot-token), YESPO_API_KEY (or -yespo-api-key), YESPO_APP_UUID (or -yespo-app-uuid); -demo runs without them"},
		"blank token":        {nil, with("TELEGRAM_BOT_TOKEN", "  "), "missing TELEGRAM_BOT_TOKEN"},
		"bad app":            {nil, with("YESPO_APP_UUID", "my-bot"), `YESPO_APP_UUID "my-bot" is not a UUID`},
		"webhook, no url":    {[]string{"-webhook", ":8443"}, full, "-webhook and -webhook-url go together"},
		"url, no webhook":    {[]string{"-webhook-url", "https://x.example/"}, full, "-webhook and -webhook-url go together"},
		"relative url":       {[]string{"-webhook", ":8443", "-webhook-url", "/hook"}, full, "not an absolute http(s) URL"},
		"stray argument":     {[]string{"start"}, full, `unexpected argument "start"`},
		"unknown flag":       {[]string{"-token", "x"}, full, "flag provided but not defined: -token"},
		"bad yespo base url": {nil, with("YESPO_BASE_URL", "ftp://yespo.example/"), "baseURL"},
	}
	for name, tc := range cases {
		err := run(context.Background(), tc.args, getenv(tc.env), io.Discard, io.Discard)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), tc.want, name)
	}
}

// The listen address of -webhook is checked by listening on it.
func TestWebhookAddressInUse(t *testing.T) {
	tg, ys, cfg := fakes(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	err = run(bounded(t), []string{"-webhook", ln.Addr().String(), "-webhook-url", "https://x.example/"},
		getenv(contractEnv(tg, ys, cfg.appUUID)), io.Discard, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "listen tcp "+ln.Addr().String())
}
