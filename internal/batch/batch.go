// Package batch gathers items into batches: each item once while it is
// pending (a twin added meanwhile joins it), a batch cut when full or when
// its oldest item has waited long enough.
package batch

import (
	"sync/atomic"
	"time"

	"github.com/yespo-go/yespo/internal/split"
)

// Batch is the items of one request, or a piece of a refused batch (see
// package split). Its fields other than Items, Payloads, IDs and Attempted are
// guarded by the engine's mutex.
type Batch[T comparable] struct {
	Items    []T
	Payloads [][]byte // one per item; nil when none carries any
	IDs      []string // the journal entry of each item

	Root      *Batch[T]        // the batch Add put the items in; nil for that one itself
	Search    *split.Search[T] // of a root that was split; nil otherwise
	Paused    bool             // a long Retry-After paused the budget for it once
	HeldSince time.Time        // when it was first held; zero if never
	Held      bool             // held for a later try, or parked in the journal
	Err       error            // its outcome, once done
	Attempted atomic.Bool      // a request carrying it left

	done   chan struct{} // closed when every piece is settled (root only)
	undone int           // pieces not settled (root only)
	open   int           // pieces neither settled nor held (root only)
	held   int           // items of held pieces (root only)
}

// New returns a root batch of items.
func New[T comparable](items []T, payloads [][]byte) *Batch[T] {
	return &Batch[T]{Items: items, Payloads: payloads, done: make(chan struct{}), undone: 1, open: 1}
}

// RootOf returns the batch Add put b's items in.
func (b *Batch[T]) RootOf() *Batch[T] {
	if b.Root != nil {
		return b.Root
	}
	return b
}

// Piece returns a piece of b carrying items[from:to], counted in its root.
func (b *Batch[T]) Piece(from, to int) *Batch[T] {
	root := b.RootOf()
	p := &Batch[T]{Items: b.Items[from:to], Root: root, Paused: b.Paused, HeldSince: b.HeldSince}
	if b.Payloads != nil {
		p.Payloads = b.Payloads[from:to]
	}
	if b.IDs != nil {
		p.IDs = b.IDs[from:to]
	}
	p.Attempted.Store(b.Attempted.Load())
	root.undone++
	root.open++
	return p
}

// Replaced notes that b gave way to its pieces: it will not settle itself.
func (b *Batch[T]) Replaced() {
	root := b.RootOf()
	root.undone--
	root.open--
}

// SetHeld marks b held (true) or back in line (false).
func (b *Batch[T]) SetHeld(held bool) {
	if b.Held == held {
		return
	}
	b.Held = held
	root := b.RootOf()
	if held {
		root.open--
		root.held += len(b.Items)
	} else {
		root.open++
		root.held -= len(b.Items)
	}
}

// HeldItems returns how many items of the root are in held pieces.
func (b *Batch[T]) HeldItems() int { return b.RootOf().held }

// Settle files b's outcome and reports whether its root is now done: every
// piece settled.
func (b *Batch[T]) Settle(err error) bool {
	b.SetHeld(false)
	b.Err = err
	root := b.RootOf()
	if err != nil && root.Search != nil {
		root.Search.Failed(b.Items, err)
	}
	root.open--
	if root.undone--; root.undone > 0 {
		return false
	}
	close(root.done)
	return true
}

// Done is closed when every piece of the root is settled.
func (b *Batch[T]) Done() <-chan struct{} { return b.RootOf().done }

// Answered reports whether every piece of the root is settled or held.
func (b *Batch[T]) Answered() bool { return b.RootOf().open == 0 }

// ErrOf returns the outcome of t, once the root is done.
func (b *Batch[T]) ErrOf(t T) error {
	if root := b.RootOf(); root.Search != nil {
		return root.Search.Err(t)
	}
	return b.RootOf().Err
}

// Failed returns how many items of the root failed, and the first error.
func (b *Batch[T]) Failed() (int, error) {
	root := b.RootOf()
	switch {
	case root.Search != nil:
		return root.Search.Count(), root.Search.First()
	case root.Err != nil:
		return len(root.Items), root.Err
	}
	return 0, nil
}
