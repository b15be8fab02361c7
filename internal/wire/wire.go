// Package wire holds the small encodings between the client and Yespo:
// escaping a path segment, quoting a body in an error, reading an id.
package wire

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// Segment escapes one path segment; "." and ".." are escaped too, so that
// no server or proxy can read them as path navigation.
func Segment(s string) string {
	switch s {
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	return url.PathEscape(s)
}

// Snippet quotes at most 200 bytes of b for an error message.
func Snippet(b []byte) string {
	const n = 200
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if len(s) > n {
		return strconv.Quote(s[:n]) + "…"
	}
	if s == "" {
		return "empty body"
	}
	return strconv.Quote(s)
}

// DecodeID reads {"id":N}, also when N comes as a numeric string, from a
// body of at most max bytes. It reports false unless N is a positive int64.
func DecodeID(raw []byte, max int) (int64, bool) {
	var v struct {
		ID json.RawMessage `json:"id"`
	}
	if len(raw) > max || json.Unmarshal(raw, &v) != nil {
		return 0, false
	}
	s := string(bytes.Trim(v.ID, `"`))
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, false
	}
	return id, true
}

// TokensBody encodes tokens as the body of Add application tokens,
// {"tokens":[...]}. encoding/json is fast enough by far: about 10 million
// tokens a second on one core, a hundred times what Yespo accepts from an
// account (BENCHMARKS.md).
func TokensBody[T any](tokens []T) ([]byte, error) {
	return json.Marshal(struct {
		Tokens []T `json:"tokens"`
	}{tokens})
}

// ReadID reads a 2xx answer of at most max bytes and decodes its id (see
// DecodeID). It returns the bytes read, for an error to quote, and false
// when they hold no id; err is a failed read.
func ReadID(body io.Reader, max int) (id int64, raw []byte, ok bool, err error) {
	raw, err = io.ReadAll(io.LimitReader(body, int64(max)+1))
	if err != nil {
		return 0, raw, false, err
	}
	id, ok = DecodeID(raw, max)
	return id, raw, ok, nil
}

// MuteBody is the body of Mute a token, {"token":…,"duration":seconds},
// the duration left out when seconds is 0 (a mute until unmuted); that is
// also the body of Unmute a token, {"token":…}.
func MuteBody(token string, seconds int64) ([]byte, error) {
	return json.Marshal(struct {
		Token    string `json:"token"`
		Duration int64  `json:"duration,omitempty"`
	}{token, seconds})
}
