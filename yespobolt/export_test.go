package yespobolt

import "time"

// SetLingerMax sets how long a commit may wait for the callers of the last
// one, for a benchmark, and returns what restores it.
func SetLingerMax(d time.Duration) (restore func()) {
	old := lingerMax
	lingerMax = d
	return func() { lingerMax = old }
}
