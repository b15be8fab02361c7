package deeplink_test

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/yespo-go/yespo/deeplink"
)

// FuzzVerify checks that only Sign's output verifies. Each input is a
// customer id, an arbitrary payload, and a one-character change:
//
//   - the arbitrary payload either fails with ErrInvalid or ErrExpired, or
//     is exactly what Sign makes for the id (and expiry) it carries;
//   - Sign accepts exactly the ids the documented rules allow, and what it
//     makes verifies back to the id;
//   - that payload with the character at pos replaced by alphabet[c] fails
//     with ErrInvalid, unless the "change" left it as it was.
func FuzzVerify(f *testing.F) {
	for _, v := range vectors {
		f.Add(v.id, v.payload, uint8(0), uint8(0), !v.expiry.IsZero())
	}
	f.Add("", "", uint8(5), uint8(63), false)
	f.Add("crm-4", "AWNybS00Ms_KUTrbqGRT", uint8(18), uint8(1), false) // last character's unused bits
	f.Add("\xff", "AWNybS00Ms_KUTrbqGR\n", uint8(200), uint8(255), true)
	f.Add(strings.Repeat("é", 20), "AnDb2IBjcm0tNDIGSM_79qOe7Q==", uint8(3), uint8(7), true)
	f.Fuzz(func(t *testing.T, id, payload string, pos, c uint8, expiring bool) {
		checkAnyPayload(t, payload)

		opts := []deeplink.Option{at(t0)}
		maxID := deeplink.MaxIDLen
		if expiring {
			opts, maxID = append(opts, deeplink.ValidFor(time.Hour)), deeplink.MaxIDLenWithExpiry
		}
		signed, err := deeplink.Sign(vectorSecret, id, opts...)
		if want := id != "" && len(id) <= maxID && utf8.ValidString(id); want != (err == nil) {
			t.Fatalf("Sign(%q, expiring=%v): %v, the documented rules say valid=%v", id, expiring, err, want)
		}
		if err != nil {
			return
		}
		got, err := deeplink.Verify(vectorSecret, signed, at(t0))
		if err != nil || got != id {
			t.Fatalf("Verify(Sign(%q)) = %q, %v", id, got, err)
		}
		i := int(pos) % len(signed)
		changed := signed[:i] + string(alphabet[int(c)%len(alphabet)]) + signed[i+1:]
		if _, err := deeplink.Verify(vectorSecret, changed, at(t0)); changed != signed && !errors.Is(err, deeplink.ErrInvalid) {
			t.Fatalf("Verify(%q), %q with position %d changed: %v, want ErrInvalid", changed, signed, i, err)
		}
	})
}

// checkAnyPayload verifies an arbitrary payload; if it passes, it must be
// the very payload Sign makes for what it carries.
func checkAnyPayload(t *testing.T, payload string) {
	id, err := deeplink.Verify(vectorSecret, payload, at(t0))
	if err != nil {
		if !errors.Is(err, deeplink.ErrInvalid) && !errors.Is(err, deeplink.ErrExpired) {
			t.Fatalf("Verify(%q): %v, want ErrInvalid or ErrExpired", payload, err)
		}
		if len(payload) >= 8 && strings.Contains(err.Error(), payload) {
			t.Fatalf("Verify(%q): the error quotes the payload: %v", payload, err)
		}
		return
	}
	opts := []deeplink.Option{at(t0)}
	if raw, _ := base64.RawURLEncoding.DecodeString(payload); len(raw) > 5 && raw[0] == 0x02 {
		opts = append(opts, deeplink.ExpiresAt(time.Unix(int64(binary.BigEndian.Uint32(raw[1:5])), 0)))
	}
	again, err := deeplink.Sign(vectorSecret, id, opts...)
	if err != nil || again != payload {
		t.Fatalf("Verify(%q) = %q, but Sign makes %q, %v", payload, id, again, err)
	}
}
