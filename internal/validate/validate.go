// Package validate holds the rules of the contact identifiers, tokens and
// app UUIDs Yespo takes. Each check returns what is wrong in plain words, or
// "": the root package turns a reason into a *ValidationError with its field.
package validate

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PhoneRule is the phone rule, stated once: Token.Validate's comment, the
// package documentation and every phone error use these words, and a test
// holds them to it.
const PhoneRule = `an optional "+" and 7 to 15 digits, the first not 0`

// NormalizePhone drops spaces, dashes, dots and parentheses from raw, turns
// a "00" prefix into "+" and adds "+" to bare digits. It returns the phone,
// or "" and what is wrong.
func NormalizePhone(raw string) (phone, problem string) {
	var b strings.Builder
	b.Grow(len(raw))
	for i, r := range raw {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && b.Len() == 0 && strings.TrimSpace(raw[:i]) == "":
			b.WriteRune(r)
		case unicode.IsSpace(r) || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", "may hold only digits, a leading \"+\", spaces, dashes, dots and parentheses"
		}
	}
	p := b.String()
	switch {
	case strings.HasPrefix(p, "00"):
		p = "+" + p[2:]
	case !strings.HasPrefix(p, "+"):
		p = "+" + p
	}
	if reason := Phone(p); reason != "" {
		return "", reason
	}
	return p, ""
}

// Phone says what is wrong with p as a Yespo phone, or "".
func Phone(p string) string {
	digits := strings.TrimPrefix(p, "+")
	for i, r := range digits {
		if r < '0' || r > '9' {
			return "must be " + PhoneRule + "; found " + QuoteRune(r) + " at byte " + strconv.Itoa(len(p)-len(digits)+i) +
				" (NormalizePhone removes spaces, dashes, dots and parentheses)"
		}
	}
	switch {
	case len(digits) < 7 || len(digits) > 15:
		return "must be " + PhoneRule + "; got " + strconv.Itoa(len(digits)) + " digits"
	case digits[0] == '0':
		return "must be " + PhoneRule + "; it starts with 0, a national prefix: give the country code instead"
	}
	return ""
}

// maxToken bounds a token; Telegram chat ids are at most 20 bytes, push
// tokens a few hundred.
const maxToken = 4096

// Token says what is wrong with a token string, or "".
func Token(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > maxToken:
		return "must be at most 4096 bytes, got " + strconv.Itoa(len(s))
	case printableASCII(s):
		return ""
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return "must not contain white space or control characters (found " + QuoteRune(r) + " at byte " + strconv.Itoa(i) + ")"
	}
	return ""
}

// maxExternalID bounds externalCustomerId. Yespo documents no limit; 1 KiB
// is many times any CRM or database id (a UUID takes 36 bytes), keeps a
// batch of 500 tokens under a megabyte, and turns a mistake — a whole
// record or document passed as the id — into an error before anything is
// sent instead of a contact keyed by it.
const maxExternalID = 1 << 10

// ExternalID says what is wrong with a present externalCustomerId, or "".
func ExternalID(s string) string {
	switch {
	case len(s) > maxExternalID:
		return "must be at most 1024 bytes, got " + strconv.Itoa(len(s))
	case printableASCII(s):
		return "" // externalCustomerId is only checked when not empty
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case strings.TrimSpace(s) == "":
		return "must not be blank"
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "must not contain control characters"
	}
	return ""
}

// AppUUID says what is wrong with s as an app_uuid (a canonical
// 8-4-4-4-12 hex UUID), or "".
func AppUUID(s string) string {
	if s == "" {
		return "must not be empty"
	}
	if colon := strings.IndexByte(s, ':'); colon > 0 && isDigits(s[:colon]) {
		return "looks like a Telegram bot token; pass the app_uuid Yespo shows for the bot (8-4-4-4-12 hex)"
	}
	if trimmed := strings.TrimSpace(s); trimmed != s {
		if AppUUID(trimmed) == "" {
			return "has surrounding spaces; the UUID inside is fine: trim it"
		}
		return "has surrounding spaces, and must be a UUID in 8-4-4-4-12 hex form"
	}
	if len(s) != 36 {
		return "must be a UUID in 8-4-4-4-12 hex form, got " + strconv.Itoa(len(s)) + " characters"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "must be a UUID in 8-4-4-4-12 hex form"
			}
		default:
			if !isHex(c) {
				return "must be a UUID in 8-4-4-4-12 hex form"
			}
		}
	}
	return ""
}

// printableASCII reports whether s is all ASCII from '!' to '~': the common
// case, which needs none of the Unicode checks.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// QuoteRune quotes r for an error message, in ASCII.
func QuoteRune(r rune) string { return strconv.QuoteRuneToASCII(r) }

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// Fields calls report once per problem of a token's fields, in field
// order; empty identifiers and a zero contactID are absent.
func Fields(token string, contactID int64, externalID, phone, email string, report func(field, reason string)) {
	if r := Token(token); r != "" {
		report("token", r)
	}
	if contactID < 0 {
		report("contactId", "must not be negative (0 means absent)")
	}
	for _, f := range []struct {
		field, value string
		check        func(string) string
	}{{"externalCustomerId", externalID, ExternalID}, {"phone", phone, Phone}, {"email", email, Email}} {
		if f.value == "" {
			continue
		}
		if r := f.check(f.value); r != "" {
			report(f.field, r)
		}
	}
	if contactID == 0 && externalID == "" && phone == "" && email == "" {
		report("token", "has no contact identifier: set contactId, externalCustomerId, phone or email")
	}
}

// APIKey says what is wrong with an API key, or "".
func APIKey(key string) string {
	switch {
	case strings.TrimSpace(key) == "":
		return "must not be blank"
	case strings.IndexFunc(key, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return "must not contain white space or control characters (a newline read from a file?)"
	}
	return ""
}

// Product says what is wrong with a User-Agent product, or "".
func Product(p string) string {
	if strings.TrimSpace(p) == "" {
		return "must not be blank"
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r > 0x7e {
			return "must be printable ASCII"
		}
	}
	return ""
}

// List collects the problems each(i, report) reports for i from 0 to n-1,
// made into values by mk: the first max of them, and how many more there
// were, so that a file of a million bad rows does not become a 100 MB
// error string.
func List[E any](n, max int, each func(i int, report func(field, reason string)), mk func(i int, field, reason string) E) (listed []E, more int) {
	for i := 0; i < n; i++ {
		each(i, func(field, reason string) {
			if len(listed) < max {
				listed = append(listed, mk(i, field, reason))
			} else {
				more++
			}
		})
	}
	return listed, more
}
