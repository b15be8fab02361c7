package yespo

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The limits Yespo documents for Generate event. Characters are counted as
// UTF-16 code units, so an emoji counts as two: the strictest reading of
// "characters", which no server counts higher. A kilobyte is taken as
// 1,000 bytes for the same reason.
const (
	MaxEventTypeKey  = 100    // characters of Event.TypeKey
	MaxEventKeyValue = 300    // characters of Event.KeyValue
	MaxEventBody     = 20_000 // bytes of the encoded request body ("20 KB")
)

// eventForbidden are the characters Yespo forbids in eventTypeKey and
// keyValue, the typographic apostrophe ’ (U+2019) and the backtick among
// them.
const eventForbidden = "<;’\\/|\"`'^?!,>"

// eventForbiddenList is eventForbidden as the errors print it.
const eventForbiddenList = "< ; ’ \\ / | \" ` ' ^ ? ! , >"

// eventIdentifiers are the param names that identify the contact of an
// event without keyValue.
var eventIdentifiers = []string{"contactId", "externalCustomerId", "email", "phone", "pushToken"}

// ValidateEventTypeKey checks s as an Event.TypeKey: not blank, valid
// UTF-8, at most MaxEventTypeKey characters, none of
// < ; ’ \ / | " ` ' ^ ? ! , > nor control characters, and no surrounding
// white space (" signup" would be another event type than "signup"). It
// returns nil or a *ValidationError (field "eventTypeKey") matching
// ErrInvalidEvent and ErrInvalidInput, which says the rule broken.
func ValidateEventTypeKey(s string) error {
	if s == "" {
		return invalidEvent("eventTypeKey", "is required: the event type a workflow starts on")
	}
	if r := eventKeyProblem(s, MaxEventTypeKey); r != "" {
		return invalidEvent("eventTypeKey", r)
	}
	return nil
}

// ValidateEventKeyValue checks s as a non-empty Event.KeyValue, by the
// rules of ValidateEventTypeKey with at most MaxEventKeyValue characters.
// A bot can use it to tell whether an identifier can serve as the key,
// and otherwise send the identifier as a param. It returns nil or a
// *ValidationError (field "keyValue") matching ErrInvalidEvent and
// ErrInvalidInput; an empty s is an error here, though an Event may go
// without a KeyValue.
func ValidateEventKeyValue(s string) error {
	if s == "" {
		return invalidEvent("keyValue", "is empty")
	}
	if r := eventKeyProblem(s, MaxEventKeyValue); r != "" {
		return invalidEvent("keyValue", r)
	}
	return nil
}

