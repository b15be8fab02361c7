package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/deeplink"
	"github.com/yespo-go/yespo/telegramtest"
)

// telegram-bot -link, as a shop's script runs it: the link alone on
// stdout and exit status 0; errors on stderr, status 2 for a usage mistake
// and 1 for a failure.
func TestLinkCommand(t *testing.T) {
	tg := telegramtest.NewServer()
	t.Cleanup(tg.Close)
	env := map[string]string{"TELEGRAM_BOT_TOKEN": tg.Token, "TELEGRAM_API_URL": tg.URL, "TELEGRAM_LINK_SECRET": testSecret}
	without := func(key string) map[string]string {
		m := map[string]string{}
		for k, v := range env {
			if k != key {
				m[k] = v
			}
		}
		return m
	}
	wrongToken := without("TELEGRAM_BOT_TOKEN")
	wrongToken["TELEGRAM_BOT_TOKEN"] = "1:wrong"

	stdout, stderr, status := runCommand(t, env, "-link", "crm-42")
	assert.Equal(t, "https://t.me/YespoDemoBot?start="+signed(t, "crm-42")+"\n", stdout)
	assert.Empty(t, stderr)
	assert.Zero(t, status)

	cases := []struct {
		name   string
		env    map[string]string
		status int
		stderr string
	}{
		{"no secret", without("TELEGRAM_LINK_SECRET"), 2, "telegram-bot: missing TELEGRAM_LINK_SECRET\n"},
		{"no token", without("TELEGRAM_BOT_TOKEN"), 2, "telegram-bot: missing TELEGRAM_BOT_TOKEN (or -telegram-bot-token)\n"},
		{"wrong token", wrongToken, 1, "telegram-bot: telegram getMe at " + tg.URL + " (is TELEGRAM_BOT_TOKEN right?): unauthorized"},
	}
	for _, c := range cases {
		stdout, stderr, status := runCommand(t, c.env, "-link", "crm-42")
		assert.Empty(t, stdout, c.name)
		assert.True(t, strings.HasPrefix(stderr, c.stderr), "%s: %q", c.name, stderr)
		assert.Equal(t, c.status, status, c.name)
		assert.NotContains(t, stderr, testSecret, c.name)
	}
}

// runCommand runs the built command with env and args, and returns what it
// wrote and its exit status.
func runCommand(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, builtBot(t), args...)
	cmd.Env = envList(env)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		status = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return out.String(), errOut.String(), status
}

// -valid-for signs an expiry into the link.
func TestLinkValidFor(t *testing.T) {
	tg := telegramtest.NewServer()
	t.Cleanup(tg.Close)
	env := map[string]string{"TELEGRAM_BOT_TOKEN": tg.Token, "TELEGRAM_API_URL": tg.URL, "TELEGRAM_LINK_SECRET": testSecret}
	var out bytes.Buffer
	require.NoError(t, run(bounded(t), []string{"-link", "crm-42", "-valid-for", "720h"}, getenv(env), &out, &out))
	payload, ok := strings.CutPrefix(strings.TrimSpace(out.String()), "https://t.me/YespoDemoBot?start=")
	require.True(t, ok, out.String())

	id, err := deeplink.Verify([]byte(testSecret), payload)
	require.NoError(t, err)
	assert.Equal(t, "crm-42", id)
	later := func() time.Time { return time.Now().Add(721 * time.Hour) }
	_, err = deeplink.Verify([]byte(testSecret), payload, deeplink.Now(later))
	assert.ErrorIs(t, err, deeplink.ErrExpired)
}
