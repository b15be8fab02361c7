package deeplink

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"
	"unicode/utf8"
)

// Sign returns the start payload that carries customerID, signed with
// secret: at most MaxPayloadLen characters of A-Za-z0-9_-, ready for Link.
// The same inputs always give the same payload. With ExpiresAt or ValidFor
// the payload carries an expiry, also signed; Now sets the clock ValidFor
// counts from.
//
// Sign fails with ErrSecretTooShort for a secret under MinSecretLen bytes,
// with ErrInvalidID for an id that is empty, not valid UTF-8, or longer than
// MaxIDLen bytes (MaxIDLenWithExpiry with an expiry), and with
// ErrInvalidExpiry for an expiry in the past or beyond 2106. It checks
// nothing else about the id: spaces or symbols are carried as they are.
func Sign(secret []byte, customerID string, opts ...Option) (string, error) {
	if err := checkSecret(secret); err != nil {
		return "", err
	}
	c := newConfig(opts)
	maxID, room := MaxIDLen, "a payload"
	if c.expiry != expiryNone {
		maxID, room = MaxIDLenWithExpiry, "a payload with an expiry"
	}
	if err := checkID(customerID, maxID, room); err != nil {
		return "", err
	}
	raw := make([]byte, 0, maxRawLen)
	if c.expiry == expiryNone {
		raw = append(raw, formatPlain)
	} else {
		exp, err := c.expiryUnix()
		if err != nil {
			return "", err
		}
		raw = binary.BigEndian.AppendUint32(append(raw, formatExpiring), exp)
	}
	raw = append(raw, customerID...)
	raw = append(raw, tag(secret, raw)...)
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// Verify returns the customer id that payload carries if Sign made it with
// this secret and it has not expired by Verify's clock (time.Now, or the one
// given with Now). payload is taken exactly as given, nothing trimmed; the
// id comes back byte for byte as it was signed.
//
// Verify fails with ErrSecretTooShort for a secret under MinSecretLen bytes,
// with ErrExpired for a genuine payload past its expiry, and with ErrInvalid
// for everything else: malformed, truncated, changed in any character,
// signed with another secret, or of a format this package does not know.
func Verify(secret []byte, payload string, opts ...Option) (string, error) {
	if err := checkSecret(secret); err != nil {
		return "", err
	}
	f, err := parse(payload)
	if err != nil {
		return "", err
	}
	if !hmac.Equal(f.tag, tag(secret, f.signed)) {
		return "", fmt.Errorf("%w: tag does not match", ErrInvalid)
	}
	// Only another implementation of the format can sign such an id.
	if !utf8.Valid(f.id) {
		return "", fmt.Errorf("%w: customer id is not valid UTF-8", ErrInvalid)
	}
	if f.expiring {
		at := time.Unix(int64(f.expiry), 0)
		if !newConfig(opts).now().Before(at) {
			return "", fmt.Errorf("%w: at %s", ErrExpired, at.UTC().Format(time.RFC3339))
		}
	}
	return string(f.id), nil
}

func checkSecret(secret []byte) error {
	if len(secret) < MinSecretLen {
		return fmt.Errorf("%w: %d bytes, need at least %d", ErrSecretTooShort, len(secret), MinSecretLen)
	}
	return nil
}

// checkID names the id's length, never its content: errors get logged.
func checkID(id string, maxLen int, room string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalidID)
	case len(id) > maxLen:
		return fmt.Errorf("%w: %d bytes, at most %d fit %s", ErrInvalidID, len(id), maxLen, room)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidID)
	}
	return nil
}
