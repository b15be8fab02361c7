package yespo

import (
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The oracle: the documented rules written again, as plainly as possible,
// without the fast paths of the real thing.
var oraclePhone = regexp.MustCompile(`^\+?[1-9][0-9]{6,14}$`)

func oracleValid(t Token) bool {
	tokenOK := t.Token != "" && len(t.Token) <= 4096 && utf8.ValidString(t.Token) &&
		!strings.ContainsFunc(t.Token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
	extOK := t.ExternalCustomerID == "" || len(t.ExternalCustomerID) <= 1024 && utf8.ValidString(t.ExternalCustomerID) &&
		strings.TrimSpace(t.ExternalCustomerID) != "" && !strings.ContainsFunc(t.ExternalCustomerID, unicode.IsControl)
	phoneOK := t.Phone == "" || oraclePhone.MatchString(t.Phone)
	emailOK := t.Email == ""
	if !emailOK && len(t.Email) <= 254 && utf8.ValidString(t.Email) {
		a, err := mail.ParseAddress(t.Email)
		emailOK = err == nil && a.Name == "" && a.Address == t.Email
	}
	hasID := t.ContactID != 0 || t.ExternalCustomerID != "" || t.Phone != "" || t.Email != ""
	return tokenOK && extOK && phoneOK && emailOK && t.ContactID >= 0 && hasID
}

func FuzzValidate(f *testing.F) {
	f.Add("123456789", int64(0), "crm-1", "+380501234567", "a@example.com")
	f.Add("1", int64(-1), "", "", "")
	f.Add("a b", int64(5), " ", "0501234567", "Ann <a@b.c>")
	f.Add("x", int64(0), "", "+1234567", `"q"@example.com`)
	f.Add("\u00a0", int64(0), "\x7f", "++1234567", "a..b@c.d")
	f.Add("tok", int64(0), "", "", "user.name+tag@sub.example.co.uk")
	f.Fuzz(func(t *testing.T, token string, id int64, ext, phone, email string) {
		tok := Token{token, id, ext, phone, email}
		err := tok.Validate()
		if want := oracleValid(tok); want != (err == nil) {
			t.Fatalf("Validate(%+v) = %v, the documented rules say valid=%v", tok, err, want)
		}
	})
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+38 (050) 123-45-67", "380501234567", "0038 050 123 45 67", "050 123 45 67",
		"+1.555.010.9999", "++1", "+", "", "00", "1234567890123456", " +1 555 0100 001 ", "12a34567"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := NormalizePhone(raw)
		if err != nil {
			return
		}
		if !oraclePhone.MatchString(p) || p[0] != '+' {
			t.Fatalf("NormalizePhone(%q) = %q, not a valid phone", raw, p)
		}
		if again, err := NormalizePhone(p); err != nil || again != p {
			t.Fatalf("not idempotent: %q → %q → %q, %v", raw, p, again, err)
		}
		if err := (Token{Token: "1", Phone: p}).Validate(); err != nil {
			t.Fatalf("NormalizePhone(%q) = %q does not validate: %v", raw, p, err)
		}
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{" John.Doe@Example.COM ", "a@b", "Ann <a@b.c>", "@", "a@B.c\n", "ü@Ä.de"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		e, err := NormalizeEmail(raw)
		if err != nil {
			return
		}
		if again, err := NormalizeEmail(e); err != nil || again != e {
			t.Fatalf("not idempotent: %q → %q → %q, %v", raw, e, again, err)
		}
		if err := (Token{Token: "1", Email: e}).Validate(); err != nil {
			t.Fatalf("NormalizeEmail(%q) = %q does not validate: %v", raw, e, err)
		}
	})
}

func FuzzErrorMessage(f *testing.F) {
	f.Add([]byte(`{"message":"Not registered application"}`), "application/json")
	f.Add([]byte(`"Wrong app uuid"`), "application/json")
	f.Add([]byte("<html><title>502 Bad Gateway</title></html>"), "text/html")
	f.Add([]byte("\x00\xff plain\ttext \n"), "")
	f.Add([]byte(`{"error":{"code":1},"errorMessage":"x"}`), "application/xml")
	f.Add([]byte(`{"message":"\u0000\u2028"}`), "text/plain; charset=latin1")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		m := errorMessage(body, contentType)
		switch {
		case len(m) > maxMessage:
			t.Fatalf("message of %d bytes", len(m))
		case !utf8.ValidString(m):
			t.Fatalf("invalid UTF-8: %q", m)
		case strings.ContainsFunc(m, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) && r != ' ' }):
			t.Fatalf("control or white space other than a space: %q", m)
		case m != strings.TrimSpace(m) || strings.Contains(m, "  "):
			t.Fatalf("not trimmed and folded: %q", m)
		}
	})
}
