package main

import (
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/telegramtest"
	"github.com/yespo-go/yespo/yesporedis/redistest"
	"github.com/yespo-go/yespo/yespotest"
)

// A campaign's burst with -welcome-event telegram_subscribed on the built
// bot, against a Yespo 50 ms away with its two windows (the account's
// 200/s, Generate event's 350/s): every subscriber's event arrives, none
// before their token was accepted, with telegramChatId and the customer id;
// and so it stays with 2 SIGKILLs at random moments, restarted at once on
// the same journal. The figures go to the log: -v, and -long for 2,000.
func TestWelcomeBurst(t *testing.T) {
	for _, kills := range []int{0, 2} {
		t.Run(map[int]string{0: "steady", 2: "2 kills"}[kills], func(t *testing.T) {
			// The rates and 429s are wall-clock figures, for the log and
			// BenchmarkWelcomeBurst; the test checks what must always hold.
			t.Log(runWelcomeBurst(t, welcomeRun{users: scaled(300, 2000), replicas: 1, kills: kills, welcome: true}))
		})
	}
}

// welcomeRun is one burst scenario.
type welcomeRun struct {
	users    int
	replicas int  // 1: long polling; 2: webhook replicas behind a round-robin proxy, on one Redis
	kills    int  // SIGKILLs at random moments of the burst, each followed by a restart
	welcome  bool // -welcome-event telegram_subscribed
}

// welcomeFigures is what a run measured.
type welcomeFigures struct {
	users, events  int
	eventsPeak     int           // most event requests (429s and retries included) Yespo got in any one second
	eventsLimited  int           // event requests answered 429
	tokensLimited  int           // token requests answered 429
	tokensAfter    time.Duration // from the last /start to the last token stored
	deliveredAfter time.Duration // from the last /start to the last webhook delivery answered 2xx (replicas)
	eventsAfter    time.Duration // from the last /start to the last event accepted
	eventsDuration time.Duration // from the first event to the last
}

func (f welcomeFigures) String() string {
	rate := 0.0
	if f.eventsDuration > 0 {
		rate = float64(f.events-1) / f.eventsDuration.Seconds()
	}
	return strings.Join([]string{
		itoa(f.users) + " users, " + itoa(f.events) + " events accepted at a mean " + itoa(int(rate)) + "/s",
		"event requests: peak " + itoa(f.eventsPeak) + " in one second, " + itoa(f.eventsLimited) + " × 429",
		"tokens: " + itoa(f.tokensLimited) + " × 429, last stored " + f.tokensAfter.Round(time.Millisecond).String() + " after the last /start",
		"last webhook delivery answered " + f.deliveredAfter.Round(time.Millisecond).String() + " after it",
		"last event " + f.eventsAfter.Round(time.Millisecond).String() + " after the last /start",
	}, "; ")
}

// runWelcomeBurst plays r on the built bot and checks what the issue asks:
// every user stored, and with the welcome on, every user's event accepted
// after their token's 2xx with the params the workflow reads.
func runWelcomeBurst(tb testing.TB, r welcomeRun) welcomeFigures {
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	tg := telegramtest.NewServer(telegramtest.WithWebhookRetry(40, 50*time.Millisecond))
	tb.Cleanup(tg.Close)
	ys := yespotest.NewServer(yespotest.WithRateLimit(200), yespotest.WithBudgetRateLimit(yespo.BudgetEvent, 350),
		yespotest.WithLatency(50*time.Millisecond))
	tb.Cleanup(ys.Close)
	app := ys.NewApp()
	env := contractEnv(tb, tg, ys, app)
	args := []string{"-send-rate", "0"}
	if r.welcome {
		args = append(args, "-welcome-event", welcomeType)
	}
	var start func(int) *botProc
	if r.replicas > 1 {
		env["YESPO_REDIS_URL"] = redistest.Start(tb).URL()
		start = startReplicas(tb, args, env, r.replicas)
	} else {
		start = startPolling(tb, tg, args, env)
	}
	procs := make([]*botProc, r.replicas)
	for i := range procs {
		procs[i] = start(i)
	}

	b := newBurst(tb, tg, r.users)
	sent := make(chan struct{})
	go func() { b.send(time.Second); close(sent) }()
	began := time.Now()
	var moments []time.Duration
	for range r.kills {
		moments = append(moments, time.Duration(rng.Int64N(int64(1500*time.Millisecond))))
	}
	slices.Sort(moments)
	for i, at := range moments {
		time.Sleep(time.Until(began.Add(at))) // the scenario's kill moment
		procs[i%len(procs)].kill()
		procs[i%len(procs)] = start(i % len(procs))
	}
	<-sent
	lastStart := slices.MaxFunc(b.sentAt, func(a, b time.Time) int { return a.Compare(b) })
	b.waitAllStored(tb, ys, app, 60*time.Second)
	f := welcomeFigures{users: r.users}
	for _, u := range b.users {
		at, _ := ys.TokenAddedAt(app, yespo.TelegramToken(u.ID))
		f.tokensAfter = max(f.tokensAfter, at.Sub(lastStart))
	}
	for _, d := range tg.Deliveries() {
		if d.Status/100 == 2 {
			f.deliveredAfter = max(f.deliveredAfter, d.End.Sub(lastStart))
		}
	}
	if r.welcome {
		checkWelcomes(tb, ys, app, b, &f, lastStart)
	}
	var eventTimes []time.Time
	for _, req := range ys.Requests() {
		if strings.HasSuffix(req.Path, "/v2/event") {
			eventTimes = append(eventTimes, req.Time)
		}
		switch {
		case req.Status != http.StatusTooManyRequests:
		case strings.HasSuffix(req.Path, "/v2/event"):
			f.eventsLimited++
		default:
			f.tokensLimited++
		}
	}
	slices.SortFunc(eventTimes, func(a, b time.Time) int { return a.Compare(b) })
	f.eventsPeak = peakPerSecond(eventTimes)
	if r.kills > 0 {
		tb.Logf("seed %d: killed at %v", seed, moments)
	}
	for _, p := range procs {
		p.stop()
	}
	return f
}

