package yespo

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validationErrs flattens what Validate returns: nil, one *ValidationError,
// or an errors.Join of them. Anything else fails the test.
func validationErrs(t *testing.T, err error) []*ValidationError {
	t.Helper()
	if err == nil {
		return nil
	}
	if ve, ok := err.(*ValidationError); ok {
		return []*ValidationError{ve}
	}
	joined, ok := err.(interface{ Unwrap() []error })
	require.True(t, ok, "neither *ValidationError nor joined: %T %v", err, err)
	var out []*ValidationError
	for _, e := range joined.Unwrap() {
		ve, ok := e.(*ValidationError)
		require.True(t, ok, "joined error is %T, not *ValidationError: %v", e, e)
		out = append(out, ve)
	}
	require.Greater(t, len(out), 1, "errors.Join of a single error")
	return out
}

// emailOfLen returns a valid address of exactly n bytes (n >= 70).
func emailOfLen(n int) string {
	local := strings.Repeat("a", 64)
	rest := n - len(local) - 1 - len(".com")
	var labels []string
	for rest > 0 {
		l := min(rest, 63)
		if rest-l == 1 { // avoid an empty label
			l--
		}
		labels = append(labels, strings.Repeat("b", l))
		rest -= l + 1
	}
	return local + "@" + strings.Join(labels, ".") + ".com"
}

func TestEmailOfLen(t *testing.T) {
	for _, n := range []int{70, 128, 254, 255} {
		assert.Len(t, emailOfLen(n), n)
	}
}

func TestValidateAppUUID(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantReason string // "" = valid; else a substring of the reason
	}{
		{"lower", "0f8b6c3e-5a1d-4e2b-9c7f-1a2b3c4d5e6f", ""},
		{"upper", "0F8B6C3E-5A1D-4E2B-9C7F-1A2B3C4D5E6F", ""},
		{"mixed", "0f8B6c3E-5a1d-4E2b-9c7F-1a2b3C4d5e6f", ""},
		{"nil uuid", "00000000-0000-0000-0000-000000000000", ""},
		{"bot token", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "bot token"},
		{"short bot token", "1:x", "bot token"},
		{"empty", "", "empty"},
		{"35 chars", "0f8b6c3e-5a1d-4e2b-9c7f-1a2b3c4d5e6", "UUID"},
		{"37 chars", "0f8b6c3e-5a1d-4e2b-9c7f-1a2b3c4d5e6f0", "UUID"},
		{"no hyphens", "0f8b6c3e5a1d4e2b9c7f1a2b3c4d5e6f", "UUID"},
		{"hyphen moved", "0f8b6c3e5-a1d-4e2b-9c7f-1a2b3c4d5e6f", "UUID"},
		{"underscores", "0f8b6c3e_5a1d_4e2b_9c7f_1a2b3c4d5e6f", "UUID"},
		{"non-hex", "0f8b6c3g-5a1d-4e2b-9c7f-1a2b3c4d5e6f", "UUID"},
		{"non-hex last", "0f8b6c3e-5a1d-4e2b-9c7f-1a2b3c4d5e6z", "UUID"},
		{"braces", "{0f8b6c3e-5a1d-4e2b-9c7f-1a2b3c4d5e6f}", "UUID"},
		{"urn", "urn:uuid:0f8b6c3e-5a1d-4e2b-9c7f-1a2b3c4d5e6f", "UUID"},
		{"spaces", " 0f8b6c3e-5a1d-4e2b-9c7f-1a2b3c4d5e6f ", "surrounding spaces; the UUID inside is fine"},
		{"newline", "0f8b6c3e-5a1d-4e2b-9c7f-1a2b3c4d5e6f\n", "surrounding spaces; the UUID inside is fine"},
		{"spaces around junk", " 0f8b6c3e ", "surrounding spaces, and must be a UUID"},
		{"non-ascii", "0f8b6c3e-5a1d-4e2b-9c7f-1a2b3c4d5é", "UUID"},
		{"path", "../../v1/contacts/0000-0000-0000-0000", "UUID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateAppUUID(tt.in)
			if tt.wantReason == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidInput)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, "appUUID", ve.Field)
			assert.Equal(t, -1, ve.Index)
			assert.Contains(t, ve.Reason, tt.wantReason)
			assert.Contains(t, err.Error(), "appUUID")
		})
	}
}

