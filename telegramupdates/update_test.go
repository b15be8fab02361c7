package telegramupdates_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/telegramupdates"
)

// Parse finds the chat, or the user, of every kind of update that has one.
func TestParse(t *testing.T) {
	for raw, chat := range map[string]int64{
		`{"update_id":1,"message":{"message_id":5,"chat":{"id":42,"type":"private"},"from":{"id":42}}}`: 42,
		`{"update_id":1,"edited_message":{"chat":{"id":-100}}}`:                                         -100,
		`{"update_id":1,"channel_post":{"chat":{"id":-1001}}}`:                                          -1001,
		`{"update_id":1,"callback_query":{"id":"x","from":{"id":7},"message":{"chat":{"id":8}}}}`:       8,
		`{"update_id":1,"callback_query":{"id":"x","from":{"id":7},"inline_message_id":"y"}}`:           7,
		`{"update_id":1,"my_chat_member":{"chat":{"id":9},"from":{"id":9}}}`:                            9,
		`{"update_id":1,"inline_query":{"id":"q","from":{"id":11}}}`:                                    11,
		`{"update_id":1,"poll_answer":{"poll_id":"p","user":{"id":12}}}`:                                12,
		`{"update_id":1,"poll":{"id":"p"}}`:                                                             0,
	} {
		u, err := telegramupdates.Parse([]byte(raw))
		require.NoError(t, err, raw)
		assert.Equal(t, int64(1), u.ID)
		assert.Equal(t, chat, u.ChatID, raw)
		assert.Equal(t, raw, string(u.Raw))
	}
	for _, raw := range []string{`{}`, `{"update_id":0}`, `[]`, `{"update_id":"1"}`, `nope`} {
		_, err := telegramupdates.Parse([]byte(raw))
		assert.Error(t, err, raw)
	}
	_, err := telegramupdates.Parse([]byte(`{"message":{"text":"my phone is +380501234567"}}`))
	assert.ErrorIs(t, err, telegramupdates.ErrNoUpdateID)
}
