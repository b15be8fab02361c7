package yespo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
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
	switch k {
	case IdentifierContactID:
		return "contactId"
	case IdentifierExternalCustomerID:
		return "externalCustomerId"
	case IdentifierPhone:
		return "phone"
	case IdentifierEmail:
		return "email"
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
	switch {
	case t.ContactID != 0:
		return Identifier{IdentifierContactID, strconv.FormatInt(t.ContactID, 10)}, true
	case t.ExternalCustomerID != "":
		return Identifier{IdentifierExternalCustomerID, t.ExternalCustomerID}, true
	case t.Phone != "":
		return Identifier{IdentifierPhone, t.Phone}, true
	case t.Email != "":
		return Identifier{IdentifierEmail, t.Email}, true
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
	var b strings.Builder
	b.Grow(len(raw))
	for i, r := range raw {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && b.Len() == 0 && strings.TrimSpace(raw[:i]) == "":
			b.WriteRune(r)
		case unicode.IsSpace(r) || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", invalid("phone", "may hold only digits, a leading \"+\", spaces, dashes, dots and parentheses")
		}
	}
	p := b.String()
	switch {
	case strings.HasPrefix(p, "00"):
		p = "+" + p[2:]
	case !strings.HasPrefix(p, "+"):
		p = "+" + p
	}
	if reason := phoneProblem(p); reason != "" {
		return "", invalid("phone", reason)
	}
	return p, nil
}

// NormalizeEmail trims white space around raw and lower-cases the domain;
// the local part is left as is, since only the domain is case-insensitive by
// standard. It fails with an error matching ErrInvalidInput when the result
// is not a bare address.
func NormalizeEmail(raw string) (string, error) {
	e := strings.TrimSpace(raw)
	if at := strings.LastIndexByte(e, '@'); at >= 0 {
		e = e[:at+1] + strings.ToLower(e[at+1:])
	}
	if reason := emailProblem(e); reason != "" {
		return "", invalid("email", reason)
	}
	return e, nil
}

// phoneRule is the phone rule, stated once: Token.Validate's comment, the
// package documentation and every phone error use these words, and a test
// holds them to it.
const phoneRule = `an optional "+" and 7 to 15 digits, the first not 0`

// phoneProblem says what is wrong with p as a Yespo phone, or "".
func phoneProblem(p string) string {
	digits := strings.TrimPrefix(p, "+")
	for i, r := range digits {
		if r < '0' || r > '9' {
			return "must be " + phoneRule + "; found " + quoteRune(r) + " at byte " + strconv.Itoa(len(p)-len(digits)+i) +
				" (NormalizePhone removes spaces, dashes, dots and parentheses)"
		}
	}
	switch {
	case len(digits) < 7 || len(digits) > 15:
		return "must be " + phoneRule + "; got " + strconv.Itoa(len(digits)) + " digits"
	case digits[0] == '0':
		return "must be " + phoneRule + "; it starts with 0, a national prefix: give the country code instead"
	}
	return ""
}

// maxEmail is the longest address SMTP allows (RFC 5321 path limit less the brackets).
const maxEmail = 254

// emailProblem says what is wrong with e as a Yespo email, or "", in plain
// words: net/mail decides what is valid, never how it is said.
func emailProblem(e string) string {
	switch {
	case len(e) > maxEmail:
		return "must be at most 254 bytes, got " + strconv.Itoa(len(e))
	case !utf8.ValidString(e):
		return "must be valid UTF-8"
	case plainAddress(e):
		return ""
	case strings.Trim(e, " \t\r\n") != e: // never part of an address: net/mail would drop them
		return "has a leading or trailing space (NormalizeEmail trims it)"
	case strings.IndexByte(e, '@') < 0: // spares net/mail's allocations in a file of bad rows
		return notAddress + `there is no "@"`
	}
	a, err := mail.ParseAddress(e)
	switch {
	case err == nil && a.Name == "" && a.Address == e:
		return ""
	case err == nil || strings.ContainsAny(e, "<>"):
		return "must be a bare address like name@example.com, without display name, brackets or comments"
	}
	return emailFault(e)
}

const notAddress = "must be an address like name@example.com; "

// emailFault names, in plain words, the likeliest fault of an address that
// has an "@" and that net/mail refused.
func emailFault(e string) string {
	at := strings.LastIndexByte(e, '@')
	switch {
	case strings.ContainsAny(e, ",;"):
		return notAddress + "this looks like more than one address"
	case at == 0:
		return notAddress + `there is nothing before the "@"`
	case at == len(e)-1:
		return notAddress + `there is nothing after the "@"`
	case strings.Count(e, "@") > 1 && !strings.Contains(e, `"`):
		return notAddress + `there is more than one "@"`
	case strings.ContainsFunc(e, unicode.IsSpace):
		return notAddress + "there is a space in it"
	case strings.Contains(e, ".."):
		return notAddress + "there are two dots in a row"
	case e[0] == '.' || e[at-1] == '.' || e[at+1] == '.' || e[len(e)-1] == '.':
		return notAddress + "a part starts or ends with a dot"
	}
	return notAddress + "it has a character that is not allowed where it stands"
}

// plainAddress reports whether e is the everyday form local@domain, both
// sides dot-separated runs of atext, all ASCII. net/mail accepts every such
// address unchanged; this check spares the common case its allocations, and
// anything else still goes through net/mail.
func plainAddress(e string) bool {
	at := strings.IndexByte(e, '@')
	return at > 0 && dotAtom(e[:at]) && dotAtom(e[at+1:])
}

// dotAtom reports whether s is atext runs joined by single dots (RFC 5322).
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
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
	if r := tokenProblem(token); r != "" {
		return 0, invalid("token", r)
	}
	ep := endpoint{method: http.MethodGet, path: "v1/contact/token/" + segment(appUUID) + "/" + segment(token) + "/contactId", budget: BudgetContactLookup}
	resp, err := c.do(ctx, ep, nil, nil)
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
			ep.method, ep.path, resp.StatusCode, snippet(c.creds().scrub.Body(raw, len(raw))), ErrUnexpectedResponse)
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
