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
// the process. Reclaim finds nothing, since this writer holds them all.
type Memory[T any] struct {
	mu      sync.Mutex
	next    uint64
	entries map[string]time.Time // id → Added
	order   []string             // ids, oldest first; removed ones linger until they lead
}

// NewMemory returns an empty in-memory journal.
func NewMemory[T any]() *Memory[T] { return &Memory[T]{entries: map[string]time.Time{}} }

// Append keeps records in memory.
func (m *Memory[T]) Append(_ context.Context, records []Record[T]) ([]Entry[T], error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	out := make([]Entry[T], len(records))
	for i, r := range records {
		m.next++
		id := strconv.FormatUint(m.next, 10)
		m.entries[id] = now
		m.order = append(m.order, id)
		out[i] = Entry[T]{ID: id, Item: r.Item, Payload: r.Payload, Added: now}
	}
	return out, nil
}

// Remove forgets ids.
func (m *Memory[T]) Remove(_ context.Context, ids []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		delete(m.entries, id)
	}
	for len(m.order) > 0 {
		if _, ok := m.entries[m.order[0]]; ok {
			break
		}
		m.order = m.order[1:]
	}
	if len(m.order) > 2*len(m.entries)+1024 { // an old entry held long: drop the removed behind it
		kept := m.order[:0]
		for _, id := range m.order {
			if _, ok := m.entries[id]; ok {
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
	st := JournalStats{Depth: len(m.entries)}
	if len(m.order) > 0 {
		st.Oldest = m.entries[m.order[0]]
	}
	return st, nil
}
