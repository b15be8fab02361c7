package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A deep link t.me/<bot>?start=PAYLOAD opens the bot and sends it
// "/start PAYLOAD". Telegram allows at most 64 characters of A-Z a-z 0-9 _ -
// in PAYLOAD, so the customer id travels in one of two forms:
//
//   - plain: the id itself, when it is 1 to 64 of those characters and does
//     not start with "_" (e.g. "crm-42");
//   - encoded: "_" followed by the unpadded base64url of the id's bytes, for
//     every other id (e.g. "ann@example.com" becomes "_YW5uQGV4YW1wbGUuY29t").
//     It fits ids of up to 47 bytes.
//
// The leading "_" tells the forms apart: a plain payload never has it, so
// every payload decodes one way only.
const (
	maxPayload       = 64
	encodedMark      = "_"
	maxEncodedIDSize = (maxPayload - len(encodedMark)) * 3 / 4 // 47 bytes
)

var (
	payloadRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	usernameRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)
)

// StartPayload returns the deep-link payload that carries customerID: the id
// itself or its encoded form (see above). It fails on an empty id, an id that
// is not valid UTF-8 or has control characters (Yespo refuses those), and an
// id too long to fit 64 characters encoded (more than 47 bytes).
func StartPayload(customerID string) (string, error) {
	if err := checkCustomerID(customerID); err != nil {
		return "", err
	}
	if payloadRE.MatchString(customerID) && !strings.HasPrefix(customerID, encodedMark) {
		return customerID, nil
	}
	if len(customerID) > maxEncodedIDSize {
		return "", fmt.Errorf("customer id of %d bytes is too long for a deep link: it must be at most 64 characters of A-Za-z0-9_- or at most %d bytes otherwise", len(customerID), maxEncodedIDSize)
	}
	return encodedMark + base64.RawURLEncoding.EncodeToString([]byte(customerID)), nil
}

// DeepLink returns https://t.me/<botUsername>?start=<payload> for
// customerID; the username may have a leading "@". It fails as StartPayload
// does, and on a username that is not 1 to 32 letters, digits or "_".
func DeepLink(botUsername, customerID string) (string, error) {
	name := strings.TrimPrefix(botUsername, "@")
	if !usernameRE.MatchString(name) {
		return "", fmt.Errorf("bot username %q: want letters, digits and _", botUsername)
	}
	payload, err := StartPayload(customerID)
	if err != nil {
		return "", err
	}
	return "https://t.me/" + name + "?start=" + url.QueryEscape(payload), nil
}

// DecodeStartPayload returns the customer id a /start payload carries. It
// fails on a payload that is not 1 to 64 characters of A-Za-z0-9_- (typed by
// hand rather than from a link), on bad base64url after the "_" mark, and on
// an id Yespo would refuse (invalid UTF-8, control characters, blank).
func DecodeStartPayload(payload string) (string, error) {
	if !payloadRE.MatchString(payload) {
		return "", errors.New("start payload must be 1 to 64 characters of A-Za-z0-9_-")
	}
	encoded, isEncoded := strings.CutPrefix(payload, encodedMark)
	if !isEncoded {
		return payload, nil
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(encoded)
	if err != nil {
		return "", fmt.Errorf("start payload after %q is not base64url: %w", encodedMark, err)
	}
	id := string(raw)
	if err := checkCustomerID(id); err != nil {
		return "", err
	}
	return id, nil
}

// checkCustomerID refuses what Yespo would refuse as externalCustomerId, so
// that a bad id fails when the link is made, not when a user follows it.
func checkCustomerID(id string) error {
	switch {
	case strings.TrimSpace(id) == "":
		return errors.New("customer id is empty")
	case !utf8.ValidString(id):
		return errors.New("customer id is not valid UTF-8")
	case strings.ContainsFunc(id, unicode.IsControl):
		return errors.New("customer id has control characters")
	}
	return nil
}
