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

// MutedUntilUnmuted reports whether the token was muted without a duration,
// which Yespo stores as 9999-12-31: only an unmute ends it.
func (t ContactToken) MutedUntilUnmuted() bool { return t.MutedUntil.Equal(mutedForever) }

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

// book is the fake's contact store, indexed so that a large import stays
// fast. Its methods expect the server's lock.
type book struct {
	contacts []*Contact // ordered by ID
	nextID   int64
	byID     map[int64]*Contact
	byKey    map[idKey]*Contact // lowest-ID contact per identifier
	holders  map[tokenKey][]*Contact
}

// idKey is an identifier in the form contacts are matched on.
type idKey struct {
	kind  yespo.IdentifierKind
	value string
}

type tokenKey struct{ app, token string }

func newBook() book {
	return book{byID: map[int64]*Contact{}, byKey: map[idKey]*Contact{}, holders: map[tokenKey][]*Contact{}}
}

// key gives the matching form: phone and email normalised.
func key(kind yespo.IdentifierKind, value string) idKey {
	switch kind {
	case yespo.IdentifierPhone:
		value = normalPhone(value)
	case yespo.IdentifierEmail:
		value = normalEmail(value)
	}
	return idKey{kind, value}
}

func (b *book) add(c Contact) *Contact {
	if c.ID == 0 {
		b.nextID++
		c.ID = b.nextID
	}
	if b.byID[c.ID] != nil {
		panic("yespotest: a contact with ID " + formatID(c.ID) + " exists already")
	}
	b.nextID = max(b.nextID, c.ID)
	stored := c.clone()
	i, _ := slices.BinarySearchFunc(b.contacts, c.ID, func(x *Contact, id int64) int { return cmp.Compare(x.ID, id) })
	b.contacts = slices.Insert(b.contacts, i, &stored)
	b.byID[stored.ID] = &stored
	for _, id := range (yespo.Token{ExternalCustomerID: stored.ExternalCustomerID, Phone: stored.Phone, Email: stored.Email}).Identifiers() {
		k := key(id.Kind, id.Value)
		if old := b.byKey[k]; old == nil || old.ID > stored.ID {
			b.byKey[k] = &stored
		}
	}
	for _, t := range stored.Tokens {
		b.hold(&stored, t.AppUUID, t.Token)
	}
	return &stored
}

// find returns the lowest-ID contact with this identifier, or nil.
func (b *book) find(kind yespo.IdentifierKind, value string) *Contact {
	if kind == yespo.IdentifierContactID {
		id, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return nil
		}
		return b.byID[id]
	}
	return b.byKey[key(kind, value)]
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
		b.hold(c, app, t.Token)
	}
	return c
}

// hold indexes c as a holder of token, keeping holders in ID order.
func (b *book) hold(c *Contact, app, token string) {
	k := tokenKey{app, token}
	hs := b.holders[k]
	i, found := slices.BinarySearchFunc(hs, c.ID, func(x *Contact, id int64) int { return cmp.Compare(x.ID, id) })
	if !found {
		b.holders[k] = slices.Insert(hs, i, c)
	}
}

// holdersOf returns the contacts holding token for app, in ID order.
func (b *book) holdersOf(app, token string) []*Contact {
	return b.holders[tokenKey{app, token}]
}

// setMute sets MutedUntil of token on every holder; it reports whether any.
func (b *book) setMute(app, token string, until time.Time) bool {
	hs := b.holdersOf(app, token)
	for _, c := range hs {
		for i := range c.Tokens {
			if c.Tokens[i].AppUUID == app && c.Tokens[i].Token == token {
				c.Tokens[i].MutedUntil = until
			}
		}
	}
	return len(hs) > 0
}

// removeToken takes token off every contact card, as Yespo does when a
// message fails with Forbidden.
func (b *book) removeToken(app, token string) {
	for _, c := range b.holdersOf(app, token) {
		c.Tokens = slices.DeleteFunc(c.Tokens, func(t ContactToken) bool { return t.AppUUID == app && t.Token == token })
	}
	delete(b.holders, tokenKey{app, token})
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