func TestTokenValidate(t *testing.T) {
	long := strings.Repeat("x", 4096)
	tests := []struct {
		name       string
		tok        Token
		wantFields []string // nil = valid
		wantReason string   // substring of the first error's reason
	}{
		{"chat id + contactId", Token{Token: "123456789", ContactID: 42}, nil, ""},
		{"group chat + external id", Token{Token: "-1001234567890", ExternalCustomerID: "u-1"}, nil, ""},
		{"phone only", Token{Token: "1", Phone: "+380501234567"}, nil, ""},
		{"phone without plus", Token{Token: "1", Phone: "380501234567"}, nil, ""},
		{"phone 7 digits", Token{Token: "1", Phone: "+1234567"}, nil, ""},
		{"phone 15 digits", Token{Token: "1", Phone: "+123456789012345"}, nil, ""},
		{"email only", Token{Token: "1", Email: "john.doe@example.com"}, nil, ""},
		{"email 254 bytes", Token{Token: "1", Email: emailOfLen(254)}, nil, ""},
		{"all identifiers", Token{Token: "t", ContactID: 1, ExternalCustomerID: "e", Phone: "+15550109999", Email: "a@b.co"}, nil, ""},
		{"token 4096 bytes", Token{Token: long, ContactID: 1}, nil, ""},
		{"unicode token", Token{Token: "токен", ContactID: 1}, nil, ""},
		{"padded external id", Token{Token: "1", ExternalCustomerID: " x "}, nil, ""},
		{"external id 1024 bytes", Token{Token: "1", ExternalCustomerID: strings.Repeat("e", 1024)}, nil, ""},

		{"empty token", Token{ContactID: 1}, []string{"token"}, "empty"},
		{"space in token", Token{Token: "12 34", ContactID: 1}, []string{"token"}, "white space"},
		{"tab", Token{Token: "12\t34", ContactID: 1}, []string{"token"}, "white space"},
		{"newline", Token{Token: "1234\n", ContactID: 1}, []string{"token"}, "white space"},
		{"nbsp", Token{Token: "12\u00a034", ContactID: 1}, []string{"token"}, "white space"},
		{"nel", Token{Token: "12\u008534", ContactID: 1}, []string{"token"}, "white space"},
		{"line separator", Token{Token: "12\u202834", ContactID: 1}, []string{"token"}, "white space"},
		{"ideographic space", Token{Token: "12\u300034", ContactID: 1}, []string{"token"}, "white space"},
		{"nul", Token{Token: "12\x0034", ContactID: 1}, []string{"token"}, "control"},
		{"del", Token{Token: "12\x7f34", ContactID: 1}, []string{"token"}, "control"},
		{"token 4097 bytes", Token{Token: long + "x", ContactID: 1}, []string{"token"}, "4096"},
		{"invalid utf-8", Token{Token: "ab\xffcd", ContactID: 1}, []string{"token"}, "UTF-8"},
		{"no identifier", Token{Token: "123"}, []string{"token"}, "identifier"},
		{"zero contactId only", Token{Token: "123", ContactID: 0}, []string{"token"}, "identifier"},
		{"negative contactId", Token{Token: "123", ContactID: -5}, []string{"contactId"}, "negative"},
		{"phone 6 digits", Token{Token: "1", Phone: "+123456"}, []string{"phone"}, "got 6 digits"},
		{"phone 16 digits", Token{Token: "1", Phone: "+1234567890123456"}, []string{"phone"}, "got 16 digits"},
		{"phone leading 0", Token{Token: "1", Phone: "0501234567"}, []string{"phone"}, "starts with 0"},
		{"phone +0", Token{Token: "1", Phone: "+0501234567"}, []string{"phone"}, "starts with 0"},
		{"phone letters", Token{Token: "1", Phone: "+38050abc4567"}, []string{"phone"}, "found 'a' at byte 6"},
		{"phone spaces", Token{Token: "1", Phone: "+38 050 123 45 67"}, []string{"phone"}, "found ' ' at byte 3"},
		{"phone dashes", Token{Token: "1", Phone: "+1-555-010-9999"}, []string{"phone"}, "digits"},
		{"phone double plus", Token{Token: "1", Phone: "++15550109999"}, []string{"phone"}, "found '+' at byte 1"},
		{"phone plus only", Token{Token: "1", Phone: "+"}, []string{"phone"}, "got 0 digits"},
		{"phone arabic digits", Token{Token: "1", Phone: "+٣٨٠٥٠١٢٣٤٥٦٧"}, []string{"phone"}, "digits"},
		{"email 255 bytes", Token{Token: "1", Email: emailOfLen(255)}, []string{"email"}, "254"},
		{"email display name", Token{Token: "1", Email: "John <john@example.com>"}, []string{"email"}, "bare"},
		{"email brackets", Token{Token: "1", Email: "<john@example.com>"}, []string{"email"}, "bare"},
		{"email comment", Token{Token: "1", Email: "john@example.com (home)"}, []string{"email"}, "bare"},
		{"email padded", Token{Token: "1", Email: " john@example.com"}, []string{"email"}, "leading or trailing space"},
		{"email trailing newline", Token{Token: "1", Email: "john@example.com\n"}, []string{"email"}, "leading or trailing space"},
		{"email no domain", Token{Token: "1", Email: "john@"}, []string{"email"}, `nothing after the "@"`},
		{"email no local part", Token{Token: "1", Email: "@example.com"}, []string{"email"}, `nothing before the "@"`},
		{"email space inside", Token{Token: "1", Email: "john doe@example.com"}, []string{"email"}, "space in it"},
		{"email double dot", Token{Token: "1", Email: "john..doe@example.com"}, []string{"email"}, "two dots"},
		{"email two addresses", Token{Token: "1", Email: "a@b.co, c@d.co"}, []string{"email"}, "more than one address"},
		{"email unclosed bracket", Token{Token: "1", Email: "Ann <ann@example.com"}, []string{"email"}, "bare"},
		{"email no at", Token{Token: "1", Email: "john.example.com"}, []string{"email"}, `no "@"`},
		{"email two at", Token{Token: "1", Email: "john@@example.com"}, []string{"email"}, `more than one "@"`},
		{"email invalid utf-8", Token{Token: "1", Email: "j\xffn@example.com"}, []string{"email"}, "UTF-8"},
		{"external id blank", Token{Token: "1", ExternalCustomerID: " "}, []string{"externalCustomerId"}, "blank"},
		{"external id tabs", Token{Token: "1", ExternalCustomerID: "\t\n"}, []string{"externalCustomerId"}, "blank"},
		{"external id nul", Token{Token: "1", ExternalCustomerID: "id\x00x"}, []string{"externalCustomerId"}, "control"},
		{"external id newline", Token{Token: "1", ExternalCustomerID: "id\nx"}, []string{"externalCustomerId"}, "control"},
		{"external id invalid utf-8", Token{Token: "1", ExternalCustomerID: "id\xff"}, []string{"externalCustomerId"}, "UTF-8"},
		{"external id 1025 bytes", Token{Token: "1", ExternalCustomerID: strings.Repeat("e", 1025)}, []string{"externalCustomerId"}, "at most 1024 bytes, got 1025"},

		{"three problems", Token{Token: "", ContactID: -1, Phone: "abc"}, []string{"token", "contactId", "phone"}, "empty"},
		{"bad token, no identifier", Token{Token: "a b"}, []string{"token", "token"}, "white space"},
		{"four problems", Token{Token: "\x00", ExternalCustomerID: " ", Phone: "0", Email: "x"},
			[]string{"token", "externalCustomerId", "phone", "email"}, "control"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.tok
			err := tt.tok.Validate()
			assert.Equal(t, before, tt.tok, "Validate changed the token")
			if tt.wantFields == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidInput)
			if len(tt.wantFields) == 1 {
				_, single := err.(*ValidationError)
				assert.True(t, single, "one problem must be a bare *ValidationError, got %T", err)
			}
			errs := validationErrs(t, err)
			var fields []string
			for _, ve := range errs {
				fields = append(fields, ve.Field)
				assert.Equal(t, -1, ve.Index, "%v", ve)
				assert.ErrorIs(t, ve, ErrInvalidInput)
				assert.Contains(t, ve.Error(), "invalid "+ve.Field+":")
				assert.NotEmpty(t, ve.Reason)
			}
			assert.Equal(t, tt.wantFields, fields)
			assert.Contains(t, errs[0].Reason, tt.wantReason)
		})
	}
}

