package yespo

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/yespo-go/yespo/internal/validate"
	"github.com/yespo-go/yespo/internal/wire"
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
// optional "+" and 7 to 15 digits, the first not 0 (so "380501234567" is
// accepted and sent as is); a bare email address of at most 254 bytes; an
// externalCustomerId of at most 1024 bytes that is not blank and has no
// control characters. It returns nil, one *ValidationError, or several
// joined with errors.Join; each has Index -1 and matches ErrInvalidInput.
// Validate never changes t: NormalizePhone and NormalizeEmail do that, when
// asked.
func (t Token) Validate() error {
	var errs []error
	t.problems(func(field, reason string) { errs = append(errs, invalid(field, reason)) })
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// problems calls report once per problem of t, in field order. It builds no
// error itself, so that AddAppTokens can count what it does not list.
func (t Token) problems(report func(field, reason string)) {
	validate.Fields(t.Token, t.ContactID, t.ExternalCustomerID, t.Phone, t.Email, report)
}

// maxListed bounds the problems AddAppTokens lists one by one: a file of a
// million bad rows must not become a 100 MB error string.
const maxListed = 100

// tokensProblems validates every token and returns nil, or the first
// maxListed problems as *ValidationError values joined with errors.Join,
// followed, when there are more, by one that counts the rest.
func tokensProblems(tokens []Token) error {
	errs, more := validate.List(len(tokens), maxListed, func(i int, report func(field, reason string)) { tokens[i].problems(report) },
		func(i int, field, reason string) error {
			return &ValidationError{Index: i, Field: field, Reason: reason}
		})
	if more > 0 {
		errs = append(errs, invalid("tokens", "and "+strconv.Itoa(more)+" more problems, not listed"))
	}
	return errors.Join(errs...)
}

// AddAppTokens passes tokens to Yespo for the app appUUID in one request:
// POST v1/apps/{appUUID}/tokens with the body {"tokens":[Token, ...]}.
// appUUID is the app_uuid Yespo shows for the connected bot, a UUID in the
// canonical 8-4-4-4-12 hex form. Any 2xx answer is success; its body, which
// Yespo documents only as a JSON string, is not read. Each token is attached
// to the contact its identifiers find — contactId first, then
// externalCustomerId, phone, email — or to a new contact created with all
// its identifiers; see Token.PrimaryIdentifier for what Yespo does in each
// case.
//
// It draws from the account's budget of 200 requests per second, at the
// Client's pace (see Client), each retry too.
//
// Every token is validated first: on bad input nothing is sent and the error
// joins one *ValidationError per problem, with the token's Index, all
// matching ErrInvalidInput — the first 100 problems, then one (Field
// "tokens", Index -1) that says how many more there are. A non-2xx answer,
// after retries, is an *APIError (ErrAppNotFound for an app UUID Yespo does
// not know); a transport failure or a done ctx is returned wrapped, with
// errors.Is and errors.As reaching the cause.
func (c *Client) AddAppTokens(ctx context.Context, appUUID string, tokens []Token) error {
	if err := ValidateAppUUID(appUUID); err != nil {
		return err
	}
	if len(tokens) == 0 {
		return invalid("tokens", "must not be empty")
	}
	if err := tokensProblems(tokens); err != nil {
		return err
	}
	return c.sendTokens(ctx, appUUID, tokens, nil)
}

// sendTokens is AddAppTokens after validation; the Batcher, which validates
// in Add, calls it directly with itself as the caller.
func (c *Client) sendTokens(ctx context.Context, appUUID string, tokens []Token, by *caller) error {
	body, err := wire.TokensBody(tokens)
	if err != nil {
		return err
	}
	return c.doDiscard(ctx, endpoint{method: http.MethodPost, path: "v1/apps/" + wire.Segment(appUUID) + "/tokens"}, body, by)
}

// doDiscard calls ep and ignores a 2xx body: Yespo documents it only as "a
// JSON string".
func (c *Client) doDiscard(ctx context.Context, ep endpoint, body []byte, by *caller) error {
	resp, err := c.do(ctx, ep, body, by)
	if err != nil {
		return err
	}
	discard(resp.Body)
	return nil
}

// ValidateAppUUID checks that s is an app_uuid as Yespo shows it for a
// connected bot: a UUID in the canonical 8-4-4-4-12 hexadecimal form. It
// returns nil, or a *ValidationError (field "appUUID", matching
// ErrInvalidInput) that says what is wrong, e.g. that s looks like a Telegram
// bot token or has surrounding spaces. Every method that takes an appUUID
// checks it this way first.
func ValidateAppUUID(s string) error {
	if reason := validate.AppUUID(s); reason != "" {
		return invalid("appUUID", reason)
	}
	return nil
}
