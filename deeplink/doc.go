/*
Package deeplink makes and checks signed start payloads for Telegram deep
links, so that a bot learns which customer opened it from a link the shop
made, not from what a user typed.

A deep link https://t.me/<bot>?start=PAYLOAD opens the bot, which then
receives "/start PAYLOAD". A bot that takes PAYLOAD as a customer id lets
anyone who types "/start crm-43" attach their chat to someone else's
contact. With this package the shop's web backend calls Sign (or
reimplements it from the format below), the bot calls Verify, and a payload
that anyone other than the holder of the secret made or changed is refused.

	// The web backend, for a signed-in customer:
	payload, err := deeplink.Sign(secret, "crm-42", deeplink.ValidFor(24*time.Hour))
	link, err := deeplink.Link("@YespoDemoBot", payload)

	// The bot, on "/start <payload>":
	customerID, err := deeplink.Verify(secret, payload)
	switch {
	case errors.Is(err, deeplink.ErrExpired): // genuine but old: ask for a new link
	case err != nil:                          // not ours: ignore it
	}

The secret is at least MinSecretLen (32) random bytes shared by the backend
and the bot, and by nothing else; to rotate it, have the bot try the new and
then the old secret until the old links have expired.

A payload is signed, not encrypted: anyone who sees the link can read the
customer id in it. And a link is a bearer token: whoever opens it is taken
for that customer, so show it only to the customer, signed in, and give it
an expiry (ValidFor) so that a link forwarded or found later is refused.

# Format

A payload is the unpadded base64url encoding (RFC 4648 §5, alphabet
A-Z a-z 0-9 - _, no "=") of these bytes:

	without expiry:  0x01 || ID || TAG
	with expiry:     0x02 || EXP || ID || TAG

	0x01, 0x02  format byte, 1 byte; Verify refuses every other value
	EXP         expiry, 4 bytes: Unix time in seconds, big-endian unsigned;
	            the payload is valid while now < EXP
	ID          customer id, its UTF-8 bytes, at least 1, no length prefix:
	            it is whatever lies between the header and the last 8 bytes
	TAG         8 bytes: the first 8 bytes of
	            HMAC-SHA256(key = secret, message = CONTEXT || header || ID)
	CONTEXT     the 17 ASCII bytes "yespo-go/deeplink", no terminator
	header      the format byte, followed by EXP when it is 0x02

The MAC covers everything in the payload before TAG, and more: CONTEXT, so
that a tag the same secret makes for any other purpose is never a valid
deep-link tag, and the format byte, so that a payload cannot be read as
another format. Telegram's limit of 64 characters is 48 bytes before
encoding, hence the longest ids, counted in bytes, not characters:

	without expiry: 48 - 1 - 8     = 39 bytes (MaxIDLen)
	with expiry:    48 - 1 - 4 - 8 = 35 bytes (MaxIDLenWithExpiry)

An ASCII id of 39 characters fits, while a Cyrillic one fits 19 characters
(2 bytes each) and an emoji id 9 (4 bytes each). A payload is 4n/3
characters rounded up for n bytes: 14 to 64 characters.

Verify accepts only the canonical encoding: no padding, no characters
outside the alphabet (not even line breaks, which many base64 decoders
skip), and a last character whose unused low bits are zero. It compares tags
in constant time, and checks expiry only once the tag is right.

# Test vectors

With the secret 0x00 0x01 0x02 … 0x1f (32 bytes, hex
000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f) and, where
there is one, the expiry 2030-01-01T00:00:00Z (1893456000, hex 70dbd880):

	id "crm-42", no expiry
	  MAC input  796573706f2d676f2f646565706c696e6b 01 63726d2d3432
	  bytes      01 63726d2d3432 cfca513adba86452
	  payload    AWNybS00Ms_KUTrbqGRS

	id "crm-42", expiry 1893456000
	  MAC input  796573706f2d676f2f646565706c696e6b 02 70dbd880 63726d2d3432
	  bytes      02 70dbd880 63726d2d3432 0648cffbf6a39eed
	  payload    AnDb2IBjcm0tNDIGSM_79qOe7Q

	id "Олена-7" (12 bytes of UTF-8), expiry 1893456000
	  bytes      02 70dbd880 d09ed0bbd0b5d0bdd0b02d37 7d241eecae44c96c
	  payload    AnDb2IDQntC70LXQvdCwLTd9JB7srkTJbA

	id "a" repeated 39 times (MaxIDLen), no expiry: 64 characters
	  payload    AWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYefRuOcp-2ZC

	id "z" repeated 35 times (MaxIDLenWithExpiry), expiry 1893456000
	  payload    AnDb2IB6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6evLo6ydXqEI0

TestVectors checks them against Sign and Verify.
*/
package deeplink
