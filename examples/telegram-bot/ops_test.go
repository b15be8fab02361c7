package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/telegramtest"
	"github.com/yespo-go/yespo/yespotest"
)

// httpGet returns the status and body of GET url.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// /healthz, /readyz and /metrics on -admin, as an orchestrator sees them:
// a wrong Yespo key leaves the bot ready (it shows in the log and the
// metrics, so that it never makes every replica refuse Telegram's
// deliveries); a journal whose directory takes no writes makes it unready,
// until it is back.
func TestHealthReadinessAndMetrics(t *testing.T) {
	tg, ys, cfg := fakes(t)
	env := contractEnv(t, tg, ys, cfg.appUUID)
	env["YESPO_API_KEY"] = "wrong-key"
	dir := filepath.Join(t.TempDir(), "volume")
	require.NoError(t, os.Mkdir(dir, 0o700))
	env["YESPO_JOURNAL"] = filepath.Join(dir, "bot.journal")
	admin := freeAddr(t)
	p := startProc(t, []string{"-admin", admin}, env)
	waitUp(t, p, tg, "polling")
	base := "http://" + admin

	status, _ := httpGet(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, status)
	require.NoError(t, p.stderr.waitFor(bounded(t), `configuration error: Yespo refuses YESPO_API_KEY`))
	status, body := httpGet(t, base+"/readyz")
	assert.Equal(t, http.StatusOK, status, "a wrong Yespo key is not Telegram's business: %s", body)

	tg.NewUser(1001, "Ann").Send("/start " + signed(t, "crm-42"))
	require.NoError(t, tg.WaitSent(bounded(t), 1))
	status, body = httpGet(t, base+"/metrics")
	require.Equal(t, http.StatusOK, status)
	families, err := new(expfmt.TextParser).TextToMetricFamilies(strings.NewReader(body))
	require.NoError(t, err, "Prometheus text format")
	value := func(name string) float64 {
		f, ok := families[name]
		require.True(t, ok, "no %s in\n%s", name, body)
		m := f.GetMetric()[0]
		if m.GetGauge() != nil {
			return m.GetGauge().GetValue()
		}
		return m.GetCounter().GetValue()
	}
	assert.Equal(t, 0.0, value("telegram_bot_yespo_config_ok"))
	assert.Equal(t, 1.0, value("telegram_bot_journal_depth"), "Ann's token waits for a key Yespo accepts")
	assert.Equal(t, 1.0, value("telegram_bot_updates_handled_total"))
	for _, name := range []string{"telegram_bot_journal_oldest_seconds", "telegram_bot_tokens_sent_total", "telegram_bot_tokens_failed_total", "telegram_bot_events_sent_total",
		"telegram_bot_yespo_rate_limited_total", "telegram_bot_yespo_pace_requests_per_second", "telegram_bot_replies_total",
		"telegram_bot_replies_queued", "telegram_bot_telegram_rate_limited_total"} {
		value(name)
	}
	assert.NotContains(t, body, "wrong-key")

	moved := dir + ".gone"
	require.NoError(t, os.Rename(dir, moved)) // the volume goes away
	status, body = httpGet(t, base+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Contains(t, body, "not ready: journal")
	require.NoError(t, os.Rename(moved, dir))
	status, _ = httpGet(t, base+"/readyz")
	assert.Equal(t, http.StatusOK, status, "ready again once it is back")
	p.stop()
}

// 1,100 connections that send a body one byte every 2 s, without the
// secret, against a bot whose file limit is 1,024: they are refused with
// 401 before their body is read, the listener holds few at once, and 12
// real users are each subscribed and answered within 5 s.
func TestSlowConnectionsCannotHoldTheWebhook(t *testing.T) {
	tg := telegramtest.NewServer()
	t.Cleanup(tg.Close)
	ys := yespotest.NewServer()
	t.Cleanup(ys.Close)
	app := ys.NewApp()
	addr := freeAddr(t)
	env := contractEnv(t, tg, ys, app)
	p := startWebhookBotUnderFileLimit(t, env, addr)

	const strangers = 1100
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	refused := 0
	for range strangers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, waitLimit)
			if err != nil {
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "POST /telegram HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", addr)
			go func() { // one byte every 2 s, until the test ends or the bot hangs up
				for {
					select {
					case <-stop:
						return
					case <-time.After(2 * time.Second):
					}
					if _, err := c.Write([]byte(" ")); err != nil {
						return
					}
				}
			}()
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
			buf := make([]byte, 64)
			if n, _ := c.Read(buf); strings.Contains(string(buf[:n]), " 401 ") {
				mu.Lock()
				refused++
				mu.Unlock()
			}
		}()
	}
	realUsersSubscribe(t, tg, p, 2000)
	close(stop)
	wg.Wait()
	t.Logf("%d of %d slow strangers refused with 401 before their body", refused, strangers)
	assert.Greater(t, refused, strangers*9/10)
	assert.NotContains(t, p.stderr.String(), "too many open files")
	lines := strings.Count(p.stderr.String(), "webhook: refused requests")
	assert.Less(t, lines, 10, "the refusals cost a line per 10 s, not a line each")
	p.stop()
}

// startWebhookBotUnderFileLimit starts the built bot in webhook mode on
// addr under a file limit of 1,024: sh lowers the soft and hard limits,
// then becomes the bot (Go raises the soft limit to the hard one at start).
func startWebhookBotUnderFileLimit(t *testing.T, env map[string]string, addr string) *botProc {
	t.Helper()
	args := append([]string{"-c", `ulimit -Sn 1024 && ulimit -Hn 1024 && exec "$0" "$@"`, builtBot(t)}, modeArgs("webhook", addr)...)
	p := &botProc{t: t, cmd: exec.Command("sh", args...), stderr: &syncBuffer{}, exited: make(chan error, 1)}
	p.cmd.Env = envList(env)
	p.cmd.Stderr = p.stderr
	require.NoError(t, p.cmd.Start())
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	p.waitStarted()
	return p
}
