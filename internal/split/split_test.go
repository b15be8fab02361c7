package split

import (
	"errors"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refusedBy runs the search as the engine does, over a batch of n items
// of which Yespo refuses those bad says, and returns the requests made and
// the items sent.
func refusedBy(n int, bad func(int) bool) (requests int, sent []int, s *Search[int]) {
	items := make([]int, n)
	for i := range items {
		items[i] = i
	}
	s = New[int](n)
	queue := [][]int{items}
	refused := errors.New("400")
	for len(queue) > 0 {
		piece := queue[0]
		queue = queue[1:]
		requests++
		if !slices.ContainsFunc(piece, bad) {
			sent = append(sent, piece...)
			continue
		}
		a, b, ok := s.Halve(piece)
		if !ok {
			s.Failed(piece, refused)
			continue
		}
		queue = append([][]int{a, b}, queue...)
	}
	return requests, sent, s
}

// One refused item among 500: it fails alone, the 499 others are sent, in
// about two requests per halving.
func TestSplitFindsTheRefusedItem(t *testing.T) {
	requests, sent, s := refusedBy(500, func(i int) bool { return i == 321 })
	assert.Len(t, sent, 499)
	assert.Equal(t, 1, s.Count())
	require.Error(t, s.Err(321))
	assert.NoError(t, s.Err(320))
	assert.LessOrEqual(t, requests, 20)
	assert.EqualError(t, s.First(), "400")
}

// A 400 about the whole request ends after about 2·log2(n) requests.
func TestSplitGivesUpOnARequestWide400(t *testing.T) {
	requests, sent, s := refusedBy(500, func(int) bool { return true })
	assert.Empty(t, sent)
	assert.Equal(t, 500, s.Count(), "every item failed")
	assert.LessOrEqual(t, requests, 2*9+2)
}

// A single item is never halved.
func TestSplitOneItem(t *testing.T) {
	_, _, ok := New[int](1).Halve([]int{7})
	assert.False(t, ok)
}
