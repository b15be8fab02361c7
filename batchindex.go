package yespo

// batchIndex finds a token among the tokens of one batch, for the
// Batcher's de-duplication. Each live batch (filling, waiting or in flight)
// has one; Add looks the token up in each, which beat one shared set: that
// set had to forget every token of every finished batch, and its pointers
// kept the garbage collector busy. An index holds no pointers, is cleared
// with one memclr and is reused by the next batch. Open addressing with
// linear probing; a slot holds the upper half of the token's hash and its
// position in the batch plus one (0: empty).
type batchIndex struct {
	slots []uint64 // a power of two long, at least twice the batch
}

// reset empties the index for a batch of up to n tokens.
func (x *batchIndex) reset(n int) {
	size := 16
	for size < 2*n {
		size *= 2
	}
	if len(x.slots) == size {
		clear(x.slots)
		return
	}
	x.slots = make([]uint64, size)
}

// find reports whether a token equal to t, of hash h, is in tokens.
func (x *batchIndex) find(tokens []Token, t *Token, h uint64) bool {
	_, found := x.probe(tokens, t, h)
	return found
}

// add files tokens[i], of hash h, unless an equal token is there already;
// it reports whether it did.
func (x *batchIndex) add(tokens []Token, i int, h uint64) bool {
	slot, found := x.probe(tokens, &tokens[i], h)
	if found {
		return false
	}
	x.slots[slot] = h&^0xffffffff | uint64(i+1)
	return true
}

// probe returns where t is, or the empty slot where it would go.
func (x *batchIndex) probe(tokens []Token, t *Token, h uint64) (int, bool) {
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		switch {
		case s == 0:
			return int(i), false
		case s>>32 == h>>32 && tokens[uint32(s)-1] == *t:
			return int(i), true
		}
	}
}

// pendingFilter is a counting filter over the hashes of the pending
// tokens: one byte a bucket, eight buckets a pending token. A token whose
// bucket is zero is certainly not pending, which is what Add learns for
// almost every token from one byte; otherwise it searches the batches. A
// bucket that reaches 255 stays there: "maybe" is always safe. Small enough
// to stay in cache, where an exact shared table of 10,000 tokens was not.
type pendingFilter struct {
	buckets []uint8 // a power of two long
}

func newPendingFilter(maxPending int) pendingFilter {
	size := 1024
	for size < 8*maxPending {
		size *= 2
	}
	return pendingFilter{buckets: make([]uint8, size)}
}

// inc counts h and reports whether its bucket was empty before.
func (f *pendingFilter) inc(h uint64) (wasEmpty bool) {
	b := &f.buckets[h&uint64(len(f.buckets)-1)]
	wasEmpty = *b == 0
	if *b < 255 {
		*b++
	}
	return wasEmpty
}

// dec uncounts h.
func (f *pendingFilter) dec(h uint64) {
	b := &f.buckets[h&uint64(len(f.buckets)-1)]
	if *b > 0 && *b < 255 {
		*b--
	}
}
