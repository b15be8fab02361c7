package batch

// Filler gathers items into batches of at most max. An item equal to one
// still pending is not added again: it joins the batch carrying its twin.
// It is not safe for concurrent use: the engine guards it.
type Filler[T comparable] struct {
	max      int
	items    []T
	payloads [][]byte
	ids      []string
	open     *Batch[T]
	pending  map[T]*Batch[T] // each pending item → its root batch
}

// NewFiller returns a Filler of batches of at most max items.
func NewFiller[T comparable](max int) *Filler[T] {
	return &Filler[T]{max: max, pending: map[T]*Batch[T]{}}
}

// Twin returns the root batch carrying t, if t is pending.
func (f *Filler[T]) Twin(t T) *Batch[T] { return f.pending[t] }

// Add puts t, which no pending batch carries, with its payload and journal
// entry id, in the open batch and returns that batch and whether it is
// full: then Cut it.
func (f *Filler[T]) Add(t T, payload []byte, id string) (*Batch[T], bool) {
	if f.open == nil {
		f.open = New[T](nil, nil)
	}
	if payload != nil && f.payloads == nil {
		f.payloads = make([][]byte, len(f.items), cap(f.items))
	}
	f.items = append(f.items, t)
	f.ids = append(f.ids, id)
	if f.payloads != nil {
		f.payloads = append(f.payloads, payload)
	}
	f.pending[t] = f.open
	return f.open, len(f.items) >= f.max
}

// Len returns the items in the open batch.
func (f *Filler[T]) Len() int { return len(f.items) }

// Cut closes the open batch and returns it; nil when it is empty.
func (f *Filler[T]) Cut() *Batch[T] {
	b := f.open
	if b == nil {
		return nil
	}
	b.Items, b.Payloads, b.IDs = f.items, f.payloads, f.ids
	f.open, f.items, f.payloads, f.ids = nil, nil, nil, nil
	return b
}

// Pack puts items that no pending batch carries (say, what a journal gave
// back) in full batches of their own, apart from the open one, and returns
// them; items with a pending twin are returned apart with their twin's
// batch.
func (f *Filler[T]) Pack(items []T, payloads [][]byte, ids []string) (batches []*Batch[T], twins []*Batch[T]) {
	var cur *Batch[T]
	twins = make([]*Batch[T], len(items))
	for i, t := range items {
		if twin := f.pending[t]; twin != nil {
			twins[i] = twin
			continue
		}
		if cur == nil || len(cur.Items) >= f.max {
			cur = New[T](nil, nil)
			batches = append(batches, cur)
		}
		if payloads != nil && payloads[i] != nil && cur.Payloads == nil {
			cur.Payloads = make([][]byte, len(cur.Items))
		}
		cur.Items = append(cur.Items, t)
		cur.IDs = append(cur.IDs, ids[i])
		if cur.Payloads != nil {
			var p []byte
			if payloads != nil {
				p = payloads[i]
			}
			cur.Payloads = append(cur.Payloads, p)
		}
		f.pending[t] = cur
	}
	return batches, twins
}

// SettledFrom forgets those of items that root carries: no longer pending,
// an equal item is new again. An item a later batch carries stays pending.
func (f *Filler[T]) SettledFrom(root *Batch[T], items []T) {
	for _, t := range items {
		if f.pending[t] == root {
			delete(f.pending, t)
		}
	}
}

// Settled forgets items: no longer pending, an equal item is new again.
func (f *Filler[T]) Settled(items []T) {
	for _, t := range items {
		delete(f.pending, t)
	}
}
