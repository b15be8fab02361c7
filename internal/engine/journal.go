package engine

import (
	"context"
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
	groups map[string]*memGroup // Append's ID → its entries still held
	order  []string             // IDs, oldest first; removed ones linger until they lead
	depth  int
}

type memGroup struct {
	n     int
	added time.Time
}

// NewMemory returns an empty in-memory journal.
func NewMemory[T any]() *Memory[T] { return &Memory[T]{groups: map[string]*memGroup{}} }

// Append keeps records in memory.
func (m *Memory[T]) Append(_ context.Context, records []Record[T]) ([]Entry[T], error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.next++
	id := strconv.FormatUint(m.next, 10)
	m.groups[id] = &memGroup{n: len(records), added: now}
	m.order = append(m.order, id)
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
		g := m.groups[id]
		if g == nil {
			continue
		}
		m.depth--
		if g.n--; g.n == 0 {
			delete(m.groups, id)
		}
	}
	for len(m.order) > 0 && m.groups[m.order[0]] == nil {
		m.order = m.order[1:]
	}
	if len(m.order) > 2*len(m.groups)+1024 { // an old entry held long: drop the removed behind it
		kept := m.order[:0]
		for _, id := range m.order {
			if m.groups[id] != nil {
				kept = append(kept, id)
			}
		}
		m.order = kept
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
	if len(m.order) > 0 {
		st.Oldest = m.groups[m.order[0]].added
	}
	return st, nil
}
