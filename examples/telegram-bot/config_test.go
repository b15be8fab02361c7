package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
)

const testApp = "123e4567-e89b-12d3-a456-426614174000"

func TestConfigFromTheEnvironmentWithDefaults(t *testing.T) {
	cfg, err := parseConfig(nil, getenv(map[string]string{
		"TELEGRAM_BOT_TOKEN": "1:tok", "YESPO_API_KEY": "key", "YESPO_APP_UUID": " " + testApp + "\n",
		"TELEGRAM_LINK_SECRET": testSecret,
	}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, config{
		telegramToken: "1:tok", telegramURL: "https://api.telegram.org",
		yespoKey: "key", appUUID: testApp, yespoURL: yespo.DefaultBaseURL, linkSecret: testSecret,
		journalPath: defaultJournal, maxConns: defaultMaxConns, sendRate: defaultSendRate,
	}, cfg, "values are trimmed, as pasted ones often end in a newline")
}

func TestFlagsWinOverTheEnvironment(t *testing.T) {
	env := map[string]string{
		"TELEGRAM_BOT_TOKEN": "1:env", "TELEGRAM_API_URL": "http://env.example", "YESPO_API_KEY": "env",
		"YESPO_APP_UUID": "00000000-0000-0000-0000-000000000000", "YESPO_BASE_URL": "http://env.example/api/",
	}
	cfg, err := parseConfig([]string{
		"-telegram-bot-token", "1:flag", "-telegram-api-url", "http://flag.example", "-yespo-api-key", "flag",
		"-yespo-app-uuid", testApp, "-yespo-base-url", "http://flag.example/api/",
		"-webhook", ":8443", "-webhook-url", "https://bot.example/tg",
	}, getenv(env), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, config{
		telegramToken: "1:flag", telegramURL: "http://flag.example", yespoKey: "flag", appUUID: testApp,
		yespoURL: "http://flag.example/api/", webhookAddr: ":8443", webhookURL: "https://bot.example/tg",
		journalPath: defaultJournal, maxConns: defaultMaxConns, sendRate: defaultSendRate,
	}, cfg)
}

// -link needs the bot token and the link secret, and nothing of Yespo.
func TestLinkNeedsOnlyTheTokenAndTheSecret(t *testing.T) {
	cfg, err := parseConfig([]string{"-link", "crm-42", "-valid-for", "720h"},
		getenv(map[string]string{"TELEGRAM_BOT_TOKEN": "1:tok", "TELEGRAM_LINK_SECRET": testSecret}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "crm-42", cfg.linkFor)
	assert.Equal(t, 720*time.Hour, cfg.linkValidFor)
}

func TestDemoNeedsNoConfiguration(t *testing.T) {
	cfg, err := parseConfig([]string{"-demo"}, getenv(nil), io.Discard)
	require.NoError(t, err)
	assert.True(t, cfg.demo)
}

// -h lists the variables but never the secrets they hold.
func TestHelpKeepsSecretsOut(t *testing.T) {
	var out bytes.Buffer
	env := map[string]string{"TELEGRAM_BOT_TOKEN": "1:SECRET-TOKEN", "YESPO_API_KEY": "SECRET-KEY", "TELEGRAM_LINK_SECRET": "SECRET-" + testSecret}
	err := run(context.Background(), []string{"-h"}, getenv(env), io.Discard, &out)
	require.ErrorIs(t, err, flag.ErrHelp)
	for _, name := range []string{"TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL", "TELEGRAM_LINK_SECRET", "openssl rand -hex 32",
		"YESPO_API_KEY", "YESPO_APP_UUID", "YESPO_BASE_URL", "-webhook", "-link", "-valid-for", "-demo"} {
		assert.Contains(t, out.String(), name)
	}
	assert.NotContains(t, out.String(), "SECRET-")
}

func TestConfigErrors(t *testing.T) {
	full := map[string]string{"TELEGRAM_BOT_TOKEN": "1:x", "YESPO_API_KEY": "k", "YESPO_APP_UUID": testApp}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range full {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"nothing set":        {nil, nil, "missing TELEGRAM_BOT_TOKEN (or -telegram-bot-token), YESPO_API_KEY (or -yespo-api-key), YESPO_APP_UUID (or -yespo-app-uuid); -demo runs without them"},
		"blank token":        {nil, with("TELEGRAM_BOT_TOKEN", "  "), "missing TELEGRAM_BOT_TOKEN"},
		"bad app":            {nil, with("YESPO_APP_UUID", "my-bot"), "YESPO_APP_UUID: yespo: invalid appUUID"},
		"webhook, no url":    {[]string{"-webhook", ":8443"}, full, "-webhook and -webhook-url go together"},
		"url, no webhook":    {[]string{"-webhook-url", "https://x.example/"}, full, "-webhook and -webhook-url go together"},
		"relative url":       {[]string{"-webhook", ":8443", "-webhook-url", "/hook"}, full, "not an absolute http(s) URL"},
		"stray argument":     {[]string{"start"}, full, `unexpected argument "start"`},
		"unknown flag":       {[]string{"-token", "x"}, full, "flag provided but not defined: -token"},
		"short secret":       {nil, with("TELEGRAM_LINK_SECRET", testSecret[1:]), "TELEGRAM_LINK_SECRET has 31 bytes, needs at least 32: make one with `openssl rand -hex 32`"},
		"secret with space":  {nil, with("TELEGRAM_LINK_SECRET", testSecret+"\n"), "TELEGRAM_LINK_SECRET starts or ends with white space"},
		"link, no secret":    {[]string{"-link", "crm-42"}, with("YESPO_API_KEY", ""), "missing TELEGRAM_LINK_SECRET"},
		"link, no token":     {[]string{"-link", "crm-42"}, map[string]string{"TELEGRAM_LINK_SECRET": testSecret}, "missing TELEGRAM_BOT_TOKEN (or -telegram-bot-token)"},
		"link, id too long":  {[]string{"-link", strings.Repeat("a", 40)}, with("TELEGRAM_LINK_SECRET", testSecret), "-link: deeplink: invalid customer id: 40 bytes, at most 39"},
		"link, bad validity": {[]string{"-link", "crm-42", "-valid-for", "10ms"}, with("TELEGRAM_LINK_SECRET", testSecret), "-link: deeplink: invalid expiry"},
		"valid-for, no link": {[]string{"-valid-for", "1h"}, full, "-valid-for goes with -link"},
		"bad yespo base url": {nil, with("YESPO_BASE_URL", "ftp://yespo.example/"), "baseURL"},
	}
	for name, tc := range cases {
		err := run(context.Background(), tc.args, getenv(tc.env), io.Discard, io.Discard)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), tc.want, name)
	}
}
