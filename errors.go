package yespo

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/yespo-go/yespo/internal/apierr"
	"github.com/yespo-go/yespo/internal/redact"
)

// Sentinel errors for errors.Is. An *APIError matches the one that fits its
// status code; every *ValidationError matches ErrInvalidInput.
var (
	// ErrInvalidInput is matched by every *ValidationError: the input was
	// rejected before any network call.
	ErrInvalidInput = errors.New("yespo: invalid input")
	// ErrUnauthorized is matched by an *APIError with status 401: the API key
	// is wrong or revoked.
	ErrUnauthorized = errors.New("yespo: unauthorized")
	// ErrForbidden is matched by an *APIError with status 403: the key lacks
	// the permission for this method.
	ErrForbidden = errors.New("yespo: forbidden")
	// ErrBadRequest is matched by an *APIError with status 400: Yespo
	// refused the request as sent, e.g. "Wrong app uuid". Sending it again
	// unchanged does not help.
	ErrBadRequest = errors.New("yespo: bad request")
	// ErrNotFound is matched by an *APIError with status 404: an unknown
	// app (see ErrAppNotFound), an unknown token, or a wrong base URL. A
	// 404 that looks like a web server's rather than the API's — an HTML
	// page, an empty body or a bare "Not found" from the apps endpoints or
	// Generate event, a router's "404 page not found" from any — says in
	// its text to check that the base URL ends in "/api/".
	ErrNotFound = errors.New("yespo: not found")
	// ErrAppNotFound is matched, together with ErrNotFound, by Yespo's
	// documented 404 "Not registered application" (in any case, as plain
	// text or a JSON message): the app UUID is not one of the account's
	// connected bots. It is a configuration error; no retry and no other
	// token fixes it. Other 404s match ErrNotFound only.
	ErrAppNotFound = errors.New("yespo: app not registered")
	// ErrRateLimited is matched by an *APIError with status 429. Its
	// RetryAfter field says how long to wait when the server said so.
	ErrRateLimited = errors.New("yespo: rate limited")
	// ErrServer is matched by an *APIError with a 5xx status.
	ErrServer = errors.New("yespo: server error")
	// ErrUnexpectedResponse is matched when a 2xx answer does not carry what
	// the endpoint documents (e.g. ContactIDByToken without a numeric "id").
	ErrUnexpectedResponse = errors.New("yespo: unexpected response")
)

// APIError is returned when Yespo (or something in between) answers with a
// status outside 2xx, after any retries. Use errors.Is with the sentinels
// above to branch on the kind, errors.As to read the details.
//
// Message is the server's text: the "message", "error" or "errorMessage"
// string of a JSON body, a JSON string, an HTML page's title, or the plain
// text, on one trimmed line. RetryAfter comes from a Retry-After header in
// seconds or as an HTTP date (or, failing that, a RateLimit-Reset or
// X-RateLimit-Reset header); it is 0 when none was sent. Attempts is the
// number of requests made, retries included. Path is relative to the base
// URL, as in "v1/apps/<uuid>/tokens".
//
// The API key never appears in any field, in any form a server may echo it
// in — raw, JSON-escaped, percent-encoded, as the Basic credentials: each
// occurrence is replaced by "[REDACTED]" in the final text (Message after
// decoding, Body as sent, each Header value). A text that would still show
// the key once decoded (e.g. percent-encoded twice) is replaced whole.
type APIError struct {
	StatusCode int
	Message    string        // the server's text, at most 1 KiB
	Body       []byte        // the body as sent, at most 64 KiB
	RetryAfter time.Duration // from Retry-After, when sent (see below)
	// Header holds the answer's headers (Retry-After, Content-Type,
	// Location, request ids…), at most 16 KiB of them in name order,
	// without Authorization, Proxy-Authorization, Cookie and Set-Cookie.
	Header   http.Header
	Attempts int
	Method   string
	Path     string // endpoint path, no host, no credentials
}

// Error reads like "yespo: POST v1/apps/<uuid>/tokens: 404 Not Found: Not
// registered application", followed by the retry hint and attempt count when
// they say something. A 403 adds which method's right the key lacks (Yespo
// grants rights per method). A 404 that does not come from the Yespo API
// (see ErrNotFound) adds advice to check the base URL.
func (e *APIError) Error() string {
	return e.answer().Text(DefaultBaseURL)
}

// answer is what apierr words the error from.
func (e *APIError) answer() apierr.Answer {
	return apierr.Answer{Method: e.Method, Path: e.Path, Status: e.StatusCode, Message: e.Message, Body: e.Body,
		ContentType: e.Header.Get("Content-Type"), RetryAfter: e.RetryAfter, Attempts: e.Attempts}
}

// Is reports whether the status code belongs to target: 400 ErrBadRequest,
// 401 ErrUnauthorized, 403 ErrForbidden, 404 ErrNotFound (and ErrAppNotFound
// for "Not registered application"), 429 ErrRateLimited, 5xx ErrServer.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrBadRequest:
		return e.StatusCode == http.StatusBadRequest
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrAppNotFound:
		return e.StatusCode == http.StatusNotFound && apierr.AppNotRegistered(e.Message)
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrServer:
		return e.StatusCode >= 500 && e.StatusCode <= 599
	}
	return false
}

// ValidationError says which input was rejected and why, before any network
// call. It always matches ErrInvalidInput. AddAppTokens returns one per bad
// field, joined with errors.Join; errors.As finds the first.
type ValidationError struct {
	Index  int    // position in the tokens slice; -1 when not about a token
	Field  string // "token", "contactId", "externalCustomerId", "phone", "email", "appUUID", "duration", "tokens"
	Reason string
}

// Error reads like "yespo: invalid tokens[3].phone: must be ..." or, when the
// error is not about an element of a tokens slice, "yespo: invalid appUUID: ...".
func (e *ValidationError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("yespo: invalid tokens[%d].%s: %s", e.Index, e.Field, e.Reason)
	}
	return fmt.Sprintf("yespo: invalid %s: %s", e.Field, e.Reason)
}

// Is reports whether target is ErrInvalidInput.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidInput }

// invalid is shorthand for a *ValidationError that is not about a slice element.
func invalid(field, reason string) *ValidationError {
	return &ValidationError{Index: -1, Field: field, Reason: reason}
}

// maxMessage bounds APIError.Message.
const maxMessage = 1 << 10

// scrubTransport wraps err, which ended the call to ep after attempts
// attempts, as a *redact.TransportError: see there.
func scrubTransport(s redact.Scrubber, ep endpoint, attempts int, err error) error {
	return s.Transport(apierr.Call(ep.method, ep.path, attempts), err)
}