func TestSegment(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "abc", "abc"},
		{"uuid", "0f8b6c3e-5a1d-4e2b-9c7f-1a2b3c4d5e6f", "0f8b6c3e-5a1d-4e2b-9c7f-1a2b3c4d5e6f"},
		{"negative chat id", "-1001234567890", "-1001234567890"},
		{"dot", ".", "%2E"},
		{"dot dot", "..", "%2E%2E"},
		{"three dots", "...", "..."},
		{"leading dot", ".a", ".a"},
		{"slash", "a/b", "a%2Fb"},
		{"dot dot slash", "../x", "..%2Fx"},
		{"space", "a b", "a%20b"},
		{"question", "a?b", "a%3Fb"},
		{"hash", "a#b", "a%23b"},
		{"percent", "100%", "100%25"},
		{"unicode", "ж", "%D0%B6"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, segment(tt.in))
		})
	}
}

func TestFewInvalidTokensAllListed(t *testing.T) {
	tokens := make([]Token, maxListed)
	err := tokensProblems(tokens) // empty tokens: two problems each
	errs := err.(interface{ Unwrap() []error }).Unwrap()
	require.Len(t, errs, maxListed+1)
	assert.Contains(t, errs[maxListed].Error(), "and 100 more problems")
	assert.NoError(t, tokensProblems([]Token{{Token: "1", ContactID: 1}}))
	err = tokensProblems([]Token{{Token: "1", ContactID: 1}, {Token: "2"}})
	assert.Len(t, err.(interface{ Unwrap() []error }).Unwrap(), 1, "no count when nothing is left out")
}

