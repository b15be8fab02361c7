package apierr

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/yespo-go/yespo/internal/redact"
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

func TestReadScrubsAndBounds(t *testing.T) {
	const key = "s3cr3t-key"
	s := redact.New("yespo-go", key)
	body := `{"message":"bad key ` + key + `"}` + strings.Repeat(" ", 100)
	resp := &http.Response{StatusCode: 429, Body: io.NopCloser(strings.NewReader(body)),
		Header: http.Header{"Content-Type": {"application/json"}, "Retry-After": {"3"}, "X-Echo": {key}}}
	a := Read(resp, s, 64, 12)
	assert.Equal(t, 3*time.Second, a.RetryAfter)
	assert.NotContains(t, a.Message+string(a.Body)+strings.Join(a.Header["X-Echo"], ""), key)
	assert.LessOrEqual(t, len(a.Message), 12)
	assert.LessOrEqual(t, len(a.Body), 64)
	assert.Contains(t, a.Message, "bad key")
}

func TestCall(t *testing.T) {
	assert.Equal(t, "yespo: GET v1/y", Call("GET", "v1/y", 1))
	assert.Equal(t, "yespo: GET v1/y", Call("GET", "v1/y", 0), "a call stopped before its first attempt")
	assert.Equal(t, "yespo: POST v1/x (3 attempts)", Call("POST", "v1/x", 3))
}
