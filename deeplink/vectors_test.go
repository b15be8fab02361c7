package deeplink_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/yespo-go/yespo/deeplink"
)

// The vectors published in doc.go: if one changes, every backend that
// reimplemented the format breaks, so a failure here is a format change.
var vectors = []struct {
	id      string
	expiry  time.Time // zero: none
	payload string
}{
	{"crm-42", time.Time{}, "AWNybS00Ms_KUTrbqGRS"},
	{"crm-42", time.Unix(1893456000, 0), "AnDb2IBjcm0tNDIGSM_79qOe7Q"},
	{"Олена-7", time.Unix(1893456000, 0), "AnDb2IDQntC70LXQvdCwLTd9JB7srkTJbA"},
	{strings.Repeat("a", 39), time.Time{}, "AWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYefRuOcp-2ZC"},
	{strings.Repeat("z", 35), time.Unix(1893456000, 0), "AnDb2IB6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6evLo6ydXqEI0"},
}

func TestVectors(t *testing.T) {
	require.Equal(t, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), int64(1893456000))
	for _, v := range vectors {
		opts := []deeplink.Option{at(t0)}
		if !v.expiry.IsZero() {
			opts = append(opts, deeplink.ExpiresAt(v.expiry))
		}
		got, err := deeplink.Sign(vectorSecret, v.id, opts...)
		require.NoError(t, err, v.id)
		require.Equal(t, v.payload, got, v.id)

		id, err := deeplink.Verify(vectorSecret, v.payload, at(t0))
		require.NoError(t, err, v.id)
		require.Equal(t, v.id, id)
		if !v.expiry.IsZero() {
			_, err = deeplink.Verify(vectorSecret, v.payload, at(v.expiry))
			require.ErrorIs(t, err, deeplink.ErrExpired, v.id)
		}
	}
}

// The vector in doc.go with its MAC input spelled out, rebuilt from the
// documented parts by hand.
func TestVectorFromDocumentedParts(t *testing.T) {
	signed := append([]byte{0x02}, mustHex("70dbd880")...)
	signed = append(signed, "crm-42"...)
	require.Equal(t, "AnDb2IBjcm0tNDIGSM_79qOe7Q", forge(vectorSecret, "yespo-go/deeplink", signed))
}
