package validate

import "time"

// The bounds of a mute's duration that Yespo documents: 5 seconds to
// 31,536,000 seconds (365 days).
const (
	MinMute = 5 * time.Second
	MaxMute = 31_536_000 * time.Second
)

// MuteSeconds returns d in whole seconds, or what is wrong with it as a
// mute's duration: 0 mutes until unmuted, anything else must be whole
// seconds from MinMute to MaxMute.
func MuteSeconds(d time.Duration) (seconds int64, problem string) {
	switch {
	case d == 0:
		return 0, ""
	case d < 0:
		return 0, "must be positive, or 0 to mute until unmuted"
	case d%time.Second != 0:
		return 0, "must be whole seconds, got " + d.String()
	case d < MinMute || d > MaxMute:
		return 0, "must be from 5s to 8760h (365 days), got " + d.String()
	}
	return int64(d / time.Second), ""
}