// The phone rule is said in the same words by the package documentation,
// Token.Validate's comment and every phone error, and the documentation's
// examples of it hold.
func TestPhoneRuleSaidEverywhere(t *testing.T) {
	fold := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	fset := token.NewFileSet()
	pkgDoc, err := parser.ParseFile(fset, "doc.go", nil, parser.ParseComments)
	require.NoError(t, err)
	docText := fold(pkgDoc.Doc.Text())
	assert.Contains(t, docText, "A phone must be "+phoneRule)

	tokensFile, err := parser.ParseFile(fset, "tokens.go", nil, parser.ParseComments)
	require.NoError(t, err)
	var validateDoc string
	for _, d := range tokensFile.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "Validate" && fn.Recv != nil {
			validateDoc = fold(fn.Doc.Text())
		}
	}
	assert.Contains(t, validateDoc, "a phone of "+phoneRule)

	examples := regexp.MustCompile(`A phone must be ` + regexp.QuoteMeta(phoneRule) +
		`: "([^"]+)" and "([^"]+)" both pass, and are sent as given; "([^"]+)" and "([^"]+)" do not\.`).FindStringSubmatch(docText)
	require.Len(t, examples, 5, "the documentation's examples of the rule: %s", docText)
	for i, phone := range examples[1:] {
		err := Token{Token: "1", Phone: phone}.Validate()
		assert.Equal(t, i < 2, err == nil, "the documentation says %q %s: %v", phone, map[bool]string{true: "passes", false: "does not"}[i < 2], err)
	}

	for _, phone := range []string{"+1", "0501234567", "+38 050", "++1234567", "+1234567890123456", "+", "+٣٨٠"} {
		r := phoneProblem(phone)
		assert.True(t, strings.HasPrefix(r, "must be "+phoneRule+"; "), "%q: %s", phone, r)
	}
}

// Email problems are said in plain words: never net/mail's grammar terms.
func TestEmailProblemsInPlainWords(t *testing.T) {
	jargon := []string{"angle-addr", "addr-spec", "atom", "CFWS", "mail:", "phrase", "quoted-string", "parenthetical"}
	for _, e := range []string{
		"ann", "ann@", "@x.com", "a@@x.com", "a b@x.com", "a..b@x.com", ".a@x.com", "a.@x.com", "a@x.com.",
		"a@x.com, b@y.com", "Ann <a@x.com>", "Ann <a@x.com", "<a@x.com>", "a@x.com (home)", "a(b@x.com",
		`"a@x.com`, "a@[1.2.3", "a@x..com", "a@x,com", "a\x00@x.com", "a@x.com>", " ann@x.com", "ann@x.com\t",
		"a@b@c", "ann@x.com;", "a\\@x.com", "ü@",
	} {
		r := emailProblem(e)
		if !assert.NotEmpty(t, r, "%q is not an address", e) {
			continue
		}
		for _, word := range jargon {
			assert.NotContains(t, r, word, "%q: %s", e, r)
		}
	}
	assert.Equal(t, "has a leading or trailing space (NormalizeEmail trims it)", emailProblem(" ann@x.com"))
	assert.Equal(t, "has a leading or trailing space (NormalizeEmail trims it)", emailProblem("ann@x.com\n"))
}
