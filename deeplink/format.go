package deeplink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
)

// The byte layout of a payload; doc.go describes it for other languages.
const (
	// MaxPayloadLen is the longest start parameter Telegram accepts, in
	// characters of A-Za-z0-9_-.
	MaxPayloadLen = 64

	// MinSecretLen is the shortest secret Sign and Verify accept, in bytes:
	// 256 bits, all the strength HMAC-SHA256 has to offer. Use random bytes,
	// not a password.
	MinSecretLen = 32

	// MaxIDLen is the longest customer id, in bytes of UTF-8 (not
	// characters), that a payload without expiry carries: 48 raw bytes fill
	// 64 base64url characters, less 1 format byte and 8 tag bytes.
	MaxIDLen = maxRawLen - 1 - tagLen // 39

	// MaxIDLenWithExpiry is MaxIDLen less the 4 bytes of an expiry: the
	// longest id, in bytes, Sign accepts with ExpiresAt or ValidFor.
	MaxIDLenWithExpiry = MaxIDLen - expiryLen // 35
)

const (
	maxRawLen = MaxPayloadLen / 4 * 3 // 48 bytes: 64 base64 characters, no padding
	tagLen    = 8                     // HMAC-SHA256 truncated to 64 bits
	expiryLen = 4                     // big-endian uint32 of Unix seconds

	formatPlain    byte = 0x01 // format byte || id || tag
	formatExpiring byte = 0x02 // format byte || expiry || id || tag

	// macContext starts every MAC input, so that a tag made with the same
	// secret for any other purpose never passes for a deep-link tag.
	macContext = "yespo-go/deeplink"
)

// The alphabet, and its encoding. Strict refuses a last character whose
// unused low bits are not zero: without it, up to 16 spellings of one
// payload would verify, and a changed character could go unnoticed.
var b64 = base64.RawURLEncoding.Strict()

// tag returns the truncated HMAC of signed, the payload's bytes before the
// tag.
func tag(secret, signed []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(macContext))
	m.Write(signed)
	return m.Sum(nil)[:tagLen]
}

// fields is a payload split into its parts; nothing in it is checked yet
// except the layout.
type fields struct {
	signed   []byte // format byte, expiry if any, id: what the tag covers
	tag      []byte
	id       []byte
	expiring bool
	expiry   uint32 // Unix seconds, when expiring
}

// parse decodes a payload and splits it, refusing, with errors that match
// ErrInvalid, any text that is not a payload of a known format.
func parse(payload string) (fields, error) {
	if err := checkChars(payload); err != nil {
		return fields{}, err
	}
	// The decoder skips \r and \n, which checkChars has already refused.
	raw, err := b64.DecodeString(payload)
	if err != nil || len(raw) == 0 {
		return fields{}, fmt.Errorf("%w: not canonical unpadded base64url", ErrInvalid)
	}
	head := 1
	switch raw[0] {
	case formatPlain:
	case formatExpiring:
		head += expiryLen
	default:
		return fields{}, fmt.Errorf("%w: unknown format byte", ErrInvalid)
	}
	if len(raw) < head+1+tagLen {
		return fields{}, fmt.Errorf("%w: too short", ErrInvalid)
	}
	f := fields{signed: raw[:len(raw)-tagLen], tag: raw[len(raw)-tagLen:], id: raw[head : len(raw)-tagLen]}
	if raw[0] == formatExpiring {
		f.expiring, f.expiry = true, binary.BigEndian.Uint32(raw[1:head])
	}
	return f, nil
}

// checkChars refuses text that Telegram would not pass as a start
// parameter: empty, longer than MaxPayloadLen, or outside A-Za-z0-9_-.
func checkChars(payload string) error {
	if len(payload) == 0 || len(payload) > MaxPayloadLen {
		return fmt.Errorf("%w: must be 1 to %d characters, not %d", ErrInvalid, MaxPayloadLen, len(payload))
	}
	for i := 0; i < len(payload); i++ {
		if !isPayloadChar(payload[i]) {
			return fmt.Errorf("%w: character %d is not one of A-Za-z0-9_-", ErrInvalid, i+1)
		}
	}
	return nil
}

func isPayloadChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}
