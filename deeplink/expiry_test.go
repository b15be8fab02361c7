package deeplink_test

import (
	"encoding/base64"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/yespo-go/yespo/deeplink"
)

func TestValidForExpires(t *testing.T) {
	p, err := deeplink.Sign(vectorSecret, "crm-42", at(t0), deeplink.ValidFor(time.Hour))
	require.NoError(t, err)
	for _, now := range []time.Time{t0.Add(-24 * time.Hour), t0, t0.Add(59 * time.Minute), t0.Add(time.Hour - time.Nanosecond)} {
		id, err := deeplink.Verify(vectorSecret, p, at(now))
		require.NoError(t, err, now)
		require.Equal(t, "crm-42", id)
	}
	for _, now := range []time.Time{t0.Add(time.Hour), t0.Add(time.Hour + time.Second), t0.AddDate(50, 0, 0)} {
		_, err := deeplink.Verify(vectorSecret, p, at(now))
		require.ErrorIs(t, err, deeplink.ErrExpired, now)
		require.NotErrorIs(t, err, deeplink.ErrInvalid)
	}
	_, err = deeplink.Verify(vectorSecret, p, at(t0.Add(time.Hour)))
	require.EqualError(t, err, "deeplink: payload expired: at 2026-01-01T01:00:00Z")
}

// The expiry is in whole seconds, rounded down: the link dies at the start
// of the second t falls in, never after t.
func TestExpiresAtRoundsDown(t *testing.T) {
	exp := t0.Add(10*time.Second + 900*time.Millisecond)
	p, err := deeplink.Sign(vectorSecret, "crm-42", at(t0), deeplink.ExpiresAt(exp))
	require.NoError(t, err)
	_, err = deeplink.Verify(vectorSecret, p, at(t0.Add(10*time.Second-time.Nanosecond)))
	require.NoError(t, err)
	_, err = deeplink.Verify(vectorSecret, p, at(t0.Add(10*time.Second)))
	require.ErrorIs(t, err, deeplink.ErrExpired)
}

func TestSignRefusesBadExpiry(t *testing.T) {
	last := time.Unix(math.MaxUint32, 0)
	for name, opt := range map[string]deeplink.Option{
		"past":                 deeplink.ExpiresAt(t0.Add(-time.Second)),
		"now":                  deeplink.ExpiresAt(t0),
		"within this second":   deeplink.ExpiresAt(t0.Add(999 * time.Millisecond)),
		"zero time":            deeplink.ExpiresAt(time.Time{}),
		"after 2106":           deeplink.ExpiresAt(last.Add(time.Second)),
		"ValidFor 0":           deeplink.ValidFor(0),
		"ValidFor negative":    deeplink.ValidFor(-time.Hour),
		"ValidFor under 1s":    deeplink.ValidFor(999 * time.Millisecond),
		"ValidFor beyond 2106": deeplink.ValidFor(time.Duration(math.MaxInt64)),
	} {
		_, err := deeplink.Sign(vectorSecret, "crm-42", at(t0), opt)
		require.ErrorIs(t, err, deeplink.ErrInvalidExpiry, name)
	}
	// The edges that do fit.
	for _, opt := range []deeplink.Option{deeplink.ExpiresAt(t0.Add(time.Second)), deeplink.ValidFor(time.Second), deeplink.ExpiresAt(last)} {
		p, err := deeplink.Sign(vectorSecret, "crm-42", at(t0), opt)
		require.NoError(t, err)
		_, err = deeplink.Verify(vectorSecret, p, at(t0))
		require.NoError(t, err)
	}
}

func TestLastExpiryOptionWins(t *testing.T) {
	p1, err := deeplink.Sign(vectorSecret, "x", at(t0), deeplink.ExpiresAt(t0.AddDate(1, 0, 0)), deeplink.ValidFor(time.Hour))
	require.NoError(t, err)
	p2, err := deeplink.Sign(vectorSecret, "x", at(t0), deeplink.ExpiresAt(t0.Add(time.Hour)))
	require.NoError(t, err)
	require.Equal(t, p2, p1)
	p3, err := deeplink.Sign(vectorSecret, "x", at(t0), deeplink.ValidFor(24*time.Hour), deeplink.ExpiresAt(t0.Add(time.Hour)))
	require.NoError(t, err)
	require.Equal(t, p2, p3)
}

// Without Now, the real clock: a link valid until 2106 verifies today, and
// the 2030 vector verifies until 2030 and is expired after.
func TestDefaultClock(t *testing.T) {
	p, err := deeplink.Sign(vectorSecret, "crm-42", deeplink.ExpiresAt(time.Unix(math.MaxUint32, 0)))
	require.NoError(t, err)
	_, err = deeplink.Verify(vectorSecret, p)
	require.NoError(t, err)
	_, err = deeplink.Sign(vectorSecret, "crm-42", deeplink.ExpiresAt(time.Now().Add(-time.Second)))
	require.ErrorIs(t, err, deeplink.ErrInvalidExpiry)
	_, err = deeplink.Verify(vectorSecret, vectors[1].payload, deeplink.Now(nil)) // nil keeps time.Now
	if time.Now().Before(vectors[1].expiry) {
		require.NoError(t, err)
	} else {
		require.ErrorIs(t, err, deeplink.ErrExpired)
	}
}

// Moving the expiry breaks the tag, and a forged expired payload is reported
// as invalid, not as expired: ErrExpired vouches for the payload.
func TestExpiryIsSigned(t *testing.T) {
	raw, err := base64.RawURLEncoding.DecodeString(vectors[1].payload)
	require.NoError(t, err)
	for i := 1; i <= 4; i++ {
		for _, delta := range []byte{1, 0x80} {
			moved := append([]byte(nil), raw...)
			moved[i] += delta
			for _, now := range []time.Time{t0, vectors[1].expiry.AddDate(100, 0, 0)} {
				_, err := deeplink.Verify(vectorSecret, base64.RawURLEncoding.EncodeToString(moved), at(now))
				require.ErrorIs(t, err, deeplink.ErrInvalid)
			}
		}
	}
}

// Verify ignores the options that only concern Sign.
func TestVerifyIgnoresSignOptions(t *testing.T) {
	id, err := deeplink.Verify(vectorSecret, vectors[0].payload, deeplink.ExpiresAt(t0), deeplink.ValidFor(time.Second), nil)
	require.NoError(t, err)
	require.Equal(t, "crm-42", id)
}
