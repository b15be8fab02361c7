package yespo

import (
	"math"
	"net/mail"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIdentifierKindString(t *testing.T) {
	tests := []struct {
		kind IdentifierKind
		want string
	}{
		{IdentifierContactID, "contactId"},
		{IdentifierExternalCustomerID, "externalCustomerId"},
		{IdentifierPhone, "phone"},
		{IdentifierEmail, "email"},
		{0, "IdentifierKind(0)"},
		{5, "IdentifierKind(5)"},
		{9, "IdentifierKind(9)"},
		{-1, "IdentifierKind(-1)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.kind.String())
		})
	}
}

func TestIdentifiers(t *testing.T) {
	tests := []struct {
		name string
		tok  Token
		want []Identifier // the first one is the primary
	}{
		{"none", Token{Token: "1"}, nil},
		{"zero contactId", Token{Token: "1", ContactID: 0}, nil},
		{"contactId", Token{Token: "1", ContactID: 42}, []Identifier{{IdentifierContactID, "42"}}},
		{"max contactId", Token{Token: "1", ContactID: math.MaxInt64},
			[]Identifier{{IdentifierContactID, "9223372036854775807"}}},
		{"negative contactId", Token{Token: "1", ContactID: -7}, []Identifier{{IdentifierContactID, "-7"}}},
		{"external id", Token{Token: "1", ExternalCustomerID: "crm-9"}, []Identifier{{IdentifierExternalCustomerID, "crm-9"}}},
		{"phone", Token{Token: "1", Phone: "+380501234567"}, []Identifier{{IdentifierPhone, "+380501234567"}}},
		{"email", Token{Token: "1", Email: "a@b.co"}, []Identifier{{IdentifierEmail, "a@b.co"}}},
		{"phone and email", Token{Token: "1", Email: "a@b.co", Phone: "+15550109999"},
			[]Identifier{{IdentifierPhone, "+15550109999"}, {IdentifierEmail, "a@b.co"}}},
		{"external id and email", Token{Token: "1", Email: "a@b.co", ExternalCustomerID: "x"},
			[]Identifier{{IdentifierExternalCustomerID, "x"}, {IdentifierEmail, "a@b.co"}}},
		{"all four", Token{Token: "1", Email: "a@b.co", Phone: "+15550109999", ExternalCustomerID: "x", ContactID: 1001},
			[]Identifier{
				{IdentifierContactID, "1001"},
				{IdentifierExternalCustomerID, "x"},
				{IdentifierPhone, "+15550109999"},
				{IdentifierEmail, "a@b.co"},
			}},
		{"values kept as is", Token{Token: "1", ExternalCustomerID: " x ", Phone: "050 123"},
			[]Identifier{{IdentifierExternalCustomerID, " x "}, {IdentifierPhone, "050 123"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.tok.Identifiers()
			if tt.want == nil {
				assert.Empty(t, got)
			} else {
				assert.Equal(t, tt.want, got)
			}
			primary, ok := tt.tok.PrimaryIdentifier()
			if tt.want == nil {
				assert.False(t, ok)
				assert.Equal(t, Identifier{}, primary)
				return
			}
			assert.True(t, ok)
			assert.Equal(t, tt.want[0], primary)
		})
	}
}

func TestTelegramToken(t *testing.T) {
	tests := []struct {
		name string
		id   int64
		want string
	}{
		{"private chat", 123456789, "123456789"},
		{"group", -123456789, "-123456789"},
		{"supergroup", -1001234567890, "-1001234567890"},
		{"zero", 0, "0"},
		{"max int64", math.MaxInt64, "9223372036854775807"},
		{"min int64", math.MinInt64, "-9223372036854775808"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TelegramToken(tt.id)
			assert.Equal(t, tt.want, got)
			assert.NoError(t, Token{Token: got, ExternalCustomerID: "u"}.Validate())
		})
	}
}

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" = error
	}{
		{"formatted", "+38 (050) 123-45-67", "+380501234567"},
		{"telegram without plus", "380501234567", "+380501234567"},
		{"00 prefix", "0038050 123 4567", "+380501234567"},
		{"00 prefix spaced", "00 1 555 010 9999", "+15550109999"},
		{"us", "+1 (555) 010-9999", "+15550109999"},
		{"dots", "+1.555.010.9999", "+15550109999"},
		{"already normal", "+380501234567", "+380501234567"},
		{"surrounding spaces", "  +380501234567\n", "+380501234567"},
		{"nbsp", "\u00a0+1\u00a0555\u00a0010\u00a09999", "+15550109999"},
		{"7 digits", "1234567", "+1234567"},
		{"15 digits", "123456789012345", "+123456789012345"},
		{"national, leading 0", "050 123 45 67", ""},
		{"plus then 0", "+0501234567", ""},
		{"00 then 0", "000501234567", ""},
		{"6 digits", "123456", ""},
		{"16 digits", "1234567890123456", ""},
		{"6 digits after 00", "00123456", ""},
		{"letters", "+38 050 CALL NOW", ""},
		{"extension", "+1 555 010 9999 ext 1", ""},
		{"tel uri", "tel:+15550109999", ""},
		{"double plus", "++15550109999", ""},
		{"plus inside", "1 555 +010 9999", ""},
		{"plus in parens", "(+1) 555 010 9999", ""},
		{"slash", "+1/555/010/9999", ""},
		{"fullwidth digits", "+１５５５０１０９９９９", ""},
		{"empty", "", ""},
		{"spaces only", "   ", ""},
		{"plus only", "+", ""},
		{"00 only", "00", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePhone(tt.in)
			if tt.want == "" {
				require.Error(t, err, "got %q", got)
				assert.ErrorIs(t, err, ErrInvalidInput)
				var ve *ValidationError
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, "phone", ve.Field)
				assert.Equal(t, -1, ve.Index)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			again, err := NormalizePhone(got)
			require.NoError(t, err)
			assert.Equal(t, got, again, "not idempotent")
			assert.NoError(t, Token{Token: "1", Phone: got}.Validate())
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" = error
	}{
		{"trim and lower domain", "  John.Doe@Example.COM ", "John.Doe@example.com"},
		{"already normal", "a@b.co", "a@b.co"},
		{"local part kept", "MiXeD.Case@x.io", "MiXeD.Case@x.io"},
		{"tabs and newline", "\tUser@MAIL.Example.org\n", "User@mail.example.org"},
		{"plus tag", "john+tag@Example.com", "john+tag@example.com"},
		{"254 bytes after trim", "  " + strings.ToUpper(emailOfLen(254)) + " ",
			strings.ToUpper(emailOfLen(254)[:65]) + emailOfLen(254)[65:]},
		{"display name", "Name <a@b.c>", ""},
		{"brackets", "<a@b.c>", ""},
		{"comment", "a@b.c (home)", ""},
		{"space inside", "john doe@example.com", ""},
		{"no at", "john.example.com", ""},
		{"two at", "a@@b.c", ""},
		{"no domain", "john@", ""},
		{"no local part", "@example.com", ""},
		{"two addresses", "a@b.c, d@e.f", ""},
		{"255 bytes", emailOfLen(255), ""},
		{"empty", "", ""},
		{"spaces only", "   ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeEmail(tt.in)
			if tt.want == "" {
				require.Error(t, err, "got %q", got)
				assert.ErrorIs(t, err, ErrInvalidInput)
				var ve *ValidationError
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, "email", ve.Field)
				assert.Equal(t, -1, ve.Index)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			again, err := NormalizeEmail(got)
			require.NoError(t, err)
			assert.Equal(t, got, again, "not idempotent")
			assert.NoError(t, Token{Token: "1", Email: got}.Validate())
		})
	}
}

