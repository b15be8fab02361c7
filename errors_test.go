package yespo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/internal/redact"
)

func TestValidationError(t *testing.T) {
	tests := []struct {
		name string
		err  *ValidationError
		want string
	}{
		{"not in slice", invalid("appUUID", "must not be empty"), "yespo: invalid appUUID: must not be empty"},
		{"in slice", &ValidationError{Index: 3, Field: "phone", Reason: "bad"}, "yespo: invalid tokens[3].phone: bad"},
		{"first element", &ValidationError{Index: 0, Field: "email", Reason: "bad"}, "yespo: invalid tokens[0].email: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.err.Error())
			assert.ErrorIs(t, tt.err, ErrInvalidInput)
			assert.ErrorIs(t, fmt.Errorf("wrapped: %w", tt.err), ErrInvalidInput)
			assert.NotErrorIs(t, tt.err, ErrNotFound)
			assert.NotErrorIs(t, tt.err, ErrUnexpectedResponse)
		})
	}
}

func TestErrorMessage(t *testing.T) {
	euro := strings.Repeat("€", 2000)  // 3-byte runes
	emoji := strings.Repeat("😀", 1250) // 4-byte runes
	tests := []struct {
		name, body, contentType, want string
	}{
		{"message", `{"message":"Not registered application"}`, "application/json", "Not registered application"},
		{"error", `{"error":"invalid_api_key"}`, "application/json", "invalid_api_key"},
		{"errorMessage", `{"errorMessage":"Bad token"}`, "application/json", "Bad token"},
		{"message first", `{"errorMessage":"C","error":"B","message":"A"}`, "", "A"},
		{"blank message skipped", `{"message":"  ","error":"B"}`, "", "B"},
		{"null message skipped", `{"message":null,"errorMessage":"C"}`, "", "C"},
		{"no known field", `{"status":500}`, "application/json", `{"status":500}`},
		{"all blank", `{"message":"","error":" "}`, "", `{"message":"","error":" "}`},
		{"error is bool", `{"error":true,"message":"Invalid token"}`, "application/json", "Invalid token"},
		{"message with newline", `{"message":"line one\nline two"}`, "", "line one line two"},
		{"json string", `"Wrong app uuid"`, "application/json", "Wrong app uuid"},
		{"json string padded", " \n\"Wrong app uuid\"\n", "", "Wrong app uuid"},
		{"json string escapes", `"tab\there"`, "", "tab here"},
		{"plain text", "  Service temporarily unavailable \n", "text/plain", "Service temporarily unavailable"},
		{"html", "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>", "text/html; charset=utf-8", "502 Bad Gateway"},
		{"html upper case", "<HTML><HEAD><TITLE>\n  Service\tUnavailable\n</TITLE></HEAD></HTML>", "", "Service Unavailable"},
		{"html without title", "<html><body>Oops</body></html>", "text/html", "<html><body>Oops</body></html>"},
		{"invalid json", `{"message": "oops"`, "application/json", `{"message": "oops"`},
		{"invalid json padded", "  {not json}\r\n", "application/json", "{not json}"},
		{"control chars", "line1\r\nline2\x00\x01end", "", "line1 line2 end"},
		{"white space runs", "a   \t\n b\u00a0\u00a0c", "", "a b c"},
		{"invalid utf-8", "bad \xff byte", "", "bad \uFFFD byte"},
		{"empty", "", "", ""},
		{"white space only", " \n\t ", "", ""},
		{"5000 bytes", strings.Repeat("x", 5000), "", strings.Repeat("x", 1024)},
		{"3-byte runes at cut", "ab" + euro, "", "ab" + euro[:340*3]},
		{"4-byte runes at cut", "a" + emoji, "", "a" + emoji[:255*4]},
		{"space at cut", strings.Repeat("a ", 2500), "", strings.TrimSpace(strings.Repeat("a ", 512))},
		{"long json message", `{"message":"` + strings.Repeat("é", 2500) + `"}`, "", strings.Repeat("é", 512)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := errorMessage([]byte(tt.body), tt.contentType)
			assert.Equal(t, tt.want, got)
			assert.LessOrEqual(t, len(got), 1024)
			assert.True(t, utf8.ValidString(got), "invalid UTF-8: %q", got)
			assert.Equal(t, strings.TrimSpace(got), got, "untrimmed")
			assert.NotContains(t, got, "  ")
			assert.Equal(t, -1, strings.IndexFunc(got, func(r rune) bool {
				return unicode.IsControl(r) || unicode.IsSpace(r) && r != ' '
			}), "control or non-space white space in %q", got)
		})
	}
}

