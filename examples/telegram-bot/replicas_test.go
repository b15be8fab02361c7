package main

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/telegramtest"
	"github.com/yespo-go/yespo/yesporedis/redistest"
	"github.com/yespo-go/yespo/yespotest"
)

// Two webhook replicas behind a round-robin proxy share the Redis journal
// and agree on the webhook secret; a rolling restart of both while users
// /start loses no update: each is answered 2xx by one of them in the end,
// and every user is in Yespo. A request without the secret gets 401.
func TestReplicasBehindALoadBalancerLoseNothing(t *testing.T) {
	rs := redistest.Start(t)
	tg := telegramtest.NewServer(telegramtest.WithWebhookRetry(40, 50*time.Millisecond))
	t.Cleanup(tg.Close)
	ys := yespotest.NewServer(yespotest.WithRateLimit(200), yespotest.WithLatency(20*time.Millisecond))
	t.Cleanup(ys.Close)
	app := ys.NewApp()
	env := contractEnv(t, tg, ys, app)
	env["YESPO_REDIS_URL"] = rs.URL()

	addrs := []string{freeAddr(t), freeAddr(t)}
	var turn atomic.Uint64
	proxies := make([]*httputil.ReverseProxy, len(addrs))
	for i, a := range addrs {
		proxies[i] = httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: a})
		proxies[i].ErrorLog = log.New(io.Discard, "", 0) // a replica down is the scenario
	}
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxies[turn.Add(1)%uint64(len(proxies))].ServeHTTP(w, r) // a replica down answers 502: Telegram sends again
	}))
	t.Cleanup(lb.Close)
	hook := lb.URL + "/telegram"
	start := func(i int) *botProc {
		p := startProc(t, []string{"-webhook", addrs[i], "-webhook-url", hook}, env)
		p.waitStarted()
		return p
	}
	replicas := []*botProc{start(0), start(1)}
	for _, p := range replicas {
		assert.Contains(t, p.stderr.String(), `msg="journal: redis (shared by the replicas)"`)
	}

	resp, err := http.Post(hook, "application/json", strings.NewReader(`{"update_id":1}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no secret")

	b := newBurst(t, tg, scaled(200, 1000))
	sent := make(chan struct{})
	go func() { b.send(3 * time.Second); close(sent) }()
	for i := range replicas { // the rolling restart
		time.Sleep(500 * time.Millisecond) // the scenario's pace
		replicas[i].stop()
		replicas[i] = start(i)
	}
	<-sent
	require.NoError(t, tg.WaitConfirmed(bounded(t), b.lastID))
	assert.Empty(t, tg.Dropped(), "updates dropped after their last delivery failed")
	b.waitAllStored(t, ys, app, 30*time.Second)
	resent := 0
	for _, d := range tg.Deliveries() {
		if d.Err != "" {
			resent++
		}
	}
	t.Logf("%d users through 2 replicas with a rolling restart: all in Yespo; %d deliveries failed and were sent again", len(b.users), resent)
	assert.Equal(t, 2, strings.Count(strings.Join([]string{replicas[0].stderr.String(), replicas[1].stderr.String()}, ""), "bot started: webhook"))
	for _, p := range replicas {
		p.stop()
	}
}
