package redact

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// What a server says, made fit to print: the text of an error body, on one
// line. It is scrubbed whole before it is cut (see Scrubber.Text).

// RawMessage extracts the server's text from an error body, decoded but not
// yet cleaned or cut, so that it can be scrubbed whole: the "message",
// "error" or "errorMessage" string of a JSON object, a JSON string, the
// title of an HTML page, or else the trimmed text.
func RawMessage(body []byte, contentType string) string {
	trimmed := bytes.TrimSpace(body)
	msg := ""
	switch {
	case len(trimmed) == 0:
	case trimmed[0] == '{':
		msg = jsonMessage(trimmed)
	case trimmed[0] == '"':
		_ = json.Unmarshal(trimmed, &msg)
	case strings.Contains(strings.ToLower(contentType), "html") || trimmed[0] == '<':
		msg = htmlTitle(trimmed)
	}
	if strings.TrimSpace(msg) == "" {
		msg = string(trimmed)
	}
	return msg
}

// jsonMessage returns the first non-blank string among the object's
// "message", "error" and "errorMessage" members; members of other types (as
// in {"error":true,"message":"…"}) are skipped, not fatal.
func jsonMessage(obj []byte) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return ""
	}
	for _, key := range []string{"message", "error", "errorMessage"} {
		var s string
		if json.Unmarshal(m[key], &s) == nil && strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// htmlTitle returns the text of the first <title> element, or "".
func htmlTitle(b []byte) string {
	lower := bytes.ToLower(b)
	start := bytes.Index(lower, []byte("<title>"))
	if start < 0 {
		return ""
	}
	start += len("<title>")
	end := bytes.Index(lower[start:], []byte("</title>"))
	if end < 0 {
		return ""
	}
	return string(b[start : start+end])
}

// Clean makes s fit for one line of an error: valid UTF-8, runs of white
// space and control characters folded to one space, at most n bytes.
func Clean(s string, n int) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = true
			continue
		}
		sep := 0
		if space && b.Len() > 0 {
			sep = 1
		}
		if b.Len()+sep+utf8.RuneLen(r) > n {
			break
		}
		if sep == 1 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}
