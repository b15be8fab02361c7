package yespotest

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/yespo-go/yespo"
)

// Contact is a contact card as the fake keeps it: its identifiers and the
// app tokens it holds. Other contact fields are not modelled.
type Contact struct {
	ID                 int64
	ExternalCustomerID string
	Phone              string
	Email              string
	Tokens             []ContactToken
}

// ContactToken is one app token on a contact card.
type ContactToken struct {
	AppUUID    string
	Token      string
	MutedUntil time.Time // zero = not muted; far future = muted until unmuted
}

// mutedForever is what Yespo stores for a mute without duration.
var mutedForever = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// clone is a deep copy, so that callers never share the fake's state.
func (c *Contact) clone() Contact {
	cp := *c
	cp.Tokens = slices.Clone(c.Tokens)
	return cp
}

// hasToken reports whether c holds token for app.
func (c *Contact) hasToken(app, token string) bool {
	return slices.ContainsFunc(c.Tokens, func(t ContactToken) bool { return t.AppUUID == app && t.Token == token })
}

// book is the fake's contact store. Its methods expect the server's lock.
type book struct {
	contacts []*Contact // ordered by ID
	nextID   int64
}

func (b *book) add(c Contact) *Contact {
	if c.ID == 0 {
		b.nextID++
		c.ID = b.nextID
	}
	b.nextID = max(b.nextID, c.ID)
	stored := c.clone()
	i, found := slices.BinarySearchFunc(b.contacts, c.ID, func(x *Contact, id int64) int { return cmp.Compare(x.ID, id) })
	if found {
		panic("yespotest: a contact with ID " + formatID(c.ID) + " exists already")
	}
	b.contacts = slices.Insert(b.contacts, i, &stored)
	return &stored
}

// find returns the first contact whose identifier of kind equals value, on
// normalised forms for phone and email.
func (b *book) find(kind yespo.IdentifierKind, value string) *Contact {
	for _, c := range b.contacts {
		switch kind {
		case yespo.IdentifierContactID:
			if formatID(c.ID) == value {
				return c
			}
		case yespo.IdentifierExternalCustomerID:
			if c.ExternalCustomerID != "" && c.ExternalCustomerID == value {
				return c
			}
		case yespo.IdentifierPhone:
			if c.Phone != "" && normalPhone(c.Phone) == normalPhone(value) {
				return c
			}
		case yespo.IdentifierEmail:
			if c.Email != "" && normalEmail(c.Email) == normalEmail(value) {
				return c
			}
		}
	}
	return nil
}

// match finds the contact for t as Yespo does under m, or nil.
func (b *book) match(t yespo.Token, m Matching) *Contact {
	for _, id := range t.Identifiers() {
		c := b.find(id.Kind, id.Value)
		switch {
		case c != nil:
			return c
		case id.Kind == yespo.IdentifierContactID:
			continue // an unknown contactId passes the turn in both wordings
		case m == MatchPrimaryOnly:
			return nil
		}
	}
	return nil
}

// addToken files t: on the matching contact (whose identifiers stay as they
// are), or on a new contact with all of t's identifiers. The same token
// twice on one contact is kept once.
func (b *book) addToken(app string, t yespo.Token, m Matching) *Contact {
	c := b.match(t, m)
	if c == nil {
		c = b.add(Contact{ExternalCustomerID: t.ExternalCustomerID, Phone: t.Phone, Email: t.Email})
	}
	if !c.hasToken(app, t.Token) {
		c.Tokens = append(c.Tokens, ContactToken{AppUUID: app, Token: t.Token})
	}
	return c
}

// holders returns the contacts holding token for app, in ID order.
func (b *book) holders(app, token string) []*Contact {
	var out []*Contact
	for _, c := range b.contacts {
		if c.hasToken(app, token) {
			out = append(out, c)
		}
	}
	return out
}

// setMute sets MutedUntil of token on every holder; it reports whether any.
func (b *book) setMute(app, token string, until time.Time) bool {
	found := false
	for _, c := range b.holders(app, token) {
		for i := range c.Tokens {
			if c.Tokens[i].AppUUID == app && c.Tokens[i].Token == token {
				c.Tokens[i].MutedUntil = until
				found = true
			}
		}
	}
	return found
}

// removeToken takes token off every contact card, as Yespo does when a
// message fails with Forbidden.
func (b *book) removeToken(app, token string) {
	for _, c := range b.contacts {
		c.Tokens = slices.DeleteFunc(c.Tokens, func(t ContactToken) bool { return t.AppUUID == app && t.Token == token })
	}
}

// normalPhone and normalEmail give the form contacts are matched on; a
// value that does not normalise is compared as it is.
func normalPhone(p string) string {
	if n, err := yespo.NormalizePhone(p); err == nil {
		return n
	}
	return p
}

func normalEmail(e string) string {
	if n, err := yespo.NormalizeEmail(e); err == nil {
		return n
	}
	return e
}

func formatID(id int64) string { return strconv.FormatInt(id, 10) }
