package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/demo.golden from this run")

// The demo prints the same transcript and contacts on every run but for the
// signed payloads, which its random secret makes new each time: the
// comparison names them <payload 1>, <payload 2>… in order of appearance,
// so that the golden file still shows which are the same. It needs no
// environment: variables that are set do not leak into it.
func TestDemo(t *testing.T) {
	golden := filepath.Join("testdata", "demo.golden")
	env := map[string]string{"TELEGRAM_BOT_TOKEN": "1:real", "YESPO_API_KEY": "real", "TELEGRAM_API_URL": "http://127.0.0.1:1"}
	var out bytes.Buffer
	require.NoError(t, run(bounded(t), []string{"-demo"}, getenv(env), &out, io.Discard))
	got := maskPayloads(out.String())
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), got, "go test ./examples/telegram-bot -run TestDemo -update rewrites the golden file")
	assert.Contains(t, got, "<payload 3>", "three signed payloads: Ann's, its forgery, Dan's")
}

// payloadRE is a signed payload: deeplink's are 14 to 64 characters, after
// "start=" in a link or "/start " in a message.
var payloadRE = regexp.MustCompile(`(start=|/start )([A-Za-z0-9_-]{14,64})`)

func maskPayloads(s string) string {
	names := map[string]string{}
	return payloadRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := payloadRE.FindStringSubmatch(m)
		if names[sub[2]] == "" {
			names[sub[2]] = fmt.Sprintf("<payload %d>", len(names)+1)
		}
		return sub[1] + names[sub[2]]
	})
}

// A cancelled demo (Ctrl-C) stops with the context's error.
func TestDemoStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := run(ctx, []string{"-demo"}, getenv(nil), io.Discard, io.Discard)
	assert.ErrorIs(t, err, context.Canceled)
}
