// Package redact scrubs an API key from everything a client writes: error
// text, error fields, log records.
package redact

import (
	"encoding/base64"
	"maps"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// Redaction. A server, a proxy or a redirect may echo the API key back in
// any disguise: raw, JSON-escaped ("\u0073…", "\/"), percent-encoded (upper
// or lower hex, query or path style), or as the Basic credentials. Scrubbing
// the raw bytes before decoding is not enough — decoding brings the key back
// — so every string that leaves the client (error text, APIError fields, log
// records) is scrubbed as it is finally written, by meaning: an occurrence
// counts whatever mix of encodings spells it.

// Redacted replaces every occurrence of the key.
const Redacted = "[REDACTED]"

// Scrubber knows the forms of one client's key.
type Scrubber struct {
	// secrets are the key, and the base64 of the Basic credentials and of
	// the key alone, standard and URL alphabet, without padding, so that a
	// re-encoded echo that drops the "=" is caught too.
	secrets []string
}

// New returns the Scrubber of apiKey, sent as the password of the Basic
// credentials of user.
func New(user, apiKey string) Scrubber {
	s := Scrubber{secrets: []string{apiKey}}
	for _, plain := range []string{user + ":" + apiKey, apiKey} {
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			if f := enc.EncodeToString([]byte(plain)); !slices.Contains(s.secrets, f) {
				s.secrets = append(s.secrets, f)
			}
		}
	}
	return s
}

// Margin is how far past a cut an occurrence may reach: six bytes a byte
// spelt "\u00XX", eight for "\u0025XX" (a percent-encoding JSON-escaped);
// twelve leaves room.
func (s Scrubber) Margin() int {
	n := 0
	for _, sec := range s.secrets {
		n = max(n, 12*len(sec))
	}
	return n
}

// Text returns str with every spelling of the key replaced. If the key
// still shows after decoding what is left (say, percent-encoded twice), no
// part of str can be trusted and the whole of it is replaced.
func (s Scrubber) Text(str string) string {
	for _, sec := range s.secrets {
		str = replaceSpelt(str, sec)
	}
	if s.reveals(str) {
		return Redacted
	}
	return str
}

// Body is Text for a body, cut to at most limit bytes after scrubbing so
// that an occurrence straddling the cut goes too.
func (s Scrubber) Body(b []byte, limit int) []byte {
	out := s.Text(string(b))
	return []byte(out[:min(len(out), limit)])
}

// reveals reports whether decoding str, up to three times over, shows a
// secret.
func (s Scrubber) reveals(str string) bool {
	for range 3 {
		decoded := decodeLoosely(str)
		if decoded == str {
			break
		}
		str = decoded
		for _, sec := range s.secrets {
			if strings.Contains(str, sec) {
				return true
			}
		}
	}
	return false
}

// Header returns the answer's headers worth keeping in an *APIError:
// those that carry credentials or cookies are dropped, and so is any header
// whose name spells the key; values are scrubbed. At most MaxHeader
// bytes of names and values are kept, in name order.
func (s Scrubber) Header(h http.Header) http.Header {
	out := http.Header{}
	size := 0
	for _, name := range slices.Sorted(maps.Keys(h)) {
		if dropHeader(name) || s.Text(name) != name {
			continue
		}
		for _, v := range h.Values(name) {
			v = s.Text(v)
			if size += len(name) + len(v); size > MaxHeader {
				return out
			}
			out[name] = append(out[name], v)
		}
	}
	return out
}

// MaxHeader bounds APIError.Header; the transport already refuses
// headers past 1 MB, far more than an error needs to carry around.
const MaxHeader = 16 << 10

// dropHeader reports whether a response header carries credentials or
// session state, which no error should hold.
func dropHeader(canonical string) bool {
	switch canonical {
	case "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "Set-Cookie2":
		return true
	}
	return false
}

