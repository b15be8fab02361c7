package yespo

import (
	"net/mail"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The fast path must never accept what net/mail would reject or rewrite.
func TestPlainAddressAgreesWithNetMail(t *testing.T) {
	cases := []string{
		"a@b", "a@b.c", "user.name+tag@example.com", "x_y-z@sub.example.co.uk",
		"!#$%&'*+-/=?^_`{|}~@example.com", "a@-example-.com", "A@EXAMPLE.COM",
		".a@b.c", "a.@b.c", "a..b@c.d", "a@b..c", "a@.b", "a@b.", "@b.c", "a@", "a",
		"a b@c.d", "a@b c", `"a b"@c.d`, "a@[127.0.0.1]", "Ann <a@b.c>", "a@b@c",
		"a(comment)@b.c", "ä@b.c", "a@bü.c", "a@b.c\n", "",
	}
	for _, e := range cases {
		if !plainAddress(e) {
			continue
		}
		a, err := mail.ParseAddress(e)
		if assert.NoError(t, err, e) {
			assert.Equal(t, e, a.Address, e)
			assert.Empty(t, a.Name, e)
		}
	}
	assert.True(t, plainAddress("user.name+tag@example.com"))
	assert.False(t, plainAddress(`"a b"@c.d`), "quoted local parts go through net/mail")
}
