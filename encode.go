package yespo

import "encoding/json"

// addTokensBody is the body of Add application tokens: {"tokens":[...]}.
type addTokensBody struct {
	Tokens []Token `json:"tokens"`
}

// tokensBody encodes tokens as that body. encoding/json is fast enough by
// far: about 10 million tokens a second on one core, a hundred times what
// Yespo accepts from an account (BENCHMARKS.md).
func tokensBody(tokens []Token) ([]byte, error) {
	return json.Marshal(addTokensBody{Tokens: tokens})
}
