package deeplink_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/yespo-go/yespo/deeplink"
)

// exampleSecret is the test vectors' secret. A real one is 32 random bytes
// (e.g. `openssl rand -hex 32`) kept in the configuration of both the web
// backend and the bot.
func exampleSecret() []byte {
	secret, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	return secret
}

// The web backend signs the id of the customer who is signed in, with and
// without an expiry, and builds the link to show them.
func ExampleSign() {
	secret := exampleSecret()

	payload, err := deeplink.Sign(secret, "crm-42")
	if err != nil {
		panic(err)
	}
	fmt.Println(payload)

	// Real code would rather use deeplink.ValidFor(24*time.Hour).
	expiring, err := deeplink.Sign(secret, "crm-42", deeplink.ExpiresAt(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)),
		deeplink.Now(func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }))
	if err != nil {
		panic(err)
	}
	fmt.Println(expiring)

	_, err = deeplink.Sign(secret, "a customer id far too long to fit 64 characters")
	fmt.Println(err)
	// Output:
	// AWNybS00Ms_KUTrbqGRS
	// AnDb2IBjcm0tNDIGSM_79qOe7Q
	// deeplink: invalid customer id: 47 bytes, at most 39 fit a payload
}

// The bot, on "/start <payload>", learns whose chat it is, or that it must
// not trust the link.
func ExampleVerify() {
	secret := exampleSecret()
	// Real code passes no Now: Verify reads time.Now.
	in2029 := deeplink.Now(func() time.Time { return time.Date(2029, 12, 31, 23, 59, 59, 0, time.UTC) })
	in2030 := deeplink.Now(func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) })

	for _, c := range []struct {
		payload string
		clock   deeplink.Option
	}{
		{"AnDb2IBjcm0tNDIGSM_79qOe7Q", in2029}, // expires 2030-01-01
		{"AnDb2IBjcm0tNDIGSM_79qOe7Q", in2030},
		{"AnDb2IBjcm0tNDMGSM_79qOe7Q", in2029}, // one character changed
		{"crm-43", in2029},                     // typed by hand
	} {
		id, err := deeplink.Verify(secret, c.payload, c.clock)
		switch {
		case errors.Is(err, deeplink.ErrExpired):
			fmt.Println("expired: ask the customer for a fresh link")
		case err != nil:
			fmt.Println("refused:", err)
		default:
			fmt.Println("customer", id)
		}
	}
	// Output:
	// customer crm-42
	// expired: ask the customer for a fresh link
	// refused: deeplink: invalid payload: tag does not match
	// refused: deeplink: invalid payload: not canonical unpadded base64url
}

func ExampleLink() {
	link, err := deeplink.Link("@YespoDemoBot", "AWNybS00Ms_KUTrbqGRS")
	if err != nil {
		panic(err)
	}
	fmt.Println(link)

	_, err = deeplink.Link("@YespoNews", "AWNybS00Ms_KUTrbqGRS")
	fmt.Println(err)
	// Output:
	// https://t.me/YespoDemoBot?start=AWNybS00Ms_KUTrbqGRS
	// deeplink: invalid bot username: a bot's username ends in "bot"
}
