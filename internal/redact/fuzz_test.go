package redact

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// Whatever surrounds it and however each of its characters is spelt, the key
// does not survive scrubbing: not raw, not once percent- or JSON-decoded by
// the standard library.
func FuzzScrub(f *testing.F) {
	f.Add("bad key ", ", sorry", []byte{0, 1, 2, 3, 4})
	f.Add(`{"message":"`, `"}`, []byte{3, 3, 3, 3, 3, 3, 3, 3, 3})
	f.Add("%", `\`, []byte{4, 4, 4, 4, 4, 4, 4, 4, 4})
	f.Add("%25", "%", []byte{1, 2, 1, 2, 1, 2})
	f.Fuzz(func(t *testing.T, before, after string, spelling []byte) {
		const key = `k3y/+"%\é`
		var b strings.Builder
		b.WriteString(before)
		i := 0
		for _, r := range key {
			how := byte(0)
			if i < len(spelling) {
				how = spelling[i]
			}
			i++
			b.WriteString(spellRune(r, how))
		}
		b.WriteString(after)
		in := b.String()
		out := New("yespo-go", key).Text(in)
		views := []string{out}
		if u, err := url.PathUnescape(out); err == nil {
			views = append(views, u)
		}
		var j string
		if json.Unmarshal([]byte(`"`+out+`"`), &j) == nil {
			views = append(views, j)
		}
		for _, v := range views {
			if strings.Contains(v, key) {
				t.Fatalf("the key survives in %q (scrubbed %q)", v, in)
			}
		}
		if !strings.Contains(out, "[REDACTED]") {
			t.Fatalf("nothing redacted in %q: %q", in, out)
		}
	})
}

// spellRune writes r the way how picks: raw, %XX, %xx, \u00xx, or, for the
// characters JSON escapes with a backslash, that escape.
func spellRune(r rune, how byte) string {
	var b strings.Builder
	switch how % 5 {
	case 1, 2:
		format := map[byte]string{1: "%%%02X", 2: "%%%02x"}[how%5]
		for _, c := range []byte(string(r)) {
			fmt.Fprintf(&b, format, c)
		}
	case 3:
		fmt.Fprintf(&b, `\u%04x`, r)
	case 4:
		if r == '/' || r == '"' || r == '\\' {
			b.WriteString(`\` + string(r))
		} else {
			b.WriteRune(r)
		}
	default:
		b.WriteRune(r)
	}
	return b.String()
}