func TestAPIErrorError(t *testing.T) {
	const path = "v1/apps/0f8b6c3e-5a1d-4e2b-9c7f-1a2b3c4d5e6f/tokens"
	tests := []struct {
		name string
		err  APIError
		want string
	}{
		{"not registered", APIError{StatusCode: 404, Message: "Not registered application", Method: "POST", Path: path, Attempts: 1},
			"yespo: POST " + path + ": 404 Not Found: Not registered application"},
		{"retry and attempts", APIError{StatusCode: 429, Message: "Too many", Method: "POST", Path: path, RetryAfter: 30 * time.Second, Attempts: 4},
			"yespo: POST " + path + ": 429 Too Many Requests: Too many (retry after 30s, 4 attempts)"},
		{"retry only", APIError{StatusCode: 429, Method: "POST", Path: path, RetryAfter: 90 * time.Second, Attempts: 1},
			"yespo: POST " + path + ": 429 Too Many Requests (retry after 1m30s)"},
		{"attempts only", APIError{StatusCode: 503, Message: "down", Method: "GET", Path: "v1/x", Attempts: 3},
			"yespo: GET v1/x: 503 Service Unavailable: down (3 attempts)"},
		{"no message", APIError{StatusCode: 500, Method: "GET", Path: "v1/x", Attempts: 1},
			"yespo: GET v1/x: 500 Internal Server Error"},
		{"unknown status", APIError{StatusCode: 599, Message: "odd", Method: "GET", Path: "v1/x"},
			"yespo: GET v1/x: 599: odd"},
		{"zero attempts", APIError{StatusCode: 401, Method: "POST", Path: "v1/x"},
			"yespo: POST v1/x: 401 Unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.err.Error())
		})
	}
}

func TestAPIErrorIs(t *testing.T) {
	sentinels := map[string]error{
		"ErrInvalidInput": ErrInvalidInput, "ErrUnauthorized": ErrUnauthorized,
		"ErrForbidden": ErrForbidden, "ErrNotFound": ErrNotFound,
		"ErrRateLimited": ErrRateLimited, "ErrServer": ErrServer,
		"ErrUnexpectedResponse": ErrUnexpectedResponse, "ErrBadRequest": ErrBadRequest,
		"ErrAppNotFound": ErrAppNotFound,
	}
	tests := []struct {
		status int
		want   string // the one sentinel matched, "" for none
	}{
		{0, ""}, {200, ""}, {302, ""}, {400, "ErrBadRequest"}, {401, "ErrUnauthorized"},
		{403, "ErrForbidden"}, {404, "ErrNotFound"}, {405, ""}, {408, ""},
		{409, ""}, {422, ""}, {429, "ErrRateLimited"}, {499, ""},
		{500, "ErrServer"}, {501, "ErrServer"}, {502, "ErrServer"},
		{503, "ErrServer"}, {504, "ErrServer"}, {599, "ErrServer"}, {600, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			var err error = &APIError{StatusCode: tt.status}
			wrapped := fmt.Errorf("outer: %w", err)
			for name, target := range sentinels {
				assert.Equal(t, name == tt.want, errors.Is(err, target), "errors.Is(%d, %s)", tt.status, name)
				assert.Equal(t, name == tt.want, errors.Is(wrapped, target), "wrapped: errors.Is(%d, %s)", tt.status, name)
			}
			var ae *APIError
			require.ErrorAs(t, wrapped, &ae)
			assert.Equal(t, tt.status, ae.StatusCode)
		})
	}
}

