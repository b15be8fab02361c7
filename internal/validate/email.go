package validate

import (
	"net/mail"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NormalizeEmail trims white space around raw and lower-cases the domain.
// It returns the address, or "" and what is wrong.
func NormalizeEmail(raw string) (email, problem string) {
	e := strings.TrimSpace(raw)
	if at := strings.LastIndexByte(e, '@'); at >= 0 {
		e = e[:at+1] + strings.ToLower(e[at+1:])
	}
	if reason := Email(e); reason != "" {
		return "", reason
	}
	return e, ""
}

// maxEmail is the longest address SMTP allows (RFC 5321 path limit less the brackets).
const maxEmail = 254

// Email says what is wrong with e as a Yespo email, or "", in plain
// words: net/mail decides what is valid, never how it is said.
func Email(e string) string {
	switch {
	case len(e) > maxEmail:
		return "must be at most 254 bytes, got " + strconv.Itoa(len(e))
	case !utf8.ValidString(e):
		return "must be valid UTF-8"
	case PlainAddress(e):
		return ""
	case strings.Trim(e, " \t\r\n") != e: // never part of an address: net/mail would drop them
		return "has a leading or trailing space (NormalizeEmail trims it)"
	case strings.IndexByte(e, '@') < 0: // spares net/mail's allocations in a file of bad rows
		return notAddress + `there is no "@"`
	}
	a, err := mail.ParseAddress(e)
	switch {
	case err == nil && a.Name == "" && a.Address == e:
		return ""
	case err == nil || strings.ContainsAny(e, "<>"):
		return "must be a bare address like name@example.com, without display name, brackets or comments"
	}
	return emailFault(e)
}

const notAddress = "must be an address like name@example.com; "

// emailFault names, in plain words, the likeliest fault of an address that
// has an "@" and that net/mail refused.
func emailFault(e string) string {
	at := strings.LastIndexByte(e, '@')
	switch {
	case strings.ContainsAny(e, ",;"):
		return notAddress + "this looks like more than one address"
	case at == 0:
		return notAddress + `there is nothing before the "@"`
	case at == len(e)-1:
		return notAddress + `there is nothing after the "@"`
	case strings.Count(e, "@") > 1 && !strings.Contains(e, `"`):
		return notAddress + `there is more than one "@"`
	case strings.ContainsFunc(e, unicode.IsSpace):
		return notAddress + "there is a space in it"
	case strings.Contains(e, ".."):
		return notAddress + "there are two dots in a row"
	case e[0] == '.' || e[at-1] == '.' || e[at+1] == '.' || e[len(e)-1] == '.':
		return notAddress + "a part starts or ends with a dot"
	}
	return notAddress + "it has a character that is not allowed where it stands"
}

// PlainAddress reports whether e is the everyday form local@domain, both
// sides dot-separated runs of atext, all ASCII. net/mail accepts every such
// address unchanged; this check spares the common case its allocations, and
// anything else still goes through net/mail.
func PlainAddress(e string) bool {
	at := strings.IndexByte(e, '@')
	return at > 0 && dotAtom(e[:at]) && dotAtom(e[at+1:])
}

// dotAtom reports whether s is atext runs joined by single dots (RFC 5322).
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
