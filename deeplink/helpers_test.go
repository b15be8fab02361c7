package deeplink_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/yespo-go/yespo/deeplink"
)

// alphabet is every character a payload may hold.
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// vectorSecret is the secret of the published test vectors: 0x00 to 0x1f.
var vectorSecret = mustHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")

// t0 is "now" in the tests, well before the vectors' expiry.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(t time.Time) deeplink.Option { return deeplink.Now(func() time.Time { return t }) }

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// forge writes a payload from raw parts with a correct tag, as another
// implementation of the format would: it lets tests reach the checks that
// come after the tag.
func forge(secret []byte, context string, signed []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(context))
	m.Write(signed)
	return base64.RawURLEncoding.EncodeToString(append(signed, m.Sum(nil)[:8]...))
}
