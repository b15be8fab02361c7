package main

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

func TestStartPayloadKeepsLinkSafeIDs(t *testing.T) {
	for _, id := range []string{"crm-42", "A", alphabet[1:] + "A", strings.Repeat("z", 64), "a_b-c"} {
		got, err := StartPayload(id)
		require.NoError(t, err, id)
		assert.Equal(t, id, got, "%q travels as is", id)
	}
}

func TestStartPayloadEncodesOtherIDs(t *testing.T) {
	cases := map[string]string{
		"ann@example.com":  "_YW5uQGV4YW1wbGUuY29t",
		"CRM/2024/0077":    "_Q1JNLzIwMjQvMDA3Nw",
		"a b":              "_YSBi",
		"Олена":            "_0J7Qu9C10L3QsA",
		"_x":               "_X3g", // a leading "_" would read as the mark
		"crm?id=42&x=+%20": "_Y3JtP2lkPTQyJng9KyUyMA",
	}
	for id, want := range cases {
		got, err := StartPayload(id)
		require.NoError(t, err, id)
		assert.Equal(t, want, got, id)
		assert.LessOrEqual(t, len(got), 64)
	}
}

// The 64-character rule: 64 link-safe characters fit as is, 65 do not fit
// at all (encoded they would be longer still); encoded ids fit up to 47
// bytes, which make exactly 64 characters with the mark.
func TestStartPayloadLengthLimits(t *testing.T) {
	got, err := StartPayload(strings.Repeat("a", 64))
	require.NoError(t, err)
	assert.Len(t, got, 64)
	_, err = StartPayload(strings.Repeat("a", 65))
	assert.ErrorContains(t, err, "too long")

	got, err = StartPayload(strings.Repeat("@", 47))
	require.NoError(t, err)
	assert.Len(t, got, 64)
	_, err = StartPayload(strings.Repeat("@", 48))
	assert.ErrorContains(t, err, "too long")
	_, err = StartPayload("_" + strings.Repeat("a", 47))
	assert.ErrorContains(t, err, "too long", "48 bytes that start with the mark must be encoded, and do not fit")
}

func TestStartPayloadRefusesWhatYespoRefuses(t *testing.T) {
	for _, id := range []string{"", "   ", "a\nb", "tab\there", "\x7f", "bad\xffutf8"} {
		_, err := StartPayload(id)
		assert.Error(t, err, "%q", id)
	}
}

func TestDecodeStartPayload(t *testing.T) {
	ok := map[string]string{
		"crm-42":                           "crm-42",
		strings.Repeat("Z", 64):            strings.Repeat("Z", 64),
		"-starts-with-dash":                "-starts-with-dash",
		"_YW5uQGV4YW1wbGUuY29t":            "ann@example.com",
		"_X3g":                             "_x",
		"_Q1JNLzIwMjQvMDA3Nw":              "CRM/2024/0077",
		"_" + enc("plain-is-fine"):         "plain-is-fine", // not what StartPayload makes, but unambiguous
		"_" + enc(strings.Repeat("é", 23)): strings.Repeat("é", 23),
	}
	for payload, want := range ok {
		got, err := DecodeStartPayload(payload)
		require.NoError(t, err, payload)
		assert.Equal(t, want, got, payload)
	}
	bad := []string{
		"",                                      // nothing
		strings.Repeat("a", 65),                 // over 64
		"a b", "crm+42", "ann@example.com", "é", // outside the alphabet
		"_",                                                   // mark, nothing encoded
		"_a",                                                  // not base64: one character
		"_YR",                                                 // not canonical: nonzero trailing bits
		"_YQ==",                                               // padding is outside the alphabet anyway
		"_" + enc("a\nb"), "_" + enc("\xff"), "_" + enc("  "), // ids Yespo refuses
	}
	for _, payload := range bad {
		_, err := DecodeStartPayload(payload)
		assert.Error(t, err, "%q", payload)
	}
}

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestDeepLink(t *testing.T) {
	got, err := DeepLink("@YespoDemoBot", "crm-42")
	require.NoError(t, err)
	assert.Equal(t, "https://t.me/YespoDemoBot?start=crm-42", got)
	got, err = DeepLink("YespoDemoBot", "ann@example.com")
	require.NoError(t, err)
	assert.Equal(t, "https://t.me/YespoDemoBot?start=_YW5uQGV4YW1wbGUuY29t", got)

	_, err = DeepLink("", "crm-42")
	assert.Error(t, err)
	_, err = DeepLink("bad name", "crm-42")
	assert.Error(t, err)
	_, err = DeepLink("YespoDemoBot", strings.Repeat("a", 65))
	assert.Error(t, err)
}

// Whatever the id, a payload StartPayload makes is link-safe and decodes
// back to the id.
func FuzzStartPayloadRoundTrip(f *testing.F) {
	for _, seed := range []string{"crm-42", "_x", "ann@example.com", strings.Repeat("a", 64), strings.Repeat("@", 47), "Олена", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, id string) {
		payload, err := StartPayload(id)
		if err != nil {
			return
		}
		require.Regexp(t, `^[A-Za-z0-9_-]{1,64}$`, payload)
		got, err := DecodeStartPayload(payload)
		require.NoError(t, err, payload)
		require.Equal(t, id, got)
	})
}
