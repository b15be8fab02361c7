package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespotest"
)

// A campaign's burst: 2,000 users follow their links within one second,
// against a Yespo 50 ms away that allows 200 requests a second (and a fake
// Telegram without a send limit: see TestBurstUnderTelegramsSendLimit for
// that). Every one of them is kept in the journal, answered once, within
// 5 s (see replyLimit for the race detector), and stored in Yespo, in at
// most 100 requests and without a 429. The figures go
// to the test log: go test -v -run Burst ./examples/telegram-bot.
func TestBurstOfStarts(t *testing.T) {
	const users, window = 2000, time.Second
	tg, ys, cfg := fakes(t, yespotest.WithRateLimit(200), yespotest.WithLatency(50*time.Millisecond))
	h := startBotOn(t, tg, ys, cfg, nil)
	payloads := make([]string, users)
	for i := range payloads {
		payloads[i] = signed(t, fmt.Sprintf("cust-%d", i))
	}

	sentAt := make([]time.Time, users)
	start := time.Now()
	for i := range users {
		// Spread over the window, as people tapping a link in a newsletter are.
		if wait := time.Until(start.Add(window * time.Duration(i) / users)); wait > 0 {
			time.Sleep(wait)
		}
		sentAt[i] = time.Now()
		tg.NewUser(int64(100000+i), "User").Send("/start " + payloads[i])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, tg.WaitSent(ctx, users))
	require.NoError(t, h.bot.work.waitHandled(ctx, users))
	settled(t, h.bot) // "subscribed" means journaled: Yespo has the token a moment later

	replyTimes := make([]time.Duration, users)
	for i := range users {
		chat := int64(100000 + i)
		got := tg.Messages(chat)
		require.Equal(t, []string{textSubscribed}, texts(got), "user %d", i)
		replyTimes[i] = got[0].Time.Sub(sentAt[i])
		c, ok := ys.ContactByToken(h.app, yespo.TelegramToken(chat))
		require.True(t, ok, "user %d is not stored", i)
		assert.Equal(t, fmt.Sprintf("cust-%d", i), c.ExternalCustomerID)
	}
	var tokenRequests, limited int
	atYespo := map[string]time.Time{}
	for _, r := range ys.Requests() {
		if strings.HasSuffix(r.Path, "/tokens") {
			tokenRequests++
			var body struct{ Tokens []yespo.Token }
			require.NoError(t, json.Unmarshal(r.Body, &body))
			for _, tok := range body.Tokens {
				atYespo[tok.Token] = r.Time
			}
		}
		if r.Status == 429 {
			limited++
		}
	}
	toYespo := make([]time.Duration, users)
	for i := range users {
		toYespo[i] = atYespo[yespo.TelegramToken(int64(100000+i))].Sub(sentAt[i])
	}
	slices.Sort(toYespo)
	t.Logf("sent to Yespo after p50 %v, max %v", toYespo[users/2].Round(time.Millisecond), toYespo[users-1].Round(time.Millisecond))
	slices.Sort(replyTimes)
	p50, p99, worst := replyTimes[users/2], replyTimes[users*99/100], replyTimes[users-1]
	t.Logf("%d /start in %v: %d token requests, %d answered 429; reply time p50 %v, p99 %v, max %v",
		users, window, tokenRequests, limited, p50.Round(time.Millisecond), p99.Round(time.Millisecond), worst.Round(time.Millisecond))
	polls := 0
	for _, r := range tg.Requests() {
		if r.Method == "getUpdates" {
			polls++
		}
	}
	t.Logf("%d getUpdates calls", polls)
	assert.LessOrEqual(t, tokenRequests, 100)
	assert.Zero(t, limited)
	assert.Less(t, worst, time.Duration(replyLimit))
}
