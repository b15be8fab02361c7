package apierr

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

const base = "https://yespo.io/api/"

func TestText(t *testing.T) {
	a := Answer{Method: "POST", Path: "v1/apps/u/tokens", Status: 429, Message: "slow down", RetryAfter: 2 * time.Second, Attempts: 4}
	assert.Equal(t, "yespo: POST v1/apps/u/tokens: 429 Too Many Requests: slow down (retry after 2s, 4 attempts)", a.Text(base))
	a = Answer{Method: "POST", Path: "v1/apps/u/tokens", Status: 599, Attempts: 1}
	assert.Equal(t, "yespo: POST v1/apps/u/tokens: 599", a.Text(base))
	a = Answer{Method: "POST", Path: "v1/apps/u/token/mute", Status: 403}
	assert.Contains(t, a.Text(base), `lacks the right for "Mute a token"`)
	a = Answer{Method: "GET", Path: "v1/other", Status: 403}
	assert.Contains(t, a.Text(base), "lacks the right for GET v1/other")
	a = Answer{Method: "POST", Path: "v1/apps/u/tokens", Status: 404}
	assert.Contains(t, a.Text(base), `ends in "/api/", as in `+base)
}

func TestNotFromYespo(t *testing.T) {
	for _, c := range []struct {
		a    Answer
		want bool
	}{
		{Answer{Status: 404, Path: "v1/apps/u/tokens", Message: "Not registered application"}, false},
		{Answer{Status: 404, Path: "v1/apps/u/tokens"}, true},
		{Answer{Status: 404, Path: EventPath, Message: "Not found."}, true},
		{Answer{Status: 404, Path: "v1/contact/token/u/t/contactId", Message: "Not found"}, false},
		{Answer{Status: 404, Path: "v1/contact/token/u/t/contactId", Message: "404 page not found"}, true},
		{Answer{Status: 404, Path: "v1/contact/token/u/t/contactId", Body: []byte(" <html>")}, true},
		{Answer{Status: 404, Path: "v1/x", ContentType: "text/HTML"}, true},
		{Answer{Status: 404, Path: "v1/x", Message: "Cannot POST /v1/x"}, true},
		{Answer{Status: 400, Path: "v1/apps/u/tokens"}, false},
	} {
		assert.Equal(t, c.want, c.a.NotFromYespo(), "%+v", c.a)
	}
	assert.True(t, AppNotRegistered("NOT REGISTERED APPLICATION"))
}
