package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
)

const testApp = "123e4567-e89b-12d3-a456-426614174000"

func TestConfigFromTheEnvironmentWithDefaults(t *testing.T) {
	cfg, err := parseConfig(nil, getenv(map[string]string{
		"TELEGRAM_BOT_TOKEN": "1:tok", "YESPO_API_KEY": "key", "YESPO_APP_UUID": " " + testApp + "\n",
	}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, config{
		telegramToken: "1:tok", telegramURL: "https://api.telegram.org",
		yespoKey: "key", appUUID: testApp, yespoURL: yespo.DefaultBaseURL,
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
	}, cfg)
}

func TestDemoNeedsNoConfiguration(t *testing.T) {
	cfg, err := parseConfig([]string{"-demo"}, getenv(nil), io.Discard)
	require.NoError(t, err)
	assert.True(t, cfg.demo)
}
