// Package event validates a Generate event and encodes its request body.
// Each problem is a field and a reason in plain words: the root package
// turns them into *ValidationError values matching ErrInvalidEvent.
package event

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/yespo-go/yespo/internal/validate"
)

// The limits Yespo documents for Generate event, in UTF-16 code units for
// characters and 1,000-byte kilobytes: the strictest readings.
const (
	MaxTypeKey  = 100    // characters of eventTypeKey
	MaxKeyValue = 300    // characters of keyValue
	MaxBody     = 20_000 // bytes of the encoded request body ("20 KB")
)

// forbidden are the characters Yespo forbids in eventTypeKey and
// keyValue, the typographic apostrophe ’ (U+2019) and the backtick among
// them.
const forbidden = "<;’\\/|\"`'^?!,>"

// forbiddenList is forbidden as the errors print it.
const forbiddenList = "< ; ’ \\ / | \" ` ' ^ ? ! , >"

// TypeKey says what is wrong with s as an eventTypeKey, or "".
func TypeKey(s string) string {
	if s == "" {
		return "is required: the event type a workflow starts on"
	}
	return keyProblem(s, MaxTypeKey)
}

// KeyValue says what is wrong with s as a non-empty keyValue, or "".
func KeyValue(s string) string {
	if s == "" {
		return "is empty"
	}
	return keyProblem(s, MaxKeyValue)
}

// keyProblem says what is wrong with a non-empty eventTypeKey or
// keyValue, or "".
func keyProblem(s string, limit int) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	if strings.TrimSpace(s) == "" {
		return "must not be blank"
	}
	n := 0
	for i, r := range s {
		switch {
		case strings.ContainsRune(forbidden, r):
			return "must not contain " + strconv.QuoteRune(r) + " (found at byte " + strconv.Itoa(i) + "); Yespo forbids " + forbiddenList
		case unicode.IsControl(r):
			return "must not contain control characters (found " + validate.QuoteRune(r) + " at byte " + strconv.Itoa(i) + ")"
		}
		n += utf16.RuneLen(r)
	}
	switch {
	case n > limit:
		return "must be at most " + strconv.Itoa(limit) + " characters, got " + strconv.Itoa(n)
	case strings.TrimSpace(s) != s:
		return "has surrounding white space: trim it"
	}
	return ""
}
