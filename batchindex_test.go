package yespo

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// tinyHash has few values, so that probe chains collide, share the upper
// half and wrap around.
func tinyHash(t *Token) uint64 {
	return uint64(len(t.Token)%3)<<32 | uint64(t.Token[0]%5)
}

// Random batches of random tokens, checked against a map.
func TestBatchIndexAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var x batchIndex
	for round := range 50 {
		n := 1 + rng.IntN(300)
		x.reset(n)
		tokens := make([]Token, 0, n)
		model := map[Token]bool{}
		for range n {
			tok := Token{Token: fmt.Sprint(rng.IntN(150)), Email: fmt.Sprint(rng.IntN(2), "@x")}
			h := tinyHash(&tok)
			require.Equal(t, model[tok], x.find(tokens, &tok, h), "round %d find %v", round, tok)
			tokens = append(tokens, tok)
			added := x.add(tokens, len(tokens)-1, h)
			require.Equal(t, !model[tok], added, "round %d add %v", round, tok)
			if !added {
				tokens = tokens[:len(tokens)-1]
			}
			model[tok] = true
		}
		require.Len(t, tokens, len(model))
		for tok := range model {
			require.True(t, x.find(tokens, &tok, tinyHash(&tok)), "lost %v", tok)
		}
	}
}

// The filter never says "certainly not pending" for a pending hash, also
// once buckets saturate.
func TestPendingFilterNeverForgets(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	f := newPendingFilter(10)
	require.Len(t, f.buckets, 1024)
	model := map[uint64]int{}
	for op := range 200_000 {
		h := uint64(rng.IntN(600)) * 1024 // all in bucket 0 or few others: saturates
		if rng.IntN(3) > 0 || model[h] == 0 {
			empty := f.inc(h)
			if empty {
				for k, n := range model {
					require.False(t, n > 0 && k&1023 == h&1023, "op %d: bucket said empty while %d pending", op, k)
				}
			}
			model[h]++
		} else {
			f.dec(h)
			model[h]--
		}
	}
	f2 := newPendingFilter(10)
	require.True(t, f2.inc(5))
	require.False(t, f2.inc(5))
	f2.dec(5)
	f2.dec(5)
	require.True(t, f2.inc(5), "back to empty")
}
