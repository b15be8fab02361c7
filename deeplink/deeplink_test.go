package deeplink_test

import (
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/yespo-go/yespo/deeplink"
)

var telegramPayload = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// roundTrip signs id, checks the payload is one Telegram passes on, and
// checks that it verifies back to id.
func roundTrip(t *testing.T, id string, opts ...deeplink.Option) string {
	t.Helper()
	p, err := deeplink.Sign(vectorSecret, id, opts...)
	require.NoError(t, err, "%d bytes", len(id))
	require.Regexp(t, telegramPayload, p)
	got, err := deeplink.Verify(vectorSecret, p, at(t0))
	require.NoError(t, err)
	require.Equal(t, id, got)
	return p
}

func TestRoundTripEveryLength(t *testing.T) {
	expiring := []deeplink.Option{at(t0), deeplink.ValidFor(time.Hour)}
	for n := 1; n <= deeplink.MaxIDLen; n++ {
		id := alphabet[:n] // "A", "AB", … up to "A…Za…m"
		p := roundTrip(t, id)
		raw := 1 + n + 8
		require.Len(t, p, (4*raw+2)/3, "4n/3 characters rounded up for n bytes")
		if n <= deeplink.MaxIDLenWithExpiry {
			roundTrip(t, id, expiring...)
		}
	}
	// Sign checks nothing beyond UTF-8: spaces, controls and URL symbols
	// travel as they are.
	for _, id := range []string{"\x00", " ", "\x7f", "a b", "ann@example.com", "+380501234567", "crm/42?x=1&y=%20"} {
		roundTrip(t, id)
	}
}

// The limits are in bytes: ids of multi-byte characters fit fewer of them.
func TestRoundTripUTF8(t *testing.T) {
	for _, r := range []string{"é", "Ж", "€", "中", "🙂"} {
		w := len(r)
		for k := 1; k*w <= deeplink.MaxIDLen; k++ {
			roundTrip(t, strings.Repeat(r, k))
			if k*w <= deeplink.MaxIDLenWithExpiry {
				roundTrip(t, strings.Repeat(r, k), at(t0), deeplink.ExpiresAt(t0.Add(time.Minute)))
			}
		}
	}
	roundTrip(t, "Олена-Ковальчук-1980-🙂") // 39 bytes, 23 characters
}

func TestIDLengthBoundary(t *testing.T) {
	require.Equal(t, 39, deeplink.MaxIDLen)
	require.Equal(t, 35, deeplink.MaxIDLenWithExpiry)
	cases := []struct {
		name string
		max  int
		opts []deeplink.Option
		room string
	}{
		{"no expiry", deeplink.MaxIDLen, nil, "a payload"},
		{"ExpiresAt", deeplink.MaxIDLenWithExpiry, []deeplink.Option{at(t0), deeplink.ExpiresAt(t0.Add(time.Hour))}, "a payload with an expiry"},
		{"ValidFor", deeplink.MaxIDLenWithExpiry, []deeplink.Option{at(t0), deeplink.ValidFor(time.Hour)}, "a payload with an expiry"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := roundTrip(t, strings.Repeat("x", c.max), c.opts...)
			require.Len(t, p, deeplink.MaxPayloadLen)

			_, err := deeplink.Sign(vectorSecret, strings.Repeat("x", c.max+1), c.opts...)
			require.ErrorIs(t, err, deeplink.ErrInvalidID)
			require.EqualError(t, err, "deeplink: invalid customer id: "+
				strconv.Itoa(c.max+1)+" bytes, at most "+strconv.Itoa(c.max)+" fit "+c.room)

			// In bytes: a 2-byte character that would end one byte past the
			// limit does not fit either.
			_, err = deeplink.Sign(vectorSecret, strings.Repeat("x", c.max-1)+"é", c.opts...)
			require.ErrorIs(t, err, deeplink.ErrInvalidID)
			roundTrip(t, strings.Repeat("x", c.max-2)+"é", c.opts...)
		})
	}
}

func TestSignRefusesBadIDs(t *testing.T) {
	for _, id := range []string{"", "\xff", "crm-\xc3", "a\xed\xa0\x80b"} { // the last: a UTF-16 surrogate
		_, err := deeplink.Sign(vectorSecret, id)
		require.ErrorIs(t, err, deeplink.ErrInvalidID, "%q", id)
	}
}

func TestSignIsDeterministic(t *testing.T) {
	a, err := deeplink.Sign(vectorSecret, "crm-42")
	require.NoError(t, err)
	b, err := deeplink.Sign(vectorSecret, "crm-42", at(t0.Add(1000*time.Hour)))
	require.NoError(t, err)
	require.Equal(t, a, b, "without expiry the clock plays no part")
}

