package yespo

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// oracleEventKey is the type key rule written again, plainly.
func oracleEventKey(s string) bool {
	return s != "" && utf8.ValidString(s) && strings.TrimSpace(s) == s &&
		len(utf16.Encode([]rune(s))) <= 100 &&
		!strings.ContainsAny(s, "<;’\\/|\"`'^?!,>") && !strings.ContainsFunc(s, unicode.IsControl)
}

// A value of any text reaches Yespo as that text (invalid UTF-8 replaced,
// byte by byte, as encoding/json does), in valid JSON without HTML escapes; an Event
// that went through json.Marshal and back encodes to the same body; and
// the type key rule matches the oracle.
func FuzzEventEncode(f *testing.F) {
	f.Add("Ann <b>", "signup")
	f.Add(`x\u003c & "<"`, "a?b")
	f.Add("\xff\u2028<>&", " t")
	f.Add(`\\u003c`, "emoji🙂")
	f.Fuzz(func(t *testing.T, s, key string) {
		if got, want := ValidateEventTypeKey(key) == nil, oracleEventKey(key); got != want {
			t.Fatalf("ValidateEventTypeKey(%q): valid %v, the oracle says %v", key, got, want)
		}
		ev := Event{TypeKey: "t", KeyValue: "k", Params: []EventParam{
			{Name: "v", Value: s},
			{Name: "o", Value: map[string][]string{s: {s}}},
		}}
		body, err := ev.encode()
		var ve *ValidationError
		switch {
		case errors.As(err, &ve) && ve.Field == "event":
			return // over 20 KB once encoded, rightly refused
		case err != nil:
			t.Fatalf("encode(%q): %v", s, err)
		}
		if !json.Valid(body) {
			t.Fatalf("invalid JSON: %s", body)
		}
		if bytes.ContainsAny(body, "<>&") != strings.ContainsAny(string([]rune(s)), "<>&") {
			t.Fatalf("HTML characters escaped or invented: %q → %s", s, body)
		}
		var got struct {
			Params []struct {
				Value json.RawMessage
			}
		}
		var text string
		if err := json.Unmarshal(body, &got); err != nil || json.Unmarshal(got.Params[0].Value, &text) != nil {
			t.Fatalf("cannot read back %s", body)
		}
		if want := string([]rune(s)); text != want {
			t.Fatalf("value %q arrived as %q", want, text)
		}
		raw, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var back Event
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		again, err := back.encode()
		if err != nil || !bytes.Equal(again, body) {
			t.Fatalf("after a JSON round trip: %s, %v; want %s", again, err, body)
		}
	})
}
