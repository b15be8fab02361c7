package yespo

import (
	"strconv"
	"unicode/utf8"
)

// appendTokensBody appends {"tokens":[...]} to b: exactly the bytes
// json.Marshal writes for a struct with one field Tokens []Token tagged
// "tokens", without reflection. AddAppTokens is
// the SDK's hot path and reflection was half its own cost; TestEncodeMatches
// and the fuzz target hold this to encoding/json.
func appendTokensBody(b []byte, tokens []Token) []byte {
	b = append(b, `{"tokens":[`...)
	for i, t := range tokens {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"token":`...)
		b = appendString(b, t.Token)
		if t.ContactID != 0 {
			b = append(b, `,"contactId":`...)
			b = strconv.AppendInt(b, t.ContactID, 10)
		}
		if t.ExternalCustomerID != "" {
			b = append(b, `,"externalCustomerId":`...)
			b = appendString(b, t.ExternalCustomerID)
		}
		if t.Phone != "" {
			b = append(b, `,"phone":`...)
			b = appendString(b, t.Phone)
		}
		if t.Email != "" {
			b = append(b, `,"email":`...)
			b = appendString(b, t.Email)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// tokensBodySize is the encoded size when no character needs escaping (the
// case for valid tokens, bar the rare "&", "<" or ">"), so that the body is
// allocated once.
func tokensBodySize(tokens []Token) int {
	n := len(`{"tokens":[]}`)
	for _, t := range tokens {
		n += len(`,{"token":""}`) + len(t.Token)
		if t.ContactID != 0 {
			n += len(`,"contactId":`) + 20
		}
		if t.ExternalCustomerID != "" {
			n += len(`,"externalCustomerId":""`) + len(t.ExternalCustomerID)
		}
		if t.Phone != "" {
			n += len(`,"phone":""`) + len(t.Phone)
		}
		if t.Email != "" {
			n += len(`,"email":""`) + len(t.Email)
		}
	}
	return n
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json does:
// HTML-sensitive characters, U+2028 and U+2029 escaped, invalid UTF-8
// replaced by U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
