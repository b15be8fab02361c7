package event

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestKeys(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"signup", ""},
		{"", "is required"},
		{" signup", "surrounding white space"},
		{"sign'up", `Yespo forbids < ; ’`},
		{"a\tb", `control characters (found '\t' at byte 1)`},
		{strings.Repeat("😀", 51), "at most 100 characters, got 102"},
		{"\xff", "valid UTF-8"},
	} {
		got := TypeKey(c.in)
		if c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("TypeKey(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if KeyValue("") != "is empty" || KeyValue(strings.Repeat("a", 300)) != "" || KeyValue(strings.Repeat("a", 301)) == "" {
		t.Error("KeyValue limits")
	}
}

func TestEncode(t *testing.T) {
	raw, probs := Encode("signup", "", []Param{{"email", "ann@example.com"}, {"html", "<b>&</b>"}})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	want := `{"eventTypeKey":"signup","params":[{"name":"email","value":"ann@example.com"},{"name":"html","value":"<b>&</b>"}]}`
	if string(raw) != want {
		t.Errorf("got %s\nwant %s", raw, want)
	}
	raw, probs = Encode("signup", "42", nil)
	if len(probs) > 0 || string(raw) != `{"eventTypeKey":"signup","keyValue":"42","params":[]}` {
		t.Errorf("no params: %s %v", raw, probs)
	}
}

func TestEncodeProblems(t *testing.T) {
	_, probs := Encode("", "", []Param{{" ", 1}, {"Email", "a@b.c"}})
	fields := []string{}
	for _, p := range probs {
		fields = append(fields, p.Field)
	}
	if got := strings.Join(fields, ","); got != "eventTypeKey,params[0].name,params" {
		t.Fatalf("fields %s: %v", got, probs)
	}
	if !strings.Contains(probs[2].Reason, `params[1] is named "Email": write it "email"`) {
		t.Error(probs[2].Reason)
	}
	for _, v := range []any{nil, " ", true, json.RawMessage(`"null"`)} {
		if _, probs := Encode("x", "", []Param{{"externalCustomerId", v}}); len(probs) != 1 || probs[0].Field != "params" {
			t.Errorf("%v identifies: %v", v, probs)
		}
	}
	if _, probs := Encode("x", "", []Param{{"phone", 380501234567}}); len(probs) > 0 {
		t.Error("a number identifies", probs)
	}
	if _, probs := Encode("x", "k", []Param{{"f", func() {}}}); len(probs) != 1 || probs[0].Field != "params[0].value" {
		t.Error("unencodable value", probs)
	}
	_, probs = Encode("x", "k", []Param{{"big", strings.Repeat("a", MaxBody)}})
	if len(probs) != 1 || !strings.Contains(probs[0].Reason, "at most 20 KB") {
		t.Error("body limit", probs)
	}
}

func TestMarshalUndoesHTMLEscapes(t *testing.T) {
	escaped, _ := json.Marshal(map[string]string{"a": "<&>", "b": `\u003c`})
	got, err := Marshal(json.RawMessage(escaped))
	if err != nil || string(got) != `{"a":"<&>","b":"\\u003c"}` {
		t.Errorf("got %s, %v", got, err)
	}
}
