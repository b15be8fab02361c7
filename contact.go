package yespo

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/yespo-go/yespo/internal/validate"
	"github.com/yespo-go/yespo/internal/wire"
)

// IdentifierKind names one of the four contact identifiers a Token can carry.
// The constants are in Yespo's matching priority, highest first.
type IdentifierKind int

// The contact identifiers, in the order Yespo looks contacts up by them.
const (
	IdentifierContactID IdentifierKind = iota + 1
	IdentifierExternalCustomerID
	IdentifierPhone
	IdentifierEmail
)

// String returns the API's field name: "contactId", "externalCustomerId",
// "phone" or "email"; "IdentifierKind(N)" for any other value.
func (k IdentifierKind) String() string {
	if k >= IdentifierContactID && k <= IdentifierEmail {
		return [...]string{"contactId", "externalCustomerId", "phone", "email"}[k-1]
	}
	return "IdentifierKind(" + strconv.Itoa(int(k)) + ")"
}

// Identifier is one contact identifier of a Token.
type Identifier struct {
	Kind  IdentifierKind
	Value string // ContactID in decimal
}

// Identifiers returns the identifiers t carries, in Yespo's priority order
// (contactId, externalCustomerId, phone, email); empty fields and a zero
// ContactID are absent. It returns nil when t has none.
func (t Token) Identifiers() []Identifier {
	var ids []Identifier
	if t.ContactID != 0 {
		ids = append(ids, Identifier{IdentifierContactID, strconv.FormatInt(t.ContactID, 10)})
	}
	if t.ExternalCustomerID != "" {
		ids = append(ids, Identifier{IdentifierExternalCustomerID, t.ExternalCustomerID})
	}
	if t.Phone != "" {
		ids = append(ids, Identifier{IdentifierPhone, t.Phone})
	}
	if t.Email != "" {
		ids = append(ids, Identifier{IdentifierEmail, t.Email})
	}
	return ids
}

// PrimaryIdentifier returns the identifier Yespo looks at first, and false
// when t has none.
//
// Which contact the token lands on: Yespo looks contacts up by contactId,
// then externalCustomerId, then phone, then email. Its guide words the rest
// in two ways: either the first identifier that finds a contact wins, or only
// the primary identifier is looked up. In both, a token whose lookup finds
// nobody creates a new contact, and a found contact only gains the token: its
// identifiers are never created or changed by AddAppTokens. To be sure where
// a token lands, send the identifier the contact already has as the primary
// one.
func (t Token) PrimaryIdentifier() (Identifier, bool) {
	if ids := t.Identifiers(); len(ids) > 0 {
		return ids[0], true
	}
	return Identifier{}, false
}

// TelegramToken returns the Yespo token for a Telegram chat: the chat id in
// decimal. For a private chat the chat id equals the user id.
func TelegramToken(chatID int64) string {
	return strconv.FormatInt(chatID, 10)
}

// NormalizePhone turns a phone number as people and Telegram write it into
// the form Yespo accepts: it drops spaces, dashes, dots and parentheses,
// turns a "00" prefix into "+", and adds "+" to bare digits, which it takes
// as international with the country code (Telegram shares numbers that
// way). "+38 (050) 123-45-67" becomes "+380501234567". The result always
// starts with "+" and passes Token.Validate's phone rule. It fails with an
// error matching ErrInvalidInput when the digits break that rule — e.g. for
// a national number without country code — or raw holds anything else.
func NormalizePhone(raw string) (string, error) {
	p, reason := validate.NormalizePhone(raw)
	if reason != "" {
		return "", invalid("phone", reason)
	}
	return p, nil
}

// NormalizeEmail trims white space around raw and lower-cases the domain;
// the local part is left as is, since only the domain is case-insensitive by
// standard. It fails with an error matching ErrInvalidInput when the result
// is not a bare address.
func NormalizeEmail(raw string) (string, error) {
	e, reason := validate.NormalizeEmail(raw)
	if reason != "" {
		return "", invalid("email", reason)
	}
	return e, nil
}

// ContactIDByToken returns the ID of the contact that holds token in the app
// (GET v1/contact/token/{appUUID}/{token}/contactId). Yespo documents it for
// Mobile Push tokens. It draws from its own budget of 150 requests per
// second, which Yespo counts apart from the account's 200, at a pace of its
// own in the Client; a WithRateLimiter limiter does not hold it, a
// WithBudgetLimiter(BudgetContactLookup, l) one does. A token nobody holds
// is an *APIError matching ErrNotFound; a 2xx answer without a positive
// numeric "id" is an error matching ErrUnexpectedResponse that quotes what
// came back.
func (c *Client) ContactIDByToken(ctx context.Context, appUUID, token string) (int64, error) {
	if err := ValidateAppUUID(appUUID); err != nil {
		return 0, err
	}
	if r := validate.Token(token); r != "" {
		return 0, invalid("token", r)
	}
	ep := endpoint{method: http.MethodGet, path: "v1/contact/token/" + wire.Segment(appUUID) + "/" + wire.Segment(token) + "/contactId", budget: BudgetContactLookup}
	resp, err := c.do(ctx, ep, nil, nil)
	if err != nil {
		return 0, err
	}
	defer discard(resp.Body)
	id, raw, ok, err := wire.ReadID(resp.Body, maxErrorBody)
	switch {
	case err != nil:
		return 0, fmt.Errorf("yespo: %s %s: reading answer: %w", ep.method, ep.path, err)
	case !ok:
		return 0, fmt.Errorf("yespo: %s %s: %d answer without a contact id: %s: %w",
			ep.method, ep.path, resp.StatusCode, wire.Snippet(c.creds().scrub.Body(raw, len(raw))), ErrUnexpectedResponse)
	}
	return id, nil
}
