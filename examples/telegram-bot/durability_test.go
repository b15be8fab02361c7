package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/telegramtest"
	"github.com/yespo-go/yespo/yespotest"
)

// burst is a campaign's users following their signed links.
type burst struct {
	tg       *telegramtest.Server
	users    []*telegramtest.User
	payloads []string
	mu       sync.Mutex
	sentAt   []time.Time
	lastID   int64 // the update_id of the last /start sent
}

const firstUser = 100000

func newBurst(t testing.TB, tg *telegramtest.Server, n int) *burst {
	b := &burst{tg: tg, sentAt: make([]time.Time, n)}
	for i := range n {
		b.users = append(b.users, tg.NewUser(int64(firstUser+i), "User"))
		b.payloads = append(b.payloads, signed(t, fmt.Sprintf("cust-%d", i)))
	}
	return b
}

// send sends every user's /start, spread evenly over window, and returns
// once all are sent.
func (b *burst) send(window time.Duration) {
	start := time.Now()
	for i, u := range b.users {
		if wait := time.Until(start.Add(window * time.Duration(i) / time.Duration(len(b.users)))); wait > 0 {
			time.Sleep(wait) // the scenario's pace, not a wait for an outcome
		}
		b.mu.Lock()
		b.sentAt[i] = time.Now()
		b.mu.Unlock()
		id := u.Send("/start " + b.payloads[i])
		b.mu.Lock()
		b.lastID = max(b.lastID, id)
		b.mu.Unlock()
	}
}

// missing returns the users whose token no contact holds in Yespo.
func (b *burst) missing(ys *yespotest.Server, app string) []int {
	var gone []int
	for i, u := range b.users {
		if _, ok := ys.ContactByToken(app, yespo.TelegramToken(u.ID)); !ok {
			gone = append(gone, i)
		}
	}
	return gone
}

// waitAllStored waits until every user is in Yespo, checking every 50 ms,
// and fails after limit with how many are missing.
func (b *burst) waitAllStored(t testing.TB, ys *yespotest.Server, app string, limit time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		gone := b.missing(ys, app)
		if len(gone) == 0 {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d users are not in Yespo after %v (first: %v)", len(gone), len(b.users), limit, gone[:min(5, len(gone))])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// toldSubscribed returns the users the bot told "subscribed".
func (b *burst) toldSubscribed() []int {
	var told []int
	for i, u := range b.users {
		if slices.ContainsFunc(u.Messages(), func(m telegramtest.Message) bool { return m.Text == textSubscribed }) {
			told = append(told, i)
		}
	}
	return told
}

// SIGKILL at three random moments of a burst of /start, long polling and
// webhook, restarting at once each time: every user ends up in Yespo, and
// so nobody told "subscribed" is missing. Telegram sends again what the bot
// took and had not confirmed; the journal keeps what it had confirmed.
func TestKillDuringBurstLosesNoSubscriber(t *testing.T) {
	for _, mode := range []string{"polling", "webhook"} {
		t.Run(mode, func(t *testing.T) {
			users := scaled(300, 2000)
			seed := time.Now().UnixNano()
			rng := rand.New(rand.NewPCG(uint64(seed), 0))
			t.Logf("seed %d", seed)
			tg := telegramtest.NewServer(telegramtest.WithWebhookRetry(40, 50*time.Millisecond))
			t.Cleanup(tg.Close)
			ys := yespotest.NewServer(yespotest.WithRateLimit(200), yespotest.WithLatency(50*time.Millisecond))
			t.Cleanup(ys.Close)
			app := ys.NewApp()
			env := contractEnv(t, tg, ys, app)
			args := append(modeArgs(mode, freeAddr(t)), "-send-rate", "0")
			p := startProc(t, args, env)
			waitUp(t, p, tg, mode)

			b := newBurst(t, tg, users)
			sent := make(chan struct{})
			go func() { b.send(time.Second); close(sent) }()
			start := time.Now()
			var moments []time.Duration
			for range 3 {
				moments = append(moments, time.Duration(rng.Int64N(int64(1500*time.Millisecond))))
			}
			slices.Sort(moments)
			for _, at := range moments {
				time.Sleep(time.Until(start.Add(at))) // the scenario's kill moment
				p.kill()
				p = startProc(t, args, env)
			}
			t.Logf("killed at %v", moments)
			<-sent
			b.waitAllStored(t, ys, app, 60*time.Second)
			told := b.toldSubscribed()
			t.Logf("%d users: all in Yespo; %d told \"subscribed\" (the others' replies died with a process)", users, len(told))
			waitUp(t, p, tg, mode) // a signal before main's handler is installed would kill it
			p.stop()
		})
	}
}

// A Yespo outage (503) while users /start, with a restart in the middle:
// each user is told "subscribed" within 2 s of their /start (the fake
// Telegram has no send limit here), and is in Yespo within 10 s of Yespo's
// return.
func TestYespoOutageWithRestart(t *testing.T) {
	users, outage := scaled(100, 500), time.Duration(scaled(6, 30))*time.Second
	tg := telegramtest.NewServer()
	t.Cleanup(tg.Close)
	ys := yespotest.NewServer()
	t.Cleanup(ys.Close)
	app := ys.NewApp()
	var down atomic.Bool
	target, err := url.Parse(ys.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	env := contractEnv(t, tg, ys, app)
	env["YESPO_BASE_URL"] = front.URL + "/api/"
	args := []string{"-send-rate", "0"}
	p := startProc(t, args, env)
	waitUp(t, p, tg, "polling")

	down.Store(true)
	began := time.Now()
	b := newBurst(t, tg, users)
	sent := make(chan struct{})
	go func() { b.send(outage - outage/5); close(sent) }()
	time.Sleep(outage / 2) // the scenario: a deploy in the middle of the outage
	p.stop()
	p = startProc(t, args, env)
	<-sent
	answered, cancel := context.WithTimeout(context.Background(), outage)
	defer cancel()
	require.NoError(t, tg.WaitSent(answered, users), "every user answered")
	time.Sleep(time.Until(began.Add(outage))) // the scenario: the outage lasts its time
	down.Store(false)
	back := time.Now()
	var slowest time.Duration
	for i, u := range b.users {
		got := u.Messages()
		require.NotEmpty(t, got, "user %d", i)
		assert.Equal(t, textSubscribed, got[0].Text, "user %d", i)
		assert.Less(t, got[0].Time.Sub(b.sentAt[i]), 2*time.Second, "user %d waited for the answer", i)
		slowest = max(slowest, got[0].Time.Sub(b.sentAt[i]))
	}
	stored := b.waitAllStored(t, ys, app, 10*time.Second)
	t.Logf("%d users during a %v outage with a restart: all told \"subscribed\" (slowest answer %v); all in Yespo %v after its return",
		users, outage, slowest.Round(time.Millisecond), stored.Sub(back).Round(time.Millisecond))
	p.stop()
}
