package telegramtest

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDefaultTokenHasTelegramsFormat: libraries that check a token's format
// before any request (telego) accept the default one, and getMe answers to
// it with the bot id before the colon.
func TestDefaultTokenHasTelegramsFormat(t *testing.T) {
	botFather := regexp.MustCompile(`^\d+:[A-Za-z0-9_-]{35}$`)
	assert.Regexp(t, botFather, DefaultToken)
	s := NewServer()
	defer s.Close()
	assert.Equal(t, DefaultToken, s.Token)
	status, env := call(context.Background(), t, s, DefaultToken, "getMe", "", nil)
	require.Equal(t, 200, status)
	var me struct {
		ID int64 `json:"id"`
	}
	require.NoError(t, json.Unmarshal(env.Result, &me))
	assert.Equal(t, int64(4242424242), me.ID)
}