// Every payload of these lengths (1, 2 and 0 leftover bytes in the last
// base64 group) with any one character replaced by any other is refused.
func TestEverySingleCharacterChangeFails(t *testing.T) {
	payloads := []string{vectors[0].payload, vectors[1].payload, vectors[2].payload, vectors[3].payload, vectors[4].payload}
	for _, id := range []string{"a", "ab", "abc"} {
		payloads = append(payloads, roundTrip(t, id), roundTrip(t, id, at(t0), deeplink.ValidFor(time.Hour)))
	}
	sameBytes := 0 // changes a lax decoder would not notice
	for _, p := range payloads {
		orig, err := base64.RawURLEncoding.DecodeString(p)
		require.NoError(t, err)
		for i := range len(p) {
			for _, c := range []byte(alphabet) {
				if c == p[i] {
					continue
				}
				changed := p[:i] + string(c) + p[i+1:]
				_, err := deeplink.Verify(vectorSecret, changed, at(t0))
				require.ErrorIs(t, err, deeplink.ErrInvalid, "%s, position %d → %c", p, i, c)
				if lax, err := base64.RawURLEncoding.DecodeString(changed); err == nil && string(lax) == string(orig) {
					sameBytes++
				}
			}
		}
	}
	require.Positive(t, sameBytes, "the loop must include non-canonical spellings of the same bytes")
}

// A last character with unused low bits set decodes, laxly, to the very same
// bytes and the same valid tag; it is still refused.
func TestNonCanonicalLastCharacterFails(t *testing.T) {
	p := roundTrip(t, "crm-4") // 19 characters for 14 bytes: 2 unused bits
	last := strings.IndexByte(alphabet, p[len(p)-1])
	require.Zero(t, last&3)
	for low := 1; low < 4; low++ {
		changed := p[:len(p)-1] + string(alphabet[last|low])
		lax, err := base64.RawURLEncoding.DecodeString(changed)
		require.NoError(t, err)
		canon, _ := base64.RawURLEncoding.DecodeString(p)
		require.Equal(t, canon, lax)
		_, err = deeplink.Verify(vectorSecret, changed)
		require.ErrorIs(t, err, deeplink.ErrInvalid)
	}
}

func TestTruncatedAndExtendedFail(t *testing.T) {
	for _, v := range vectors {
		for n := range len(v.payload) {
			_, err := deeplink.Verify(vectorSecret, v.payload[:n], at(t0))
			require.ErrorIs(t, err, deeplink.ErrInvalid, "first %d characters", n)
			_, err = deeplink.Verify(vectorSecret, v.payload[len(v.payload)-n:], at(t0))
			require.ErrorIs(t, err, deeplink.ErrInvalid, "last %d characters", n)
		}
		for _, c := range []byte(alphabet) {
			_, err := deeplink.Verify(vectorSecret, v.payload+string(c), at(t0))
			require.ErrorIs(t, err, deeplink.ErrInvalid)
		}
	}
}

func TestMalformedFail(t *testing.T) {
	good := vectors[0].payload
	for _, p := range []string{
		"", "A", "crm-42", good + "=", good + "==", good[:10] + "\n" + good[10:], good + "\r\n",
		" " + good, good[:5] + "+" + good[6:], good[:5] + "/" + good[6:], strings.Repeat("A", 65),
		strings.Repeat("_", 64), "\x00\x00\x00\x00", "AWNybS00Ms_KUTrbqGRS\x00",
	} {
		_, err := deeplink.Verify(vectorSecret, p, at(t0))
		require.ErrorIs(t, err, deeplink.ErrInvalid, "%q", p)
	}
}

func TestOtherSecretFails(t *testing.T) {
	other := sha256.Sum256([]byte("another shop"))
	p, err := deeplink.Sign(other[:], "crm-42")
	require.NoError(t, err)
	_, err = deeplink.Verify(vectorSecret, p)
	require.ErrorIs(t, err, deeplink.ErrInvalid)
	_, err = deeplink.Verify(other[:], vectors[0].payload)
	require.ErrorIs(t, err, deeplink.ErrInvalid)

	// A secret one bit away is another secret. (One with zero bytes
	// appended is not: HMAC pads its key with zeros, as RFC 2104 says.)
	flipped := append([]byte(nil), vectorSecret...)
	flipped[31] ^= 1
	_, err = deeplink.Verify(flipped, vectors[0].payload)
	require.ErrorIs(t, err, deeplink.ErrInvalid)
}

