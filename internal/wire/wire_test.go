package wire

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
)

func TestSegment(t *testing.T) {
	for in, want := range map[string]string{".": "%2E", "..": "%2E%2E", "a/b": "a%2Fb", "a b?": "a%20b%3F", "...": "..."} {
		assert.Equal(t, want, Segment(in), in)
	}
}

func TestSnippet(t *testing.T) {
	assert.Equal(t, "empty body", Snippet(nil))
	assert.Equal(t, `"a\"b"`, Snippet([]byte(`a"b`)))
	assert.Equal(t, "\"\uFFFD\"", Snippet([]byte{0xff}))
	long := Snippet([]byte(strings.Repeat("x", 300)))
	assert.Equal(t, `"`+strings.Repeat("x", 200)+`"…`, long)
}

func TestDecodeID(t *testing.T) {
	for in, want := range map[string]int64{`{"id":42}`: 42, `{"id":"7"}`: 7, `{"id":0}`: 0, `{"id":-1}`: 0,
		`{"id":1.5}`: 0, `{}`: 0, `[1]`: 0, `{"id":9223372036854775808}`: 0} {
		got, ok := DecodeID([]byte(in), 1<<10)
		assert.Equal(t, want, got, in)
		assert.Equal(t, want > 0, ok, in)
	}
	_, ok := DecodeID([]byte(`{"id":1,"pad":"`+strings.Repeat("x", 100)+`"}`), 64)
	assert.False(t, ok, "too large")
}

func TestTokensBody(t *testing.T) {
	type tok struct {
		Token string `json:"token"`
		Phone string `json:"phone,omitempty"`
	}
	b, err := TokensBody([]tok{{"1", ""}, {"2", "+380501234567"}})
	assert.NoError(t, err)
	assert.Equal(t, `{"tokens":[{"token":"1"},{"token":"2","phone":"+380501234567"}]}`, string(b))
}

func TestReadID(t *testing.T) {
	id, raw, ok, err := ReadID(strings.NewReader(`{"id":"12"}`), 64)
	assert.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, int64(12), id)
	assert.Equal(t, `{"id":"12"}`, string(raw))
	_, raw, ok, err = ReadID(strings.NewReader(strings.Repeat("x", 100)), 64)
	assert.NoError(t, err)
	assert.False(t, ok)
	assert.Len(t, raw, 65, "one byte past the bound tells a long answer from one at the bound")
	_, _, ok, err = ReadID(iotest.ErrReader(errors.New("reset")), 64)
	assert.EqualError(t, err, "reset")
	assert.False(t, ok)
}

func TestMuteBody(t *testing.T) {
	b, err := MuteBody(`a"b`, 60)
	assert.NoError(t, err)
	assert.Equal(t, `{"token":"a\"b","duration":60}`, string(b))
	b, err = MuteBody("7", 0)
	assert.NoError(t, err)
	assert.Equal(t, `{"token":"7"}`, string(b))
}