// replaceSpelt replaces every occurrence of secret in s, however it is
// spelt (see spelt), with Redacted.
func replaceSpelt(s, secret string) string {
	if secret == "" {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != secret[0] && c != '%' && c != '\\' {
			continue
		}
		end := spelt(s, i, secret)
		if end < 0 {
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(Redacted)
		last = end
		i = end - 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// spelt returns the end of an occurrence of secret in s that starts at i, or
// -1. Each character of secret may be written as itself, each of its bytes
// as %XX, the character as a JSON \uXXXX (a surrogate pair beyond U+FFFF),
// and '/', '"' and '\' with a JSON backslash; hex digits in any case. Several
// spellings can match at once (a '%' in the key is "%" or "%25"), so every
// position reachable so far is carried along.
func spelt(s string, i int, secret string) int {
	at := []int{i}
	for _, r := range secret {
		var next []int
		for _, p := range at {
			for _, e := range runeEnds(s, p, r) {
				if !slices.Contains(next, e) {
					next = append(next, e)
				}
			}
		}
		if len(next) == 0 {
			return -1
		}
		at = next
	}
	return slices.Max(at)
}

// runeEnds returns every position where one spelling of r that starts at p
// in s ends.
func runeEnds(s string, p int, r rune) []int {
	var ends []int
	// Byte by byte, each byte itself or %XX.
	var buf [utf8.UTFMax]byte
	at := []int{p}
	for _, c := range buf[:utf8.EncodeRune(buf[:], r)] {
		var next []int
		for _, q := range at {
			if q < len(s) && s[q] == c {
				next = append(next, q+1)
			}
			if v, ok := hexAt(s, q+1, 2); ok && s[q] == '%' && byte(v) == c {
				next = append(next, q+3)
			}
		}
		at = next
	}
	ends = append(ends, at...)
	if e := jsonRuneEnd(s, p, r); e > 0 {
		ends = append(ends, e)
	}
	return ends
}

// jsonRuneEnd returns the end of a JSON escape of r at p, or -1.
func jsonRuneEnd(s string, p int, r rune) int {
	if p+1 >= len(s) || s[p] != '\\' {
		return -1
	}
	if (r == '/' || r == '"' || r == '\\') && s[p+1] == byte(r) {
		return p + 2
	}
	v, ok := uEscapeAt(s, p)
	switch {
	case !ok:
		return -1
	case rune(v) == r:
		return p + 6
	case v >= 0xD800 && v < 0xDC00:
		lo, ok := uEscapeAt(s, p+6)
		if ok && lo >= 0xDC00 && lo < 0xE000 && 0x10000+(rune(v)-0xD800)<<10+(rune(lo)-0xDC00) == r {
			return p + 12
		}
	}
	return -1
}

// uEscapeAt reads a \uXXXX at p.
func uEscapeAt(s string, p int) (uint32, bool) {
	if p+1 >= len(s) || s[p] != '\\' || s[p+1] != 'u' {
		return 0, false
	}
	return hexAt(s, p+2, 4)
}

// hexAt reads n hex digits, any case, at p.
func hexAt(s string, p, n int) (uint32, bool) {
	if p < 0 || p+n > len(s) {
		return 0, false
	}
	var v uint32
	for _, c := range []byte(s[p : p+n]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint32(c)
	}
	return v, true
}

// decodeLoosely undoes one layer of percent-encoding and JSON escapes
// wherever they appear, ignoring everything malformed: it serves to see
// what a reader who decodes s would see, not to parse.
func decodeLoosely(s string) string {
	if !strings.ContainsAny(s, `%\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if v, ok := hexAt(s, i+1, 2); ok && s[i] == '%' {
			b.WriteByte(byte(v))
			i += 2
			continue
		}
		if v, ok := uEscapeAt(s, i); ok {
			b.WriteRune(rune(v)) // a lone surrogate becomes U+FFFD
			i += 5
			continue
		}
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`/"\`, s[i+1]) >= 0 {
			b.WriteByte(s[i+1])
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
