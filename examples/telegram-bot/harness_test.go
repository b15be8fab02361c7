package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/deeplink"
	"github.com/yespo-go/yespo/telegramtest"
	"github.com/yespo-go/yespo/yespotest"
)

// waitLimit bounds every wait of the tests; the waits end on a condition,
// normally within milliseconds.
const waitLimit = 10 * time.Second

func bounded(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

// testSecret is the link secret of the tests' bots: 32 bytes, the least
// that deeplink accepts.
const testSecret = "test-secret-0123456789abcdefghij"

// signed returns the payload of the deep link the shop would make for id.
func signed(t testing.TB, id string, opts ...deeplink.Option) string {
	t.Helper()
	payload, err := deeplink.Sign([]byte(testSecret), id, opts...)
	require.NoError(t, err)
	return payload
}

// fakes starts a fake Telegram and a fake Yespo (with opts), closed when t
// ends, and the config that points at them.
func fakes(t *testing.T, opts ...yespotest.Option) (*telegramtest.Server, *yespotest.Server, config) {
	tg := telegramtest.NewServer()
	t.Cleanup(tg.Close)
	ys := yespotest.NewServer(opts...)
	t.Cleanup(ys.Close)
	cfg := config{telegramToken: tg.Token, telegramURL: tg.URL, yespoKey: ys.APIKey, yespoURL: ys.URL,
		appUUID: ys.NewApp(), linkSecret: testSecret, journalPath: filepath.Join(t.TempDir(), "bot.journal"),
		maxConns: defaultMaxConns}
	return tg, ys, cfg
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

// startBot runs the bot on new fakes; see startBotOn.
func startBot(t *testing.T, yespoOpts ...yespo.Option) *harness {
	tg, ys, cfg := fakes(t)
	return startBotOn(t, tg, ys, cfg, nil, yespoOpts...)
}

// startBotOn runs the bot with cfg by long polling until the test ends, and
// then checks that it stopped cleanly. tune, if not nil, changes the app
// before it starts.
func startBotOn(t *testing.T, tg *telegramtest.Server, ys *yespotest.Server, cfg config, tune func(*app), yespoOpts ...yespo.Option) *harness {
	h := &harness{t: t, tg: tg, ys: ys, app: cfg.appUUID, logs: &lineBuffer{}}
	var err error
	h.bot, err = newApp(bounded(t), cfg, slog.New(slog.NewTextHandler(h.logs, nil)), yespoOpts...)
	require.NoError(t, err)
	if tune != nil {
		tune(h.bot)
	}
	select { // the probe of Yespo first, so that a test's scripted faults meet the bot's own requests
	case <-h.bot.probed:
	case <-time.After(waitLimit):
		t.Fatal("the bot did not probe Yespo")
	}
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

// log returns the bot's log since the last call.
func (h *harness) log() string {
	return strings.Join(h.logs.take(), "\n")
}

// contactOf returns the contact holding u's token in Yespo, once the tokens
// the Batcher holds are settled: the bot answers "subscribed" once a token
// is in its journal, a moment before Yespo has it.
func (h *harness) contactOf(u *telegramtest.User) (yespotest.Contact, bool) {
	h.t.Helper()
	settled(h.t, h.bot)
	return h.ys.ContactByToken(h.app, yespo.TelegramToken(u.ID))
}

// settled waits until the bot's journal is empty: every token it took is in
// Yespo (or refused by it for good). A batch Yespo failed is held and sent
// again by the Batcher within a few hundred milliseconds; the wait checks
// every 10 ms and fails the test after waitLimit.
func settled(t *testing.T, a *app) {
	t.Helper()
	ctx := bounded(t)
	for a.batch.Flush(ctx) != nil || a.batch.Stats().JournalDepth > 0 {
		require.NoError(t, ctx.Err(), "the journal still holds %d tokens", a.batch.Stats().JournalDepth)
		time.Sleep(10 * time.Millisecond)
	}
}

// phoneKeyboardButtons is the request_contact keyboard as the fake sees it.
var phoneKeyboardButtons = [][]telegramtest.Button{{{Text: "Share my phone number", RequestContact: true}}}

// contractEnv is the environment a deployment sets, pointing at the fakes,
// with a journal of the test's own.
func contractEnv(t testing.TB, tg *telegramtest.Server, ys *yespotest.Server, app string) map[string]string {
	return map[string]string{
		"YESPO_JOURNAL":        filepath.Join(t.TempDir(), "bot.journal"),
		"TELEGRAM_BOT_TOKEN":   tg.Token,
		"TELEGRAM_API_URL":     tg.URL,
		"TELEGRAM_LINK_SECRET": testSecret,
		"YESPO_API_KEY":        ys.APIKey,
		"YESPO_APP_UUID":       app,
		"YESPO_BASE_URL":       ys.URL,
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

// The tests that need a process of their own (exit status, signals) share
// one build of the command, made by the first of them.
var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binError error
)

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "telegram-bot-test"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// builtBot returns the path of the command, built with go build.
func builtBot(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binPath = filepath.Join(binDir, "telegram-bot")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binError = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	require.NoError(t, binError)
	return binPath
}

// envList turns vars into the form exec.Cmd.Env takes, on top of a minimal
// environment: nothing set for the test run leaks into the bot.
func envList(vars map[string]string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// yespoCalls returns the requests Yespo got, less the bot's probe of its key
// and app.
func yespoCalls(ys *yespotest.Server) []yespotest.Request {
	var calls []yespotest.Request
	for _, r := range ys.Requests() {
		if !strings.Contains(r.Path, probeToken) {
			calls = append(calls, r)
		}
	}
	return calls
}

// realUsersSubscribe has 12 users, ids from first on, send /start with a
// signed link while whatever the test plays goes on, and checks that each
// is told subscribed within 5 s.
func realUsersSubscribe(t *testing.T, tg *telegramtest.Server, p *botProc, first int64) {
	t.Helper()
	users := make([]*telegramtest.User, 12)
	sentAt := make([]time.Time, len(users))
	for i := range users {
		users[i] = tg.NewUser(first+int64(i), "Real")
		sentAt[i] = time.Now()
		users[i].Send("/start " + signed(t, fmt.Sprintf("real-%d", i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := tg.WaitSent(ctx, len(users))
	for i, u := range users {
		got := u.Messages()
		require.NotEmpty(t, got, "user %d got no answer within 5 s: %v\n%s", i, err, p.stderr.String())
		assert.Equal(t, textSubscribed, got[0].Text)
		assert.Less(t, got[0].Time.Sub(sentAt[i]), 5*time.Second)
	}
}