// eventKeyProblem says what is wrong with a non-empty eventTypeKey or
// keyValue, or "".
func eventKeyProblem(s string, limit int) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	if strings.TrimSpace(s) == "" {
		return "must not be blank"
	}
	n := 0
	for i, r := range s {
		switch {
		case strings.ContainsRune(eventForbidden, r):
			return "must not contain " + strconv.QuoteRune(r) + " (found at byte " + strconv.Itoa(i) + "); Yespo forbids " + eventForbiddenList
		case unicode.IsControl(r):
			return "must not contain control characters (found " + quoteRune(r) + " at byte " + strconv.Itoa(i) + ")"
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

// Validate checks ev against the rules SendEvent enforces before sending:
// TypeKey by ValidateEventTypeKey; KeyValue, when not empty, by
// ValidateEventKeyValue; every param named (not blank) and its Value
// encodable as JSON; without KeyValue, a contact identifier among the
// params — one named "contactId", "externalCustomerId", "email", "phone"
// or "pushToken" (exactly so spelled) whose value is a number or a string
// that is not blank, and for externalCustomerId not "null", since Yespo
// ignores those; and the encoded body at most MaxEventBody bytes. It
// returns nil, one *ValidationError, or several joined with errors.Join,
// each matching ErrInvalidEvent and ErrInvalidInput.
func (ev Event) Validate() error {
	_, err := ev.encode()
	return err
}

// eventBody is the request body of Generate event (v2).
type eventBody struct {
	TypeKey  string     `json:"eventTypeKey"`
	KeyValue string     `json:"keyValue,omitempty"`
	Params   []rawParam `json:"params"` // [] when none, never null
}

type rawParam struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}

// encode validates ev and returns its request body, or every problem found.
func (ev Event) encode() ([]byte, error) {
	var errs []error
	report := func(field, reason string) { errs = append(errs, invalidEvent(field, reason)) }
	if err := ValidateEventTypeKey(ev.TypeKey); err != nil {
		errs = append(errs, err)
	}
	if ev.KeyValue != "" {
		if err := ValidateEventKeyValue(ev.KeyValue); err != nil {
			errs = append(errs, err)
		}
	}
	body := eventBody{TypeKey: ev.TypeKey, KeyValue: ev.KeyValue, Params: make([]rawParam, len(ev.Params))}
	encoded, identified := true, false
	for i, p := range ev.Params {
		field := "params[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(p.Name) == "" {
			report(field+".name", "must not be blank: a workflow reads a param by its name")
		}
		raw, err := marshalValue(p.Value)
		if err != nil {
			report(field+".value", "cannot be encoded as JSON: "+err.Error())
			encoded = false
			continue
		}
		body.Params[i] = rawParam{Name: p.Name, Value: raw}
		identified = identified || identifies(p.Name, raw)
	}
	if ev.KeyValue == "" && !identified && encoded {
		report("params", identifierProblem(ev.Params))
	}
	if !encoded {
		return nil, errors.Join(errs...)
	}
	raw, err := marshalValue(body)
	if err != nil { // cannot happen: every part is a string or valid JSON
		report("event", "cannot be encoded as JSON: "+err.Error())
	} else if len(raw) > MaxEventBody {
		report("event", "encodes to "+strconv.Itoa(len(raw))+" bytes; Yespo takes at most 20 KB ("+
			strconv.Itoa(MaxEventBody)+" bytes): send fewer or smaller params")
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return raw, nil
}

// marshalValue encodes v as compact JSON without HTML escaping: a param's
// "<b>" goes as written, and does not cost six bytes per bracket of the
// 20 KB. That holds for an Event that went through json.Marshal and back
// (a journal's payload) too: the \u003c escapes that json.Marshal wrote
// into its raw values are undone.
func marshalValue(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if bytes.Contains(out, []byte(`\u00`)) {
		out = unescapeHTML(out)
	}
	return out, nil
}

// unescapeHTML turns the escapes \u003c, \u003e and \u0026 of valid JSON
// back into <, > and &, leaving every other byte as it is.
func unescapeHTML(b []byte) []byte {
	out := make([]byte, 0, len(b))
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			inString = !inString
		case c == '\\' && inString:
			if i+6 <= len(b) && b[i+1] == 'u' {
				switch strings.ToLower(string(b[i+2 : i+6])) {
				case "003c", "003e", "0026":
					r, _ := strconv.ParseUint(string(b[i+4:i+6]), 16, 8)
					out = append(out, byte(r))
					i += 5
					continue
				}
			}
			out = append(out, c, b[i+1]) // the escaped byte cannot end the string
			i++
			continue
		}
		out = append(out, c)
	}
	return out
}

// identifies reports whether a param names the event's contact: an
// identifier's name with a number or a non-blank string (for
// externalCustomerId, not "null": Yespo ignores it then).
func identifies(name string, raw json.RawMessage) bool {
	if !isEventIdentifier(name) {
		return false
	}
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		return false
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		return true
	case raw[0] != '"':
		return false // null, true, an object or an array names nobody
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return false
	}
	s = strings.TrimSpace(s)
	return s != "" && !(name == "externalCustomerId" && strings.EqualFold(s, "null"))
}

func isEventIdentifier(name string) bool {
	for _, id := range eventIdentifiers {
		if name == id {
			return true
		}
	}
	return false
}

// identifierProblem explains an event without keyValue nor identifier,
// naming a param that looks like an identifier but is not one.
func identifierProblem(params []EventParam) string {
	r := "must hold a contact identifier when keyValue is empty: a param named contactId, externalCustomerId, email, phone or pushToken " +
		`with a number or a non-blank string (an externalCustomerId of "null" does not count)`
	for i, p := range params {
		for _, id := range eventIdentifiers {
			switch {
			case p.Name == id:
				return r + "; params[" + strconv.Itoa(i) + "] (" + id + ") has no usable value"
			case strings.EqualFold(strings.TrimSpace(p.Name), id):
				return r + "; params[" + strconv.Itoa(i) + "] is named " + strconv.Quote(p.Name) + ": write it " + strconv.Quote(id)
			}
		}
	}
	return r
}

// eventError is a *ValidationError about an event: it matches
// ErrInvalidEvent besides ErrInvalidInput.
type eventError struct{ *ValidationError }

// Is reports whether target is ErrInvalidEvent or ErrInvalidInput.
func (e eventError) Is(target error) bool {
	return target == ErrInvalidEvent || target == ErrInvalidInput
}

// Unwrap returns the *ValidationError, for errors.As.
func (e eventError) Unwrap() error { return e.ValidationError }

func invalidEvent(field, reason string) error {
	return eventError{invalid(field, reason)}
}
