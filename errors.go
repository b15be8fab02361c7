package yespo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors for errors.Is. An *APIError matches the one that fits its
// status code; every *ValidationError matches ErrInvalidInput.
var (
	// ErrInvalidInput is matched by every *ValidationError: the input was
	// rejected before any network call.
	ErrInvalidInput = errors.New("yespo: invalid input")
	// ErrUnauthorized is matched by an *APIError with status 401: the API key
	// is wrong or revoked.
	ErrUnauthorized = errors.New("yespo: unauthorized")
	// ErrForbidden is matched by an *APIError with status 403: the key lacks
	// the permission for this method.
	ErrForbidden = errors.New("yespo: forbidden")
	// ErrBadRequest is matched by an *APIError with status 400: Yespo
	// refused the request as sent, e.g. "Wrong app uuid". Sending it again
	// unchanged does not help.
	ErrBadRequest = errors.New("yespo: bad request")
	// ErrNotFound is matched by an *APIError with status 404: an unknown
	// app (see ErrAppNotFound), an unknown token, or a wrong base URL.
	ErrNotFound = errors.New("yespo: not found")
	// ErrAppNotFound is matched, together with ErrNotFound, by Yespo's 404
	// "Not registered application": the app UUID is not one of the
	// account's connected bots. It is a configuration error; no retry and
	// no other token fixes it.
	ErrAppNotFound = errors.New("yespo: app not registered")
	// ErrRateLimited is matched by an *APIError with status 429. Its
	// RetryAfter field says how long to wait when the server said so.
	ErrRateLimited = errors.New("yespo: rate limited")
	// ErrServer is matched by an *APIError with a 5xx status.
	ErrServer = errors.New("yespo: server error")
	// ErrUnexpectedResponse is matched when a 2xx answer does not carry what
	// the endpoint documents (e.g. ContactIDByToken without a numeric "id").
	ErrUnexpectedResponse = errors.New("yespo: unexpected response")
)

// APIError is returned when Yespo (or something in between) answers with a
// status outside 2xx, after any retries. Use errors.Is with the sentinels
// above to branch on the kind, errors.As to read the details.
//
// Message is the server's text: the "message", "error" or "errorMessage"
// string of a JSON body, a JSON string, an HTML page's title, or the plain
// text, on one trimmed line. RetryAfter comes from a Retry-After header in
// seconds or as an HTTP date (or, failing that, a RateLimit-Reset or
// X-RateLimit-Reset header); it is 0 when none was sent. Attempts is the
// number of requests made, retries included. Path is relative to the base
// URL, as in "v1/apps/<uuid>/tokens". The API key never appears in any field:
// a server that echoes it back has it replaced by "[REDACTED]".
type APIError struct {
	StatusCode int
	Message    string        // the server's text, at most 1 KiB
	Body       []byte        // raw body, at most 64 KiB
	RetryAfter time.Duration // from Retry-After, when sent (see below)
	Attempts   int
	Method     string
	Path       string // endpoint path, no host, no credentials
}

// Error reads like "yespo: POST v1/apps/<uuid>/tokens: 404 Not Found: Not
// registered application", followed by the retry hint and attempt count when
// they say something.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("yespo: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Path)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if text := http.StatusText(e.StatusCode); text != "" {
		b.WriteByte(' ')
		b.WriteString(text)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	var notes []string
	if e.RetryAfter > 0 {
		notes = append(notes, "retry after "+e.RetryAfter.String())
	}
	if e.Attempts > 1 {
		notes = append(notes, strconv.Itoa(e.Attempts)+" attempts")
	}
	if len(notes) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(notes, ", "))
		b.WriteByte(')')
	}
	return b.String()
}

// Is reports whether the status code belongs to target: 400 ErrBadRequest,
// 401 ErrUnauthorized, 403 ErrForbidden, 404 ErrNotFound (and ErrAppNotFound
// for "Not registered application"), 429 ErrRateLimited, 5xx ErrServer.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrBadRequest:
		return e.StatusCode == http.StatusBadRequest
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrAppNotFound:
		return e.StatusCode == http.StatusNotFound && strings.Contains(strings.ToLower(e.Message), "not registered application")
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrServer:
		return e.StatusCode >= 500 && e.StatusCode <= 599
	}
	return false
}

// ValidationError says which input was rejected and why, before any network
// call. It always matches ErrInvalidInput. AddAppTokens returns one per bad
// field, joined with errors.Join; errors.As finds the first.
type ValidationError struct {
	Index  int    // position in the tokens slice; -1 when not about a token
	Field  string // "token", "contactId", "externalCustomerId", "phone", "email", "appUUID", "duration", "tokens"
	Reason string
}

// Error reads like "yespo: invalid tokens[3].phone: must be ..." or, when the
// error is not about an element of a tokens slice, "yespo: invalid appUUID: ...".
func (e *ValidationError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("yespo: invalid tokens[%d].%s: %s", e.Index, e.Field, e.Reason)
	}
	return fmt.Sprintf("yespo: invalid %s: %s", e.Field, e.Reason)
}

// Is reports whether target is ErrInvalidInput.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidInput }

// invalid is shorthand for a *ValidationError that is not about a slice element.
func invalid(field, reason string) *ValidationError {
	return &ValidationError{Index: -1, Field: field, Reason: reason}
}

// maxMessage bounds APIError.Message.
const maxMessage = 1 << 10

// errorMessage extracts the server's text from an error body: the "message",
// "error" or "errorMessage" string of a JSON object, a JSON string, the title
// of an HTML page, or else the trimmed text. Control characters are dropped
// and the result is cut at 1 KiB on a rune boundary.
func errorMessage(body []byte, contentType string) string {
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
	return clean(msg, maxMessage)
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

// clean makes s fit for one line of an error: valid UTF-8, runs of white
// space and control characters folded to one space, at most n bytes.
func clean(s string, n int) string {
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