func TestDecodeID(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   int64
		wantOK bool
	}{
		{"number", `{"id":123}`, 123, true},
		{"string", `{"id":"123"}`, 123, true},
		{"spaces", ` { "id" : 123 } `, 123, true},
		{"other fields", `{"status":"ok","id":77}`, 77, true},
		{"max int64", `{"id":9223372036854775807}`, 9223372036854775807, true},
		{"zero", `{"id":0}`, 0, false},
		{"zero string", `{"id":"0"}`, 0, false},
		{"negative", `{"id":-1}`, 0, false},
		{"negative string", `{"id":"-1"}`, 0, false},
		{"missing", `{}`, 0, false},
		{"null", `{"id":null}`, 0, false},
		{"fraction", `{"id":1.5}`, 0, false},
		{"overflow", `{"id":9223372036854775808}`, 0, false},
		{"bool", `{"id":true}`, 0, false},
		{"array", `{"id":[1]}`, 0, false},
		{"non-numeric string", `{"id":"abc"}`, 0, false},
		{"empty string", `{"id":""}`, 0, false},
		{"garbage", `not json`, 0, false},
		{"truncated", `{"id":12`, 0, false},
		{"bare number", `123`, 0, false},
		{"json string", `"123"`, 0, false},
		{"empty body", ``, 0, false},
		{"too large", `{"id":1,"pad":"` + strings.Repeat("x", maxErrorBody) + `"}`, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := decodeID([]byte(tt.in))
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

// The fast path must never accept what net/mail would reject or rewrite.
func TestPlainAddressAgreesWithNetMail(t *testing.T) {
	cases := []string{
		"a@b", "a@b.c", "user.name+tag@example.com", "x_y-z@sub.example.co.uk",
		"!#$%&'*+-/=?^_`{|}~@example.com", "a@-example-.com", "A@EXAMPLE.COM",
		".a@b.c", "a.@b.c", "a..b@c.d", "a@b..c", "a@.b", "a@b.", "@b.c", "a@", "a",
		"a b@c.d", "a@b c", `"a b"@c.d`, "a@[127.0.0.1]", "Ann <a@b.c>", "a@b@c",
		"a(comment)@b.c", "ä@b.c", "a@bü.c", "a@b.c\n", "",
	}
	for _, e := range cases {
		if !plainAddress(e) {
			continue
		}
		a, err := mail.ParseAddress(e)
		if assert.NoError(t, err, e) {
			assert.Equal(t, e, a.Address, e)
			assert.Empty(t, a.Name, e)
		}
	}
	assert.True(t, plainAddress("user.name+tag@example.com"))
	assert.False(t, plainAddress(`"a b"@c.d`), "quoted local parts go through net/mail")
}
