package event

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Param is one param of an event: a name and any value encodable as JSON.
type Param struct {
	Name  string
	Value any
}

// Problem is one rule an event breaks: the field and why.
type Problem struct{ Field, Reason string }

// identifiers are the param names that identify the contact of an
// event without keyValue.
var identifiers = []string{"contactId", "externalCustomerId", "email", "phone", "pushToken"}

// body is the request body of Generate event (v2).
type body struct {
	TypeKey  string     `json:"eventTypeKey"`
	KeyValue string     `json:"keyValue,omitempty"`
	Params   []rawParam `json:"params"` // [] when none, never null
}

type rawParam struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}

// Encode validates an event and returns its request body, or every
// problem found, in field order.
func Encode(typeKey, keyValue string, params []Param) ([]byte, []Problem) {
	var probs []Problem
	report := func(field, reason string) { probs = append(probs, Problem{field, reason}) }
	if r := TypeKey(typeKey); r != "" {
		report("eventTypeKey", r)
	}
	if keyValue != "" {
		if r := KeyValue(keyValue); r != "" {
			report("keyValue", r)
		}
	}
	b := body{TypeKey: typeKey, KeyValue: keyValue, Params: make([]rawParam, len(params))}
	encoded, identified := true, false
	for i, p := range params {
		field := "params[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(p.Name) == "" {
			report(field+".name", "must not be blank: a workflow reads a param by its name")
		}
		raw, err := Marshal(p.Value)
		if err != nil {
			report(field+".value", "cannot be encoded as JSON: "+err.Error())
			encoded = false
			continue
		}
		b.Params[i] = rawParam{Name: p.Name, Value: raw}
		identified = identified || identifies(p.Name, raw)
	}
	if keyValue == "" && !identified && encoded {
		report("params", identifierProblem(params))
	}
	if !encoded {
		return nil, probs
	}
	raw, err := Marshal(b)
	if err != nil { // cannot happen: every part is a string or valid JSON
		report("event", "cannot be encoded as JSON: "+err.Error())
	} else if len(raw) > MaxBody {
		report("event", "encodes to "+strconv.Itoa(len(raw))+" bytes; Yespo takes at most 20 KB ("+
			strconv.Itoa(MaxBody)+" bytes): send fewer or smaller params")
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return raw, nil
}

// Marshal encodes v as compact JSON without HTML escaping: a param's
// "<b>" goes as written, and does not cost six bytes per bracket of the
// 20 KB. That holds for an Event that went through json.Marshal and back
// (a journal's payload) too: the \u003c escapes that json.Marshal wrote
// into its raw values are undone.
func Marshal(v any) (json.RawMessage, error) {
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
	if !isIdentifier(name) {
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

func isIdentifier(name string) bool {
	for _, id := range identifiers {
		if name == id {
			return true
		}
	}
	return false
}

// identifierProblem explains an event without keyValue nor identifier,
// naming a param that looks like an identifier but is not one.
func identifierProblem(params []Param) string {
	r := "must hold a contact identifier when keyValue is empty: a param named contactId, externalCustomerId, email, phone or pushToken " +
		`with a number or a non-blank string (an externalCustomerId of "null" does not count)`
	for i, p := range params {
		for _, id := range identifiers {
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
