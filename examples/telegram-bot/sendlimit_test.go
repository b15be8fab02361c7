package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/telegramtest"
	"github.com/yespo-go/yespo/yespotest"
)

// A burst of /start against a Telegram that allows 30 sends a second:
// every user is subscribed and answered within users/30 s plus 10 %, the
// replies queued behind the limit without holding up the confirmation of
// the updates — in webhook mode no update is delivered twice because its
// answer waited past Telegram's timeout (here 5 s, Telegram's is ~60 s, for
// a scaled-down burst).
func TestBurstUnderTelegramsSendLimit(t *testing.T) {
	for _, mode := range []string{"polling", "webhook"} {
		t.Run(mode, func(t *testing.T) {
			users := scaled(300, 2000)
			tg := telegramtest.NewServer(telegramtest.WithSendLimit(30), telegramtest.WithWebhookTimeout(5*time.Second))
			t.Cleanup(tg.Close)
			ys := yespotest.NewServer(yespotest.WithRateLimit(200), yespotest.WithLatency(50*time.Millisecond))
			t.Cleanup(ys.Close)
			app := ys.NewApp()
			p := startProc(t, modeArgs(mode, freeAddr(t)), contractEnv(t, tg, ys, app))
			waitUp(t, p, tg, mode)

			b := newBurst(t, tg, users)
			began := time.Now()
			b.send(time.Second)
			limit := time.Duration(float64(users)/30*1.1*float64(time.Second)) + time.Second // +1 s: the burst's own length
			ctx, cancel := context.WithTimeout(context.Background(), limit+waitLimit)
			defer cancel()
			require.NoError(t, tg.WaitSent(ctx, users))
			took := time.Since(began)
			var last time.Time
			for i, u := range b.users {
				got := u.Messages()
				require.NotEmpty(t, got, "user %d", i)
				assert.Equal(t, textSubscribed, got[0].Text, "user %d", i)
				if got[0].Time.After(last) {
					last = got[0].Time
				}
			}
			b.waitAllStored(t, ys, app, waitLimit)
			limited := 0
			for _, r := range tg.Requests() {
				if r.Method == "sendMessage" && r.Status == 429 {
					limited++
				}
			}
			var resent []int64
			for _, d := range tg.Deliveries() {
				if d.Attempt > 1 || strings.Contains(d.Err, "Timeout") {
					resent = append(resent, d.UpdateID)
				}
			}
			t.Logf("%s: %d /start in 1 s under 30 sends/s: last answer after %v (bound %v), %d sendMessage answered 429, %d webhook re-sends",
				mode, users, last.Sub(began).Round(time.Millisecond), limit, limited, len(slices.Compact(resent)))
			assert.Less(t, last.Sub(began), limit, "answered within users/30 s + 10 %% (+1 s of burst); took %v", took)
			assert.Empty(t, resent, "an update delivered twice")
			p.stop()
		})
	}
}