func TestShortSecretRefused(t *testing.T) {
	for _, n := range []int{0, 1, 16, 31} {
		_, err := deeplink.Sign(vectorSecret[:n], "crm-42")
		require.ErrorIs(t, err, deeplink.ErrSecretTooShort)
		_, err = deeplink.Verify(vectorSecret[:n], vectors[0].payload)
		require.ErrorIs(t, err, deeplink.ErrSecretTooShort)
	}
	_, err := deeplink.Sign(nil, "crm-42")
	require.EqualError(t, err, "deeplink: secret too short: 0 bytes, need at least 32")
	long := make([]byte, 200) // longer than SHA-256's block: HMAC hashes it first
	roundTripWith(t, long, "crm-42")
}

func roundTripWith(t *testing.T, secret []byte, id string) {
	t.Helper()
	p, err := deeplink.Sign(secret, id)
	require.NoError(t, err)
	got, err := deeplink.Verify(secret, p)
	require.NoError(t, err)
	require.Equal(t, id, got)
}

// Payloads with a correct tag that Sign would never make: another
// implementation's bugs, or a future format, are refused too.
func TestForgedLayoutsFail(t *testing.T) {
	ctx := "yespo-go/deeplink"
	exp := []byte{0x70, 0xdb, 0xd8, 0x80}
	cases := map[string]string{
		"unknown format byte 0x00":  forge(vectorSecret, ctx, []byte("\x00crm-42")),
		"unknown format byte 0x03":  forge(vectorSecret, ctx, []byte("\x03crm-42")),
		"unknown format byte 0xff":  forge(vectorSecret, ctx, []byte("\xffcrm-42")),
		"empty id":                  forge(vectorSecret, ctx, []byte{0x01}),
		"empty id with expiry":      forge(vectorSecret, ctx, append([]byte{0x02}, exp...)),
		"expiry cut short":          forge(vectorSecret, ctx, []byte{0x02, 0x70, 0xdb}),
		"id not UTF-8":              forge(vectorSecret, ctx, []byte("\x01crm-\xff")),
		"no context in the MAC":     forge(vectorSecret, "", []byte("\x01crm-42")),
		"another context":           forge(vectorSecret, "yespo-go/deeplinK", []byte("\x01crm-42")),
		"context with a terminator": forge(vectorSecret, ctx+"\x00", []byte("\x01crm-42")),
		"format byte changed":       swapFormat(),
	}
	for name, p := range cases {
		_, err := deeplink.Verify(vectorSecret, p, at(t0))
		require.ErrorIs(t, err, deeplink.ErrInvalid, name)
	}
	// The forger itself is right: with a proper layout it makes a valid one.
	_, err := deeplink.Verify(vectorSecret, forge(vectorSecret, ctx, []byte("\x01crm-42")))
	require.NoError(t, err)
}

// swapFormat turns the permanent vector into one claiming the expiring
// format, tag untouched: the format byte is signed, so it fails.
func swapFormat() string {
	raw, _ := base64.RawURLEncoding.DecodeString(vectors[0].payload)
	raw[0] = 0x02
	return base64.RawURLEncoding.EncodeToString(raw)
}

// The bot logs Verify's errors: they must not echo what it was given.
func TestErrorsDoNotLeak(t *testing.T) {
	secret := []byte("SECRET-SENTINEL-0123456789abcdef")
	id := "ID-SENTINEL-42"
	p, err := deeplink.Sign(secret, id, at(t0), deeplink.ValidFor(time.Hour))
	require.NoError(t, err)
	var errs []error
	record := func(_ string, err error) { errs = append(errs, err) }
	record(deeplink.Verify(secret, p, at(t0.Add(2*time.Hour))))
	record(deeplink.Verify(secret[:31], p))
	record(deeplink.Verify(secret, p[:len(p)-3]))
	record(deeplink.Verify(secret, p+"\n"))
	record(deeplink.Verify(secret, "X"+p[1:]))
	record(deeplink.Verify([]byte("another secret, also 32 bytes.."), p, at(t0)))
	record(deeplink.Sign(secret, id+strings.Repeat("!", 40)))
	record(deeplink.Sign(secret, id+"\xff"))
	record(deeplink.Sign(secret[:31], id))
	record(deeplink.Sign(secret, id, at(t0), deeplink.ExpiresAt(t0.Add(-time.Hour))))
	record(deeplink.Link("@SENTINEL-bot", p))
	record(deeplink.Link("SentinelBot", p+"!"))
	for _, err := range errs {
		require.Error(t, err)
		for _, s := range []string{string(secret), "SECRET", id, "SENTINEL", p, p[:20]} {
			require.NotContains(t, err.Error(), s)
		}
	}
}
