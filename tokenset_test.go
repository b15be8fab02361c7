package yespo

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// Random adds and removes, checked against a map, with few distinct token
// strings so that probe chains collide, wrap around and shift back often.
func TestTokenSetAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		set := newTokenSet()
		model := map[Token]*Token{}
		for op := range 5000 {
			tok := Token{Token: fmt.Sprint(rng.IntN(300)), Email: fmt.Sprint(rng.IntN(2), "@x")}
			if rng.IntN(3) > 0 {
				p := &tok
				_, had := model[tok]
				require.Equal(t, !had, set.add(p), "round %d op %d add %v", round, op, tok)
				if !had {
					model[tok] = p
				}
			} else if p, ok := model[tok]; ok {
				set.remove(p)
				delete(model, tok)
			} else {
				set.remove(&tok) // not there: a no-op
			}
			require.Equal(t, len(model), set.n)
		}
		for tok := range model {
			require.False(t, set.add(&tok), "still there: %v", tok)
		}
	}
}
