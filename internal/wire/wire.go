// Package wire holds the small encodings between the client and Yespo:
// escaping a path segment, quoting a body in an error, reading an id.
package wire

import (
	"bytes"
	"encoding/json"
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
