//go:build unix

package yespobolt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespobolt"
	"github.com/yespo-go/yespo/yespotest"
)

// TestKillLoopSendsEveryEvent is the kill loop of follow-up events: a child
// adds tokens with AddWithEvent through a Batcher on a yespobolt journal,
// printing each token and its event once AddWithEvent returned nil, and is
// SIGKILLed at random moments and restarted on the same journal; a last
// child drains it. The fake Yespo lives here, with a realistic latency,
// some 503s on every endpoint and, in some rounds, a run of 503s on
// Generate event, so that kills land while events are held. Every token
// the child promised must have its event at Yespo at least once, each copy
// with exactly the params it was added with, and no event may have arrived
// before its token was stored.
func TestKillLoopSendsEveryEvent(t *testing.T) {
	kills := 20
	if *long {
		kills = 200
	}
	seed := seedOf()
	rng := rand.New(rand.NewPCG(seed, 32))
	t.Logf("seed %d, %d kills", seed, kills)

	srv := yespotest.NewServer(yespotest.WithLatency(20*time.Millisecond), yespotest.WithSeed(int64(seed>>1)))
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	srv.FailRandomly(0.05, yespotest.Fault{Status: 503})
	journal := filepath.Join(t.TempDir(), "journal")

	promised := map[string]json.RawMessage{} // token → its event, as the child added it
	queued := 0                              // event faults queued
	for round := range kills {
		if rng.IntN(3) == 0 {
			n := 1 + rng.IntN(30)
			srv.FailNextEvents(n, yespotest.Fault{Status: 503, Body: "Service Unavailable"})
			queued += n
		}
		c := startChild(t, srv, app, journal, "-prefix", fmt.Sprint(round+1), "-event", "telegram_subscribed",
			"-workers", fmt.Sprint(1+rng.IntN(8)), "-every", fmt.Sprint(time.Duration(2+rng.IntN(5))*time.Millisecond))
		c.killAtRandom(t, round, time.Duration(rng.IntN(400))*time.Millisecond)
		for _, line := range c.added {
			tok, ev, ok := strings.Cut(line, "\t")
			require.True(t, ok, "round %d: a line without its event: %q", round, line)
			promised[tok] = json.RawMessage(ev)
		}
	}

	srv.FailRandomly(0)
	sweepEventFaults(t, srv, queued)
	c := startChild(t, srv, app, journal, "-drain")
	stderr, err := c.wait()
	require.NoError(t, err, stderr)
	t.Log(strings.Join(c.added, "\n"))

	byToken := map[string][]yespotest.Event{}
	early := 0
	for _, ev := range srv.Events() {
		tok := chatIDOf(t, ev.Event)
		if tok == sweepID {
			continue
		}
		byToken[tok] = append(byToken[tok], ev)
		if added, ok := srv.TokenAddedAt(app, tok); !ok || ev.Time.Before(added) {
			early++
			if early <= 10 {
				t.Errorf("token %s: its event arrived at %v, before Yespo stored the token (at %v, stored: %v)",
					tok, ev.Time.Format(time.StampMicro), added.Format(time.StampMicro), ok)
			}
		}
	}
	missing, wrong, duplicated, received := 0, 0, 0, 0
	for _, evs := range byToken {
		received += len(evs)
	}
	for tok, want := range promised {
		got := byToken[tok]
		if len(got) == 0 {
			missing++
			if missing <= 10 {
				t.Errorf("token %s: AddWithEvent returned nil, Yespo never got its event", tok)
			}
			continue
		}
		if len(got) > 1 {
			duplicated++
		}
		for _, ev := range got {
			if g, w := decodedJSON(t, ev.Event), decodedJSON(t, want); !reflect.DeepEqual(g, w) {
				wrong++
				if wrong <= 10 {
					js, _ := json.Marshal(ev.Event)
					t.Errorf("token %s: the event arrived as\n%s\nnot as added:\n%s", tok, js, want)
				}
			}
		}
	}
	assert.Zero(t, early, "of %d events, these arrived before their tokens", received)
	assert.Zero(t, missing, "of %d tokens whose AddWithEvent returned nil, these lack their event", len(promised))
	assert.Zero(t, wrong, "events that arrived with other params than added")
	t.Logf("%d kills: %d tokens promised; %d events from %d distinct tokens at the fake (%d not printed before a kill), "+
		"%d tokens' events sent more than once (at-least-once); event requests answered 503: %d, 429: %d",
		kills, len(promised), received, len(byToken), len(byToken)-len(promised)+missing, duplicated, eventStatus(srv, 503), eventStatus(srv, 429))
	require.NotEmpty(t, promised, "the loop must have added something")

	j, err := yespobolt.Open(journal)
	require.NoError(t, err)
	defer j.Close()
	require.NoError(t, j.Open(ctx, yespo.JournalTarget{AppUUID: app, BaseURL: srv.URL}))
	st, err := j.Stats(ctx)
	require.NoError(t, err)
	assert.Zero(t, st.Depth, "the drain left the journal empty")
}

// sweepID is the telegramChatId of sweepEventFaults' event.
const sweepID = "sweep"

// sweepEventFaults takes the Generate event faults the killed children
// left queued, at most queued, so that the drain meets none (a durable
// Batcher's Close leaves what is held in the journal): it sends an event
// of its own until the fake accepts one, which it does only once the
// queue is empty.
func sweepEventFaults(t *testing.T, srv *yespotest.Server, queued int) {
	t.Helper()
	ev := yespo.Event{TypeKey: "sweep", KeyValue: sweepID, Params: []yespo.EventParam{{Name: "telegramChatId", Value: sweepID}}}
	for range queued + 1 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := srv.Client(yespo.WithRetry(0, 0, 0)).SendEvent(ctx, ev) // a new Client: no budget held down by the last 503
		cancel()
		var apiErr *yespo.APIError
		if err == nil {
			return
		}
		require.True(t, errors.As(err, &apiErr) && apiErr.StatusCode == 503, "sweeping the event faults: %v", err)
	}
	t.Fatalf("%d event faults were queued, and the fake still answers 503", queued)
}

// chatIDOf returns ev's telegramChatId param.
func chatIDOf(t *testing.T, ev yespo.Event) string {
	t.Helper()
	for _, p := range ev.Params {
		if p.Name == "telegramChatId" {
			raw, _ := p.Value.(json.RawMessage)
			var id string
			require.NoError(t, json.Unmarshal(raw, &id), "telegramChatId %s", raw)
			return id
		}
	}
	t.Fatalf("an event without telegramChatId: %+v", ev)
	return ""
}

// decodedJSON decodes v, or v encoded if it is not JSON text already,
// keeping numbers' digits: what two events must share to be the same.
func decodedJSON(t *testing.T, v any) any {
	t.Helper()
	raw, ok := v.(json.RawMessage)
	if !ok {
		var err error
		raw, err = json.Marshal(v)
		require.NoError(t, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	require.NoError(t, dec.Decode(&out))
	return out
}

// eventStatus counts the requests to Generate event the fake answered with
// status.
func eventStatus(srv *yespotest.Server, status int) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Status == status && strings.HasSuffix(r.Path, "/v2/event") {
			n++
		}
	}
	return n
}
