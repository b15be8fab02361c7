package validate

import (
	"strconv"
	"strings"
	"testing"
)

func TestPhone(t *testing.T) {
	for p, want := range map[string]string{
		"+380501234567": "",
		"380501234567":  "",
		"+123456":       "got 6 digits",
		"+0501234567":   "starts with 0",
		"+38 050":       `found ' ' at byte 3`,
	} {
		got := Phone(p)
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("Phone(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	for raw, want := range map[string]string{
		"+38 (050) 123-45-67": "+380501234567",
		"00380501234567":      "+380501234567",
		"380501234567":        "+380501234567",
	} {
		if got, r := NormalizePhone(raw); got != want || r != "" {
			t.Errorf("NormalizePhone(%q) = %q, %q; want %q", raw, got, r, want)
		}
	}
	for _, raw := range []string{"050 123 45 67", "+38 050 x", "1+2345678"} {
		if got, r := NormalizePhone(raw); got != "" || r == "" {
			t.Errorf("NormalizePhone(%q) = %q, %q; want a problem", raw, got, r)
		}
	}
}

func TestEmail(t *testing.T) {
	for e, want := range map[string]string{
		"ann@example.com":                   "",
		"ann.example.com":                   `there is no "@"`,
		"a@b@c.com":                         `more than one "@"`,
		"ann..x@example.com":                "two dots in a row",
		"Ann <ann@example.com>":             "bare address",
		"a@example.com, b@x.com":            "more than one address",
		" ann@example.com":                  "leading or trailing space",
		strings.Repeat("a", 250) + "@x.com": "at most 254 bytes",
	} {
		got := Email(e)
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("Email(%q) = %q, want %q", e, got, want)
		}
	}
	if got, r := NormalizeEmail("  Ann@Example.COM "); got != "Ann@example.com" || r != "" {
		t.Errorf("NormalizeEmail = %q, %q", got, r)
	}
	if !PlainAddress("user.name+tag@example.com") || PlainAddress(`"a b"@c.d`) || PlainAddress("a..b@c.d") {
		t.Error("PlainAddress misjudges")
	}
}

func TestTokenExternalIDAppUUID(t *testing.T) {
	checks := []struct {
		f    func(string) string
		in   string
		want string
	}{
		{Token, "123456789", ""},
		{Token, "", "must not be empty"},
		{Token, "12 34", `found ' ' at byte 2`},
		{Token, strings.Repeat("1", 4097), "at most 4096 bytes"},
		{Token, "\xff", "valid UTF-8"},
		{ExternalID, "crm-42", ""},
		{ExternalID, "  ", "must not be blank"},
		{ExternalID, "a\x00b", "control characters"},
		{ExternalID, strings.Repeat("x", 1025), "at most 1024 bytes"},
		{AppUUID, "3fa85f64-5717-4562-b3fc-2c963f66afa6", ""},
		{AppUUID, "123456:ABC-def", "Telegram bot token"},
		{AppUUID, " 3fa85f64-5717-4562-b3fc-2c963f66afa6", "the UUID inside is fine"},
		{AppUUID, "3fa85f64", "got 8 characters"},
		{AppUUID, "3fa85f64x5717-4562-b3fc-2c963f66afa6", "8-4-4-4-12 hex form"},
		{AppUUID, "", "must not be empty"},
	}
	for _, c := range checks {
		got := c.f(c.in)
		if c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("%.40q: got %q, want %q", c.in, got, c.want)
		}
	}
}

func TestFields(t *testing.T) {
	var got []string
	report := func(field, reason string) { got = append(got, field+": "+reason) }
	Fields("", -1, " ", "0501234567", "x", report)
	want := []string{"token: must not be empty", "contactId: must not be negative", "externalCustomerId: must not be blank",
		"phone: must be " + PhoneRule, "email: must be an address"}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d: got %q, want %q…", i, got[i], want[i])
		}
	}
	got = nil
	Fields("42", 0, "", "", "", report)
	if len(got) != 1 || !strings.HasPrefix(got[0], "token: has no contact identifier") {
		t.Errorf("no identifier: %q", got)
	}
	got = nil
	Fields("42", 0, "", "", "ann@example.com", report)
	if got != nil {
		t.Errorf("a valid token: %q", got)
	}
}

func TestAPIKeyAndProduct(t *testing.T) {
	for in, want := range map[string]string{"k3y": "", " ": "must not be blank", "key\n": "white space or control"} {
		if got := APIKey(in); want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("APIKey(%q) = %q", in, got)
		}
	}
	for in, want := range map[string]string{"mybot/1.0": "", "": "must not be blank", "bot\u00e9": "printable ASCII", "a\tb": "printable ASCII"} {
		if got := Product(in); want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("Product(%q) = %q", in, got)
		}
	}
}

func TestList(t *testing.T) {
	each := func(i int, report func(field, reason string)) {
		for j := 0; j < i; j++ { // row i has i problems
			report("f", strconv.Itoa(i))
		}
	}
	mk := func(i int, field, reason string) string { return strconv.Itoa(i) + field + reason }
	listed, more := List(4, 4, each, mk)
	if strings.Join(listed, ",") != "1f1,2f2,2f2,3f3" || more != 2 {
		t.Errorf("got %q, %d more", listed, more)
	}
	listed, more = List(0, 4, each, mk)
	if listed != nil || more != 0 {
		t.Errorf("nothing to list: %q, %d", listed, more)
	}
}
