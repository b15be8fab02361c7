package yespo

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// addTokensBody is what appendTokensBody writes by hand, for encoding/json.
type addTokensBody struct {
	Tokens []Token `json:"tokens"`
}

// encodeCases covers every branch of appendString and every field, including
// strings Validate would reject: the encoder must match encoding/json for any
// input, not only valid input.
var encodeCases = [][]Token{
	{{Token: "1", Phone: "+380501234567"}},
	{{Token: "123456789", ContactID: 42, ExternalCustomerID: "crm-7", Phone: "+15550109999", Email: "a@b.c"}},
	{{Token: "a", ContactID: -5}, {Token: "b", ContactID: math.MaxInt64}, {Token: "c", ContactID: math.MinInt64}},
	{{Token: `q"uo\te`, ExternalCustomerID: "<script>&amp;</script>"}},
	{{Token: "\b\f\n\r\t\x00\x01\x1f\x7f", Email: "ü@ä.com"}},
	{{Token: "line\u2028sep\u2029", ExternalCustomerID: "日本語テキスト"}},
	{{Token: "bad\xffutf8\xc3", ExternalCustomerID: "\xe2\x80"}},
	{{Token: ""}},
	{},
}

func TestEncodeMatchesEncodingJSON(t *testing.T) {
	for _, tokens := range encodeCases {
		want, err := json.Marshal(addTokensBody{Tokens: tokens})
		require.NoError(t, err)
		if tokens == nil {
			want = []byte(`{"tokens":[]}`) // AddAppTokens never sends an empty slice
		}
		got := appendTokensBody(nil, tokens)
		assert.Equal(t, string(want), string(got))
	}
}

// For valid tokens the size estimate holds, so the body is one allocation.
func TestEncodeAllocatesOnce(t *testing.T) {
	tokens := encodeCases[1]
	require.NoError(t, tokens[0].Validate())
	allocs := testing.AllocsPerRun(100, func() {
		_ = appendTokensBody(make([]byte, 0, tokensBodySize(tokens)), tokens)
	})
	assert.Equal(t, 1.0, allocs)
}

func FuzzAppendTokensBody(f *testing.F) {
	for _, tokens := range encodeCases {
		for _, t := range tokens {
			f.Add(t.Token, t.ContactID, t.ExternalCustomerID, t.Phone, t.Email)
		}
	}
	f.Fuzz(func(t *testing.T, token string, id int64, ext, phone, email string) {
		tokens := []Token{{token, id, ext, phone, email}, {Token: "x", Email: email}}
		want, err := json.Marshal(addTokensBody{Tokens: tokens})
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendTokensBody(nil, tokens)))
	})
}
