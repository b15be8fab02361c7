package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/yespo-go/yespo"
)

const day = 24 * time.Hour

// muteUsage is the answer to a /mute the bot does not understand.
const muteUsage = "Send /mute to pause our news until you send /unmute, or /mute with a duration " +
	"from 5s to 365d: for example /mute 30m, /mute 2h or /mute 7d."

// parseMuteDuration reads the argument of /mute: nothing for "until
// /unmute" (0), a Go duration such as "30m" or "1h30m", or whole days such as
// "7d". It fails outside Yespo's range or on a fraction of a second.
func parseMuteDuration(arg string) (time.Duration, error) {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return 0, nil
	}
	d, err := parseDays(arg)
	if err != nil {
		d, err = time.ParseDuration(arg)
	}
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a duration like 30m, 2h or 7d", arg)
	case d < yespo.MinMute || d > yespo.MaxMute:
		return 0, fmt.Errorf("%s is outside 5s to 365d", arg)
	case d%time.Second != 0:
		return 0, fmt.Errorf("%s is not whole seconds", arg)
	}
	return d, nil
}

// parseDays reads "7d", which time.ParseDuration does not know.
func parseDays(arg string) (time.Duration, error) {
	n, ok := strings.CutSuffix(arg, "d")
	if !ok {
		return 0, errors.New("no d suffix")
	}
	days, err := strconv.Atoi(n)
	if err != nil || days < 0 || days > 10000 {
		return 0, fmt.Errorf("bad number of days %q", n)
	}
	return time.Duration(days) * day, nil
}

// humanDuration says d to a user in its largest whole unit: "1 hour",
// "90 minutes", "7 days". It rounds up to whole seconds, so that a wait is
// never shorter than said.
func humanDuration(d time.Duration) string {
	d = (d + time.Second - 1).Truncate(time.Second)
	for _, u := range []struct {
		size time.Duration
		name string
	}{{day, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}} {
		if d >= u.size && d%u.size == 0 {
			return plural(int64(d/u.size), u.name)
		}
	}
	return plural(int64(d/time.Second), "second")
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}
