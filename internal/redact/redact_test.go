package redact

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestReplaceSpelt(t *testing.T) {
	const key = `k/y+1"é😀`
	tests := []struct{ name, in, want string }{
		{"raw", "a " + key + " b", "a [REDACTED] b"},
		{"twice", key + key, "[REDACTED][REDACTED]"},
		{"JSON slash and quote", `k\/y+1\"é😀`, "[REDACTED]"},
		{`\u lower`, `\u006b\u002f\u0079\u002b\u0031\u0022\u00e9\ud83d\ude00`, "[REDACTED]"},
		{`\u upper`, `\u006B\u002F\u0079\u002B\u0031\u0022\u00E9\uD83D\uDE00`, "[REDACTED]"},
		{"QueryEscape", "k%2Fy%2B1%22%C3%A9%F0%9F%98%80", "[REDACTED]"},
		{"PathEscape lower hex", "k%2fy+1%22%c3%a9%f0%9f%98%80", "[REDACTED]"},
		{"mixed", `\u006b%2F\u0079+1\"%C3%A9😀`, "[REDACTED]"},
		{"half a rune encoded", "k/y+1\"%C3\xa9😀", "[REDACTED]"},
		{"one character short", `k/y+1"é`, `k/y+1"é`},
		{"one character wrong", `k/y+1"e😀`, `k/y+1"e😀`},
		{"bad escape", `k\u002gy+1"é😀`, `k\u002gy+1"é😀`},
		{"truncated escape", `x\u00`, `x\u00`},
		{"percent at end", "x%", "x%"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, replaceSpelt(tt.in, key))
		})
	}
}

// A '%' or '\' in the key can be spelt as itself or encoded: both are found.
func TestReplaceSpeltAmbiguous(t *testing.T) {
	for key, in := range map[string]string{
		"a%41b": `x a%2541b a%41b a%41%62 \u0061%41b y`,
		`a\b`:   `x a\\b a\b a%5Cb a\u005cb y`,
	} {
		assert.Equal(t, "x [REDACTED] [REDACTED] [REDACTED] [REDACTED] y", replaceSpelt(in, key), key)
	}
}

func TestScrubberReplacesWholeWhenStillRevealing(t *testing.T) {
	s := New("yespo-go", "s3cr3t")
	assert.Equal(t, "[REDACTED]", s.Text("x %2573%2533cr3t y"), "percent-encoded twice")
	assert.Equal(t, "[REDACTED]", s.Text(`x \u0025733cr3t y`), `\u of a percent-encoding`)
	assert.Equal(t, "x [REDACTED] y %41", s.Text("x s3cr3t y %41"), "decodable text without the key stays")
}

func TestScrubberForms(t *testing.T) {
	const key = "s3cr3t-k3y"
	s := New("yespo-go", key)
	basic := base64.StdEncoding.EncodeToString([]byte("yespo-go:" + key))
	for _, in := range []string{
		key, "Basic " + basic, strings.TrimRight(basic, "="),
		base64.RawURLEncoding.EncodeToString([]byte("yespo-go:" + key)),
		base64.StdEncoding.EncodeToString([]byte(key)),
	} {
		assert.NotContains(t, s.Text("<"+in+">"), strings.TrimRight(in, "="), in)
		assert.Contains(t, s.Text("<"+in+">"), Redacted, in)
	}
}

// An occurrence spelt in its longest form and straddling the body cut goes
// whole: the read reaches margin bytes past the cut.
func TestScrubberBytesStraddlingCut(t *testing.T) {
	const key = "s3cr3t-k3y"
	s := New("yespo-go", key)
	var spelt strings.Builder
	for _, c := range []byte(key) {
		spelt.WriteString(`\u00` + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
	}
	limit := 100
	body := strings.Repeat("x", limit-3) + spelt.String() + "tail"
	assert.LessOrEqual(t, len(body), limit+s.Margin())
	got := s.Body([]byte(body), limit)
	assert.Len(t, got, limit)
	assert.Equal(t, strings.Repeat("x", limit-3)+"[RE", string(got))
}

func TestScrubberHeader(t *testing.T) {
	s := New("yespo-go", "s3cr3t")
	h := http.Header{
		"Retry-After":         {"30"},
		"X-Request-Id":        {"abc"},
		"Location":            {"https://yespo.io/login?key=s3cr3t", "/b"},
		"Www-Authenticate":    {`Basic realm="s3cr3t"`},
		"Set-Cookie":          {"a=b"},
		"Authorization":       {"Basic x"},
		"Proxy-Authorization": {"Basic y"},
		"Cookie":              {"c=d"},
		"X-S3cr3t":            {"name spells the key? no: case differs"},
		"X-s%33cr3t":          {"1"},
	}
	assert.Equal(t, http.Header{
		"Retry-After":      {"30"},
		"X-Request-Id":     {"abc"},
		"Location":         {"https://yespo.io/login?key=[REDACTED]", "/b"},
		"Www-Authenticate": {`Basic realm="[REDACTED]"`},
		"X-S3cr3t":         {"name spells the key? no: case differs"},
	}, s.Header(h))

	big := http.Header{}
	for i := range 100 {
		big.Set("X-"+strings.Repeat("a", i), strings.Repeat("v", 1000))
	}
	size := 0
	for k, vs := range s.Header(big) {
		for _, v := range vs {
			size += len(k) + len(v)
		}
	}
	assert.LessOrEqual(t, size, MaxHeader)
	assert.Greater(t, size, MaxHeader-2000)
}

func TestDecodeLoosely(t *testing.T) {
	for in, want := range map[string]string{
		`%41%2f\u0042\/\"\\x`: `A/B/"\x`,
		"%4":                  "%4",
		`\u12`:                `\u12`,
		`\q`:                  `\q`,
		"plain":               "plain",
	} {
		assert.Equal(t, want, decodeLoosely(in), in)
	}
}
