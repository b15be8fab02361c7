package batch

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/internal/split"
)

// Items fill a batch up to max; a twin of a pending item joins its batch
// instead of being added; once settled, an equal item is new again.
func TestFillerCoalesces(t *testing.T) {
	f := NewFiller[string](3)
	a, full := f.Add("a", nil, "1")
	assert.False(t, full)
	assert.Same(t, a, f.Twin("a"), "a pending twin is found")
	assert.Nil(t, f.Twin("b"))
	_, full = f.Add("b", nil, "2")
	assert.False(t, full)
	_, full = f.Add("c", []byte("p"), "3")
	assert.True(t, full, "full at max")
	b := f.Cut()
	require.Same(t, a, b)
	assert.Equal(t, []string{"a", "b", "c"}, b.Items)
	assert.Equal(t, [][]byte{nil, nil, []byte("p")}, b.Payloads, "a payload travels with its item")
	assert.Equal(t, []string{"1", "2", "3"}, b.IDs, "and so does its journal entry")
	assert.Nil(t, f.Cut(), "nothing open")

	f.Settled(b.Items)
	assert.Nil(t, f.Twin("a"), "settled: new again")
}

// What a journal gives back goes in full batches of its own; an item with
// a pending twin is left to that twin.
func TestFillerPacks(t *testing.T) {
	f := NewFiller[int](2)
	open, _ := f.Add(9, nil, "9")
	batches, twins := f.Pack([]int{1, 2, 9, 3}, [][]byte{nil, []byte("x"), nil, nil}, []string{"a", "b", "c", "d"})
	require.Len(t, batches, 2)
	assert.Equal(t, []int{1, 2}, batches[0].Items)
	assert.Equal(t, [][]byte{nil, []byte("x")}, batches[0].Payloads)
	assert.Equal(t, []string{"a", "b"}, batches[0].IDs)
	assert.Equal(t, []int{3}, batches[1].Items)
	assert.Nil(t, batches[1].Payloads)
	assert.Same(t, open, twins[2])
	assert.Equal(t, 1, f.Len(), "the open batch is untouched")
}

// A root is done once every piece settled, and answered once every piece
// is settled or held; each item's outcome is its piece's.
func TestBatchPiecesSettleTheRoot(t *testing.T) {
	root := New([]int{1, 2, 3, 4}, nil)
	root.Search = split.New[int](4)
	left, right := root.Piece(2, 4), root.Piece(0, 2)
	root.Replaced()
	assert.False(t, root.Answered())
	left.SetHeld(true)
	assert.False(t, root.Answered())
	assert.False(t, right.Settle(nil))
	assert.True(t, root.Answered(), "settled or held")
	left.SetHeld(false)
	assert.False(t, root.Answered(), "back in line")
	refused := errors.New("400")
	assert.True(t, left.Settle(refused))
	select {
	case <-root.Done():
	default:
		t.Fatal("not done")
	}
	assert.NoError(t, root.ErrOf(1))
	assert.Equal(t, refused, root.ErrOf(3))
	n, first := root.Failed()
	assert.Equal(t, 2, n)
	assert.Equal(t, refused, first)
}

// SettledFrom forgets only what the given root carries: an equal item a
// later batch took up stays pending there.
func TestSettledFromKeepsALaterTwin(t *testing.T) {
	f := NewFiller[string](10)
	first, _ := f.Add("a", nil, "1")
	f.Add("b", nil, "2")
	f.Cut()
	f.SettledFrom(first, []string{"a"})
	if f.Twin("a") != nil {
		t.Fatal("a settled, still pending")
	}
	if f.Twin("b") != first {
		t.Fatal("b, not settled, no longer pending")
	}
	second, _ := f.Add("a", nil, "3")
	f.SettledFrom(first, []string{"a", "b"})
	if f.Twin("a") != second {
		t.Fatal("the later a was forgotten with the first batch")
	}
	if f.Twin("b") != nil {
		t.Fatal("b settled, still pending")
	}
}
