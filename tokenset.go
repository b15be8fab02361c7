package yespo

import "hash/maphash"

// tokenSet is the Batcher's set of tokens in flight: open addressing with
// linear probing and backward-shift deletion. Every token goes in once and
// out once, and that churn filled Go's map with tombstones, which made it
// the Batcher's largest cost; here deletion leaves none. It holds pointers
// to tokens in their batches, which stay put while in flight. Not safe for
// concurrent use.
type tokenSet struct {
	seed  maphash.Seed
	slots []tokenSlot // a power of two long, at most half full
	n     int
}

type tokenSlot struct {
	hash uint64
	t    *Token // nil: empty
}

func newTokenSet() tokenSet {
	return tokenSet{seed: maphash.MakeSeed(), slots: make([]tokenSlot, 64)}
}

// hash covers the token string only: cheap, and tokens that differ only in
// identifiers just share a probe chain.
func (s *tokenSet) hash(t *Token) uint64 { return maphash.String(s.seed, t.Token) }

// add puts t in the set; it reports false when an equal token is there.
func (s *tokenSet) add(t *Token) bool {
	if 2*(s.n+1) > len(s.slots) {
		s.grow()
	}
	h := s.hash(t)
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &s.slots[i]
		if sl.t == nil {
			*sl = tokenSlot{h, t}
			s.n++
			return true
		}
		if sl.hash == h && *sl.t == *t {
			return false
		}
	}
}

// remove takes t — the very pointer add was given — out of the set, if
// there, and shifts back the entries after it that would otherwise be cut
// off from their home. Matching the pointer spares a visit to the token.
func (s *tokenSet) remove(t *Token) {
	h := s.hash(t)
	mask := uint64(len(s.slots) - 1)
	i := h & mask
	for ; ; i = (i + 1) & mask {
		sl := s.slots[i]
		if sl.t == nil {
			return
		}
		if sl.t == t {
			break
		}
	}
	for j := (i + 1) & mask; s.slots[j].t != nil; j = (j + 1) & mask {
		home := s.slots[j].hash & mask
		// Move j into the hole at i unless its home lies in (i, j].
		if (j-home)&mask >= (j-i)&mask {
			s.slots[i] = s.slots[j]
			i = j
		}
	}
	s.slots[i] = tokenSlot{}
	s.n--
}

func (s *tokenSet) grow() {
	old := s.slots
	s.slots = make([]tokenSlot, 2*len(old))
	mask := uint64(len(s.slots) - 1)
	for _, sl := range old {
		if sl.t == nil {
			continue
		}
		i := sl.hash & mask
		for s.slots[i].t != nil {
			i = (i + 1) & mask
		}
		s.slots[i] = sl
	}
}