// Yespo's documented 404 matches ErrAppNotFound as well as ErrNotFound, in
// whatever case and wrapping the message comes; no other answer does.
func TestAppNotFound(t *testing.T) {
	for _, tt := range []struct {
		status  int
		message string
		want    bool
	}{
		{404, "Not registered application", true},
		{404, "not registered application", true},
		{404, "NOT REGISTERED APPLICATION.", true},
		{404, "Error: Not registered application (app 123)", true},
		{404, "Token not found", false},
		{404, "Not found", false},
		{404, "", false},
		{400, "Not registered application", false},
		{400, "Wrong app uuid", false},
	} {
		err := fmt.Errorf("wrapped: %w", &APIError{StatusCode: tt.status, Message: tt.message})
		assert.Equal(t, tt.want, errors.Is(err, ErrAppNotFound), "%d %q", tt.status, tt.message)
		assert.Equal(t, tt.status == 404, errors.Is(err, ErrNotFound), "%d %q", tt.status, tt.message)
	}
}

// Which 404s say to check the base URL: those that look like a web
// server's, not the API's — and, for ContactIDByToken, whose 404 for an
// unknown token nobody documented, only the unmistakable ones.
func TestNotFromYespoHint(t *testing.T) {
	const apps, contact = "v1/apps/x/tokens", "v1/contact/token/x/1/contactId"
	for _, tt := range []struct {
		name, path, ctype, body string
		hint                    bool
	}{
		{"app not registered", apps, "text/plain", "Not registered application", false},
		{"app not registered, JSON", apps, "application/json", `{"message":"Not registered application"}`, false},
		{"token not found on mute", "v1/apps/x/token/mute", "text/plain", "Token not found", false},
		{"JSON message", apps, "application/json", `{"message":"Contact not found"}`, false},
		{"bare Not found", apps, "text/plain", "Not found", true},
		{"bare 404 Not Found.", apps, "text/plain", "404 Not Found.", true},
		{"empty", apps, "", "", true},
		{"Go router", apps, "text/plain", "404 page not found\n", true},
		{"Express", apps, "text/plain", "Cannot POST /v1/apps/x/tokens", true},
		{"HTML by type", apps, "text/html; charset=utf-8", "Nothing here", true},
		{"HTML by body", apps, "", "<!DOCTYPE html><html><title>404</title></html>", true},
		{"Spring JSON", apps, "application/json", `{"status":404,"error":"Not Found","path":"/v1/apps/x/tokens"}`, true},
		{"contact: bare Not found", contact, "text/plain", "Not found", false},
		{"contact: empty", contact, "", "", false},
		{"contact: JSON", contact, "application/json", `{"message":"Token not found"}`, false},
		{"contact: Go router", contact, "text/plain", "404 page not found", true},
		{"contact: HTML", contact, "text/html", "<html><body>Not Found</body></html>", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := &APIError{StatusCode: 404, Method: "POST", Path: tt.path, Body: []byte(tt.body),
				Message: errorMessage([]byte(tt.body), tt.ctype), Header: http.Header{"Content-Type": {tt.ctype}}}
			assert.Equal(t, tt.hint, strings.Contains(e.Error(), `check that the base URL ends in "/api/"`), e.Error())
			e.StatusCode = 400
			assert.NotContains(t, e.Error(), "base URL", "only a 404 says it")
		})
	}
}

// A transport error prints its scrubbed text and nothing else, whatever the
// verb, while errors.Is and errors.As reach its cause.
func TestTransportError(t *testing.T) {
	s := redact.New(basicUser, "s3cr3t")
	cause := &url.Error{Op: "Post", URL: "https://elsewhere.example/?key=s3cr3t", Err: fmt.Errorf("refused: %w", context.Canceled)}
	err := scrubTransport(s, endpoint{method: "POST", path: "v1/x"}, 3, cause)
	want := `yespo: POST v1/x (3 attempts): Post "https://elsewhere.example/?key=[REDACTED]": refused: context canceled`
	assert.Equal(t, want, err.Error())
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		assert.Equal(t, want, fmt.Sprintf(verb, err), verb)
	}
	assert.Equal(t, strconv.Quote(want), fmt.Sprintf("%q", err))
	assert.ErrorIs(t, err, context.Canceled)
	var ue *url.Error
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, "https://elsewhere.example/?key=[REDACTED]", ue.URL, "the cause's URL is scrubbed too")

	one := scrubTransport(s, endpoint{method: "GET", path: "v1/y"}, 1, errors.New("boom"))
	assert.Equal(t, "yespo: GET v1/y: boom", one.Error())
}
