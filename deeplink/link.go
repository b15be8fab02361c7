package deeplink

import (
	"fmt"
	"strings"
)

// Link returns the deep link https://t.me/<bot>?start=<payload>, which opens
// the bot and makes it receive "/start <payload>".
//
// botUsername may start with "@", which is dropped. The rest must be a
// Telegram bot username: 5 to 32 characters of A-Za-z0-9_, ending in "bot"
// in any case, as Telegram requires of every bot; anything else fails with
// ErrInvalidUsername, which catches a channel's or a person's name passed by
// mistake. payload must be 1 to MaxPayloadLen characters of A-Za-z0-9_-, or
// Link fails with ErrInvalid; Link does not check that Sign made it, so it
// also builds links for payloads of other kinds.
func Link(botUsername, payload string) (string, error) {
	name := strings.TrimPrefix(botUsername, "@")
	if err := checkUsername(name); err != nil {
		return "", err
	}
	if err := checkChars(payload); err != nil {
		return "", err
	}
	// Neither part needs escaping: both are made of URL-safe characters.
	return "https://t.me/" + name + "?start=" + payload, nil
}

// checkUsername names the rule that failed, not the name: a username is
// not secret, but the error text stays free of input throughout the package.
func checkUsername(name string) error {
	if len(name) < 5 || len(name) > 32 {
		return fmt.Errorf("%w: must be 5 to 32 characters, not %d", ErrInvalidUsername, len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isPayloadChar(c) || c == '-' {
			return fmt.Errorf("%w: character %d is not one of A-Za-z0-9_", ErrInvalidUsername, i+1)
		}
	}
	if !strings.EqualFold(name[len(name)-3:], "bot") {
		return fmt.Errorf(`%w: a bot's username ends in "bot"`, ErrInvalidUsername)
	}
	return nil
}
