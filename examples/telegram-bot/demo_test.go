package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/demo.golden from this run")

// The demo prints the same transcript and contacts on every run, and needs
// no environment: variables that are set do not leak into it.
func TestDemo(t *testing.T) {
	golden := filepath.Join("testdata", "demo.golden")
	env := map[string]string{"TELEGRAM_BOT_TOKEN": "1:real", "YESPO_API_KEY": "real", "TELEGRAM_API_URL": "http://127.0.0.1:1"}
	var out bytes.Buffer
	require.NoError(t, run(bounded(t), []string{"-demo"}, getenv(env), &out, io.Discard))
	if *update {
		require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), out.String(), "go test ./examples/telegram-bot -run TestDemo -update rewrites the golden file")
}

// A cancelled demo (Ctrl-C) stops with the context's error.
func TestDemoStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := run(ctx, []string{"-demo"}, getenv(nil), io.Discard, io.Discard)
	assert.ErrorIs(t, err, context.Canceled)
}
