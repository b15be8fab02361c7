package main

import (
	"maps"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/yespotest"
)

// A journal belongs to one app. The built bot, run with another
// YESPO_APP_UUID on a journal that still holds a subscriber's token, exits
// with the count and what to do; once that token is delivered (a run for
// its own app), the empty journal follows the new app, with one log line.
func TestJournalOfAnotherApp(t *testing.T) {
	tg, ys, cfg := fakes(t)
	env := contractEnv(t, tg, ys, cfg.appUUID)
	env["YESPO_JOURNAL"] = cfg.journalPath
	other := maps.Clone(env)
	other["YESPO_APP_UUID"] = ys.NewApp()

	ys.FailRandomly(1, yespotest.Fault{Status: 503}) // Ann's token stays in the journal
	p := startProc(t, nil, env)
	waitUp(t, p, tg, "polling")
	ann := tg.NewUser(1001, "Ann")
	ann.Send("/start " + signed(t, "crm-42"))
	_, err := ann.WaitMessages(bounded(t), 1)
	require.NoError(t, err)
	p.stop()

	refused := startProc(t, nil, other)
	select {
	case err = <-refused.exited:
	case <-time.After(waitLimit):
		t.Fatal("the bot did not exit on a journal of another app")
	}
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, refused.stderr.String())
	for _, want := range []string{
		"holds 1 token(s) for app " + cfg.appUUID,
		"to deliver them, run against app " + cfg.appUUID,
		"to drop them, remove " + cfg.journalPath,
	} {
		assert.Contains(t, refused.stderr.String(), want)
	}

	ys.FailRandomly(0)
	p = startProc(t, nil, env) // the first app's run delivers Ann
	waitUp(t, p, tg, "polling")
	for ctx := bounded(t); ; {
		if _, ok := ys.ContactByToken(cfg.appUUID, "1001"); ok {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("Ann's token never reached Yespo")
		case <-time.After(10 * time.Millisecond):
		}
	}
	p.stop()

	p = startProc(t, nil, other)
	waitUp(t, p, tg, "polling")
	p.stop()
	assert.Equal(t, 1, strings.Count(p.stderr.String(), "re-bound"), p.stderr.String())
	assert.Contains(t, p.stderr.String(), "from_app="+cfg.appUUID)
}
