package yespo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Token is one subscriber's application token with the contact identifiers
// Yespo uses to find or create the contact. For Telegram, Token is the chat
// id (see TelegramToken). At least one identifier is required; empty fields
// and a zero ContactID are left out of the request.
//
// Yespo never replaces tokens: sending another token for the same contact
// adds it beside the first, and sending the same token again is harmless.
type Token struct {
	Token              string `json:"token"`
	ContactID          int64  `json:"contactId,omitempty"`
	ExternalCustomerID string `json:"externalCustomerId,omitempty"`
	Phone              string `json:"phone,omitempty"`
	Email              string `json:"email,omitempty"`
}

// Validate checks t against the rules AddAppTokens enforces: a non-empty
// token of at most 4096 bytes without white space or control characters; at
// least one identifier; a ContactID that is not negative; a phone of an
// optional "+" and 7–15 digits, the first not 0; a bare email address of at
// most 254 bytes; an externalCustomerId that is not blank and has no control
// characters. It returns nil, one *ValidationError, or several joined with
// errors.Join; each has Index -1 and matches ErrInvalidInput. Validate never
// changes t: see NormalizePhone and NormalizeEmail.
func (t Token) Validate() error {
	return t.validate(-1)
}

func (t Token) validate(index int) error {
	var errs []error
	add := func(field, reason string) {
		errs = append(errs, &ValidationError{Index: index, Field: field, Reason: reason})
	}
	if r := tokenProblem(t.Token); r != "" {
		add("token", r)
	}
	if t.ContactID < 0 {
		add("contactId", "must not be negative (0 means absent)")
	}
	if t.ExternalCustomerID != "" {
		if r := externalIDProblem(t.ExternalCustomerID); r != "" {
			add("externalCustomerId", r)
		}
	}
	if t.Phone != "" {
		if r := phoneProblem(t.Phone); r != "" {
			add("phone", r)
		}
	}
	if t.Email != "" {
		if r := emailProblem(t.Email); r != "" {
			add("email", r)
		}
	}
	if t.ContactID == 0 && t.ExternalCustomerID == "" && t.Phone == "" && t.Email == "" {
		add("token", "has no contact identifier: set contactId, externalCustomerId, phone or email")
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// AddAppTokens passes tokens to Yespo for the app appUUID in one request:
// POST v1/apps/{appUUID}/tokens with the body {"tokens":[Token, ...]}.
// appUUID is the app_uuid Yespo shows for the connected bot, a UUID in the
// canonical 8-4-4-4-12 hex form. Any 2xx answer is success; its body, which
// Yespo documents only as a JSON string, is not read. Each token is attached to the contact its
// identifiers find — contactId first, then externalCustomerId, phone, email —
// or to a new contact created with all its identifiers; see
// Token.PrimaryIdentifier for what Yespo does in each case.
//
// Every token is validated first: on bad input nothing is sent and the error
// joins one *ValidationError per problem, with the token's Index, all
// matching ErrInvalidInput. A non-2xx answer, after retries, is an *APIError;
// a transport failure or a done ctx is returned wrapped.
func (c *Client) AddAppTokens(ctx context.Context, appUUID string, tokens []Token) error {
	if err := validateAppUUID(appUUID); err != nil {
		return err
	}
	if len(tokens) == 0 {
		return invalid("tokens", "must not be empty")
	}
	var errs []error
	for i, t := range tokens {
		if err := t.validate(i); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return c.sendTokens(ctx, appUUID, tokens)
}

// sendTokens is AddAppTokens after validation; the Batcher, which validates
// in Add, calls it directly.
func (c *Client) sendTokens(ctx context.Context, appUUID string, tokens []Token) error {
	body := appendTokensBody(make([]byte, 0, tokensBodySize(tokens)), tokens)
	return c.doDiscard(ctx, endpoint{http.MethodPost, "v1/apps/" + segment(appUUID) + "/tokens"}, body)
}

// Mute limits, in seconds.
const (
	minMute = 5 * time.Second
	maxMute = 31_536_000 * time.Second
)

// MuteAppToken stops newsletters to token for d: POST
// v1/apps/{appUUID}/token/mute with {"token":…,"duration":seconds}, the
// duration left out when d is 0. Transactional messages still reach it. d
// must be whole seconds from 5 s to 365 days, or 0 to mute until
// UnmuteAppToken. Bad input is a *ValidationError (field "appUUID", "token"
// or "duration") before any call; a non-2xx answer is an *APIError.
func (c *Client) MuteAppToken(ctx context.Context, appUUID, token string, d time.Duration) error {
	if err := validateAppUUID(appUUID); err != nil {
		return err
	}
	if r := tokenProblem(token); r != "" {
		return invalid("token", r)
	}
	body := muteBody{Token: token}
	switch {
	case d == 0:
	case d < 0:
		return invalid("duration", "must be positive, or 0 to mute until unmuted")
	case d%time.Second != 0:
		return invalid("duration", "must be whole seconds, got "+d.String())
	case d < minMute || d > maxMute:
		return invalid("duration", "must be from 5s to 8760h (365 days), got "+d.String())
	default:
		body.Duration = int64(d / time.Second)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("yespo: encoding mute: %w", err)
	}
	return c.doDiscard(ctx, endpoint{http.MethodPost, "v1/apps/" + segment(appUUID) + "/token/mute"}, raw)
}

type muteBody struct {
	Token    string `json:"token"`
	Duration int64  `json:"duration,omitempty"`
}

// UnmuteAppToken lets newsletters reach token again: POST
// v1/apps/{appUUID}/token/unmute with {"token":…}. Bad input is a *ValidationError before
// any call; a non-2xx answer is an *APIError.
func (c *Client) UnmuteAppToken(ctx context.Context, appUUID, token string) error {
	if err := validateAppUUID(appUUID); err != nil {
		return err
	}
	if r := tokenProblem(token); r != "" {
		return invalid("token", r)
	}
	raw, err := json.Marshal(struct {
		Token string `json:"token"`
	}{token})
	if err != nil {
		return fmt.Errorf("yespo: encoding unmute: %w", err)
	}
	return c.doDiscard(ctx, endpoint{http.MethodPost, "v1/apps/" + segment(appUUID) + "/token/unmute"}, raw)
}

// ContactIDByToken returns the ID of the contact that holds token in the app
// (GET v1/contact/token/{appUUID}/{token}/contactId). Yespo documents it for
// Mobile Push tokens. A token nobody holds is an *APIError matching
// ErrNotFound; a 2xx answer without a positive numeric "id" is an error
// matching ErrUnexpectedResponse that quotes what came back.
func (c *Client) ContactIDByToken(ctx context.Context, appUUID, token string) (int64, error) {
	if err := validateAppUUID(appUUID); err != nil {
		return 0, err
	}
	if r := tokenProblem(token); r != "" {
		return 0, invalid("token", r)
	}
	ep := endpoint{http.MethodGet, "v1/contact/token/" + segment(appUUID) + "/" + segment(token) + "/contactId"}
	resp, err := c.do(ctx, ep, nil)
	if err != nil {
		return 0, err
	}
	defer discard(resp.Body)
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody+1))
	if err != nil {
		return 0, fmt.Errorf("yespo: %s %s: reading answer: %w", ep.method, ep.path, err)
	}
	id, ok := decodeID(raw)
	if !ok {
		return 0, fmt.Errorf("yespo: %s %s: %d answer without a contact id: %s: %w",
			ep.method, ep.path, resp.StatusCode, snippet(c.redact(raw)), ErrUnexpectedResponse)
	}
	return id, nil
}

// decodeID reads {"id":N}, also when N comes as a numeric string.
func decodeID(raw []byte) (int64, bool) {
	var v struct {
		ID json.RawMessage `json:"id"`
	}
	if len(raw) > maxErrorBody || json.Unmarshal(raw, &v) != nil {
		return 0, false
	}
	s := string(bytes.Trim(v.ID, `"`))
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, false
	}
	return id, true
}

// doDiscard calls ep and ignores a 2xx body: Yespo documents it only as "a
// JSON string".
func (c *Client) doDiscard(ctx context.Context, ep endpoint, body []byte) error {
	resp, err := c.do(ctx, ep, body)
	if err != nil {
		return err
	}
	discard(resp.Body)
	return nil
}

// segment escapes one path segment; "." and ".." are escaped too, so that
// no server or proxy can read them as path navigation.
func segment(s string) string {
	switch s {
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	return url.PathEscape(s)
}

// snippet quotes at most 200 bytes of b for an error message.
func snippet(b []byte) string {
	const n = 200
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if len(s) > n {
		return strconv.Quote(s[:n]) + "…"
	}
	if s == "" {
		return "empty body"
	}
	return strconv.Quote(s)
}
