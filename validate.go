package yespo

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxToken bounds a token; Telegram chat ids are at most 20 bytes, push
// tokens a few hundred.
const maxToken = 4096

// validateAppUUID accepts the canonical 8-4-4-4-12 hexadecimal form only.
func validateAppUUID(s string) error {
	if reason := appUUIDProblem(s); reason != "" {
		return invalid("appUUID", reason)
	}
	return nil
}

func appUUIDProblem(s string) string {
	if s == "" {
		return "must not be empty"
	}
	if colon := strings.IndexByte(s, ':'); colon > 0 && isDigits(s[:colon]) {
		return "looks like a Telegram bot token; pass the app_uuid Yespo shows for the bot (8-4-4-4-12 hex)"
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

// tokenProblem says what is wrong with a token string, or "".
func tokenProblem(s string) string {
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
		return "must not contain white space or control characters (found " + quoteRune(r) + " at byte " + strconv.Itoa(i) + ")"
	}
	return ""
}

// externalIDProblem says what is wrong with a present externalCustomerId, or "".
func externalIDProblem(s string) string {
	switch {
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

func quoteRune(r rune) string { return strconv.QuoteRuneToASCII(r) }

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
