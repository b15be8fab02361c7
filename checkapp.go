package yespo

import (
	"context"
	"errors"
	"net/http"
)

// CheckAppToken is the token CheckApp asks about. Nobody holds it, so that
// a working key and app get Yespo's 404 for an unknown token; a test can
// tell CheckApp's requests from the others by it.
const CheckAppToken = "yespo-go-checkapp-probe"

// CheckApp is a bot's start-up check: with one request it verifies that
// Yespo accepts the API key and that appUUID is a bot connected to the
// account. It asks for the contact that holds a token nobody holds
// (GET v1/contact/token/{appUUID}/{token}/contactId, "Get contact ID by
// token", from that method's own budget of 150 requests per second; it
// changes nothing) and returns nil when Yespo answers that no contact holds
// the token (or, should one hold it, with its id).
//
// What a nil proves: the key is valid, it has the right for "Get contact ID
// by token", and the account has connected appUUID. What it does not prove:
// Yespo grants a key's rights per method, so nil says nothing about the
// right for "Add application tokens", "Mute a token" or "Unmute a token".
// A key without it passes CheckApp; the first AddAppTokens (or a Batcher's
// first batch) then fails with an *APIError matching ErrForbidden, whose
// text names the method whose right is missing. Nor does nil vouch for
// later: a key can be revoked at any time.
//
// It fails, like the other calls, with a *ValidationError (ErrInvalidInput)
// for a malformed appUUID, before any request; an *APIError matching
// ErrUnauthorized (401: the key is wrong or revoked), ErrForbidden (403: the
// key lacks the right for the lookup above), ErrAppNotFound together with
// ErrNotFound (404 "Not registered application"), ErrNotFound alone for a
// 404 that is not the API's (a base URL without "/api/", said in the text),
// ErrRateLimited or ErrServer (after the client's retries); or the
// transport error other calls return when no answer came.
func (c *Client) CheckApp(ctx context.Context, appUUID string) error {
	_, err := c.ContactIDByToken(ctx, appUUID, CheckAppToken)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound &&
		!errors.Is(err, ErrAppNotFound) && !apiErr.answer().NotFromYespo() {
		return nil // the API's 404 for a token nobody holds: key and app are fine
	}
	if errors.Is(err, ErrUnexpectedResponse) {
		return nil // a 2xx: Yespo took the key and the app, whatever the body
	}
	return err
}
