package deeplink

import "errors"

// Sentinel errors, for errors.Is. Every error this package returns matches
// exactly one of them, and its text never holds the payload, the secret or
// the customer id, so that a bot may log it as it is: the text says what was
// wrong (a length, a character class, a time), never with which value.
var (
	// ErrSecretTooShort is returned by Sign and Verify for a secret of fewer
	// than MinSecretLen bytes: a configuration mistake, not a bad link.
	ErrSecretTooShort = errors.New("deeplink: secret too short")

	// ErrInvalidID is returned by Sign for a customer id it cannot carry:
	// empty, not valid UTF-8, or longer than MaxIDLen bytes (MaxIDLenWithExpiry
	// with an expiry).
	ErrInvalidID = errors.New("deeplink: invalid customer id")

	// ErrInvalidExpiry is returned by Sign for an expiry that is not later
	// than now, that a uint32 of Unix seconds cannot hold (after
	// 2106-02-07T06:28:15Z), or a ValidFor duration under one second.
	ErrInvalidExpiry = errors.New("deeplink: invalid expiry")

	// ErrInvalid is returned by Verify for every payload that is not one Sign
	// made with this secret: malformed, truncated, tampered with, signed with
	// another secret, or of an unknown format. Link returns it for a payload
	// that no deep link can carry. Treat it as "this link is not ours".
	ErrInvalid = errors.New("deeplink: invalid payload")

	// ErrExpired is returned by Verify for a genuine payload whose expiry has
	// passed. It is only returned once the tag has been checked, so it never
	// answers for a forged payload; it is then safe to tell the user that the
	// link is old and a fresh one is needed.
	ErrExpired = errors.New("deeplink: payload expired")

	// ErrInvalidUsername is returned by Link for a bot username that is not
	// 5 to 32 characters of A-Za-z0-9_ ending in "bot".
	ErrInvalidUsername = errors.New("deeplink: invalid bot username")
)
