package validate

import (
	"strings"
	"testing"
	"time"
)

func TestMuteSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                       "",
		MinMute:                 "",
		MaxMute:                 "",
		-time.Second:            "must be positive",
		1500 * time.Millisecond: "must be whole seconds, got 1.5s",
		4 * time.Second:         "must be from 5s to 8760h (365 days), got 4s",
		MaxMute + time.Second:   "got 8760h0m1s",
	} {
		s, r := MuteSeconds(d)
		if want == "" && (r != "" || s != int64(d/time.Second)) || !strings.Contains(r, want) || r != "" && s != 0 {
			t.Errorf("MuteSeconds(%v) = %d, %q; want %q", d, s, r, want)
		}
	}
}
