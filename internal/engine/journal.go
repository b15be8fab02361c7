package engine

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Journal keeps the items the engine accepted until they are settled: the
// root package's Journal, over any item. The engine calls Append from one
// goroutine at a time; Remove once a batch is settled for good; Reclaim for
// what no live writer holds; Stats in the background and when asked.
type Journal[T any] interface {
	Append(ctx context.Context, records []Record[T]) ([]Entry[T], error)
	Remove(ctx context.Context, ids []string) error
	Reclaim(ctx context.Context, max int) ([]Entry[T], error)
	Stats(ctx context.Context) (JournalStats, error)
}

// Record is an item to append, with the bytes kept with it.
type Record[T any] struct {
	Item    T
	Payload []byte
}

// Entry is an item a journal holds.
type Entry[T any] struct {
	ID      string
	Item    T
	Payload []byte
	Added   time.Time
}

// JournalStats is how much a journal holds.
type JournalStats struct {
	Depth  int
	Oldest time.Time // zero when empty
}

// Memory is the journal of an engine without one: entries live as long as
// the process. Reclaim finds nothing, since this writer holds them all. An
// entry's ID names the Append that made it, shared by its entries: Remove
// counts one entry per ID it is given, so that an entry costs no string of
// its own (the engine removes each entry once).
type Memory[T any] struct {
	mu     sync.Mutex
	next   uint64
	groups []memGroup // Appends, oldest first, from head on; emptied ones linger until they lead
	head   int
	held   int // groups with entries still held
	depth  int
}

type memGroup struct {
	seq   uint64
	n     int
	added time.Time
}

// NewMemory returns an empty in-memory journal.
func NewMemory[T any]() *Memory[T] { return &Memory[T]{} }

// Append keeps records in memory.
func (m *Memory[T]) Append(_ context.Context, records []Record[T]) ([]Entry[T], error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.next++
	id := strconv.FormatUint(m.next, 10)
	m.groups = append(m.groups, memGroup{seq: m.next, n: len(records), added: now})
	m.held++
	m.depth += len(records)
	out := make([]Entry[T], len(records))
	for i, r := range records {
		out[i] = Entry[T]{ID: id, Item: r.Item, Payload: r.Payload, Added: now}
	}
	return out, nil
}

// Remove forgets one entry per ID in ids.
func (m *Memory[T]) Remove(_ context.Context, ids []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		seq, err := strconv.ParseUint(id, 10, 64)
		i, found := slices.BinarySearchFunc(m.groups[m.head:], seq, func(g memGroup, s uint64) int { return cmp.Compare(g.seq, s) })
		i += m.head
		if err != nil || !found || m.groups[i].n == 0 {
			continue
		}
		m.depth--
		if m.groups[i].n--; m.groups[i].n == 0 {
			m.held--
		}
	}
	for m.head < len(m.groups) && m.groups[m.head].n == 0 {
		m.head++
	}
	if m.head > len(m.groups)/2 || len(m.groups)-m.head > 2*m.held+1024 { // reuse the room: drop the emptied
		m.groups = slices.DeleteFunc(m.groups[:copy(m.groups, m.groups[m.head:])], func(g memGroup) bool { return g.n == 0 })
		m.head = 0
	}
	return nil
}

// Reclaim returns nothing: no other writer left entries here.
func (m *Memory[T]) Reclaim(context.Context, int) ([]Entry[T], error) { return nil, nil }

// Stats returns the depth and the oldest entry.
func (m *Memory[T]) Stats(context.Context) (JournalStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := JournalStats{Depth: m.depth}
	if m.head < len(m.groups) {
		st.Oldest = m.groups[m.head].added
	}
	return st, nil
}