// checkWelcomes waits until every user of b has an event, checks each
// event, and fills f's event figures.
func checkWelcomes(tb testing.TB, ys *yespotest.Server, app string, b *burst, f *welcomeFigures, lastStart time.Time) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var byChat map[string][]yespotest.Event
	var evs []yespotest.Event
	for {
		evs = ys.Events()
		byChat = map[string][]yespotest.Event{}
		for _, ev := range evs {
			p := params(tb, ev)
			byChat[p["telegramChatId"]] = append(byChat[p["telegramChatId"]], ev)
		}
		if len(byChat) >= len(b.users) {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d users have their event after 60 s", len(byChat), len(b.users))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i, u := range b.users {
		chat := yespo.TelegramToken(u.ID)
		added, _ := ys.TokenAddedAt(app, chat)
		require.NotEmpty(tb, byChat[chat], "user %d has no event", i)
		for _, ev := range byChat[chat] {
			assert.True(tb, ev.Time.After(added), "user %d: event at %v, token accepted at %v", i, ev.Time, added)
			assert.Equal(tb, welcomeType, ev.TypeKey)
			assert.Equal(tb, customer(i), ev.KeyValue)
			p := params(tb, ev)
			assert.Equal(tb, customer(i), p["externalCustomerId"], "user %d", i)
			assert.Equal(tb, "link", p["source"], "user %d", i)
		}
	}
	times := make([]time.Time, len(evs))
	for i, ev := range evs {
		times[i] = ev.Time
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	f.events = len(evs)
	f.eventsAfter = times[len(times)-1].Sub(lastStart)
	f.eventsDuration = times[len(times)-1].Sub(times[0])
}

// peakPerSecond returns the most of sorted times that fall within any one
// second.
func peakPerSecond(sorted []time.Time) int {
	peak, lo := 0, 0
	for hi, t := range sorted {
		for t.Sub(sorted[lo]) >= time.Second {
			lo++
		}
		peak = max(peak, hi-lo+1)
	}
	return peak
}

// startPolling returns how to start (or restart) the long-polling bot.
func startPolling(tb testing.TB, tg *telegramtest.Server, args []string, env map[string]string) func(int) *botProc {
	return func(int) *botProc {
		p := startProc(tb, args, env)
		waitUp(tb, p, tg, "polling")
		return p
	}
}

// startReplicas puts n webhook addresses behind one round-robin proxy,
// registered as the webhook, and returns how to start (or restart) replica
// i on its address.
func startReplicas(tb testing.TB, args []string, env map[string]string, n int) func(int) *botProc {
	addrs := make([]string, n)
	proxies := make([]*httputil.ReverseProxy, n)
	for i := range addrs {
		addrs[i] = freeAddr(tb)
		proxies[i] = httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: addrs[i]})
		proxies[i].ErrorLog = log.New(io.Discard, "", 0) // a replica down is the scenario
	}
	var turn atomic.Uint64
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxies[turn.Add(1)%uint64(n)].ServeHTTP(w, r) // a replica down answers 502: Telegram sends again
	}))
	tb.Cleanup(lb.Close)
	return func(i int) *botProc {
		p := startProc(tb, append(slices.Clone(args), "-webhook", addrs[i], "-webhook-url", lb.URL+"/telegram"), env)
		p.waitStarted()
		return p
	}
}

var itoa = strconv.Itoa

// customer is the id in user i's link (see newBurst).
func customer(i int) string { return fmt.Sprintf("cust-%d", i) }

// BenchmarkWelcomeBurst is the 2,000-/start burst on the built bot
// (yespotest at 50 ms with the windows of 200/s and 350/s): without the
// welcome, with it, and with it on two webhook replicas sharing the budgets
// through one Redis. Run it once per case:
//
//	go test -run '^$' -bench WelcomeBurst -benchtime 1x ./examples/telegram-bot
func BenchmarkWelcomeBurst(b *testing.B) {
	for _, c := range []struct {
		name string
		run  welcomeRun
	}{
		{"welcome=off", welcomeRun{users: 2000, replicas: 1}},
		{"welcome=on", welcomeRun{users: 2000, replicas: 1, welcome: true}},
		{"welcome=off/replicas=2/redis", welcomeRun{users: 2000, replicas: 2}},
		{"welcome=on/replicas=2/redis", welcomeRun{users: 2000, replicas: 2, welcome: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var f welcomeFigures
			for range b.N {
				f = runWelcomeBurst(b, c.run)
			}
			b.Log(f)
			b.ReportMetric(float64(f.eventsPeak), "event-requests-peak/s")
			b.ReportMetric(float64(f.eventsLimited), "event-429s")
			b.ReportMetric(float64(f.tokensLimited), "token-429s")
			b.ReportMetric(float64(f.tokensAfter.Milliseconds()), "tokens-stored-ms-after-burst")
			b.ReportMetric(float64(f.eventsAfter.Milliseconds()), "events-done-ms-after-burst")
		})
	}
}
