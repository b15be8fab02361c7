// Package split searches a batch Yespo refused with a 400 for the items it
// refuses: the batch is cut in halves, again and again, so that the halves
// Yespo accepts are sent and a refused item fails alone.
package split

import "math/bits"

// Search is the progress of one refused batch's search.
type Search[T comparable] struct {
	left  int // halvings the search may still make, two pieces each
	errs  map[T]error
	first error
}

// New starts the search of a batch of n items. A 400 that is not about one
// item (every half refused) ends it after about 2·log2(n) refused requests.
func New[T comparable](n int) *Search[T] {
	return &Search[T]{left: 2 * bits.Len(uint(n)), errs: map[T]error{}}
}

// Halve returns the two halves of a refused piece, the second first sent,
// or false when the piece is one item or the search is spent: the piece
// then fails as it is.
func (s *Search[T]) Halve(items []T) (first, second []T, ok bool) {
	if len(items) < 2 || s.left < 2 {
		return nil, nil, false
	}
	s.left -= 2
	half := len(items) / 2
	return items[half:], items[:half], true
}

// Failed records a piece that failed with err.
func (s *Search[T]) Failed(items []T, err error) {
	for _, t := range items {
		s.errs[t] = err
	}
	if s.first == nil {
		s.first = err
	}
}

// Err returns the error of the piece that carried t; nil if it was sent.
func (s *Search[T]) Err(t T) error { return s.errs[t] }

// Count returns how many items failed.
func (s *Search[T]) Count() int { return len(s.errs) }

// First returns the first failure; nil when none.
func (s *Search[T]) First() error { return s.first }
