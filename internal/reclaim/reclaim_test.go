package reclaim

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// source is a journal of left entries and an engine of limited room.
type source struct {
	mu      sync.Mutex
	left    int // entries the journal still holds
	room    int
	changed chan struct{}
	calls   []int // the n of each Take
	fail    error
}

func (s *source) Room() (int, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.room, s.changed
}

func (s *source) Take(_ context.Context, n int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, n)
	if s.fail != nil {
		return 0, s.fail
	}
	got := min(n, s.left)
	s.left -= got
	s.room -= got
	return got, nil
}

func (s *source) snapshot() (calls []int, left int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.calls...), s.left
}

// settle frees room, as settled batches do.
func (s *source) settle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.room += n
	close(s.changed)
	s.changed = make(chan struct{})
}

// What earlier runs left is taken as room frees, in calls of at most
// Chunk, never beyond the room.
func TestReclaimTakesAsRoomFrees(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &source{left: 25_000, room: 15_000, changed: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		more, err := Once(ctx, s)
		assert.NoError(t, err)
		assert.True(t, more)
		done := make(chan struct{})
		go func() { Loop(ctx, s, more, func(error) { t.Error("no failure") }); close(done) }()
		synctest.Wait()
		calls, _ := s.snapshot()
		assert.Equal(t, []int{10_000, 5_000}, calls, "Chunk, then the room left")
		s.settle(12_000)
		synctest.Wait()
		calls, left := s.snapshot()
		assert.Zero(t, left, "all taken once room freed")
		assert.Equal(t, []int{10_000, 5_000, 10_000, 2_000}, calls, "the last look finds fewer: the journal is empty")
		s.settle(100)
		synctest.Wait()
		calls, _ = s.snapshot()
		assert.Len(t, calls, 4, "an empty journal is not asked again as room frees")
		time.Sleep(Every + time.Second)
		calls, _ = s.snapshot()
		assert.Len(t, calls, 5, "an idle loop looks again every Every")
		cancel()
		<-done
	})
}

// A failed Take is reported and tried again later.
func TestReclaimFailureIsTriedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &source{left: 5, room: 10, changed: make(chan struct{}), fail: errors.New("disk")}
		ctx, cancel := context.WithCancel(context.Background())
		failures := make(chan error, 10)
		done := make(chan struct{})
		go func() { Loop(ctx, s, false, func(err error) { failures <- err }); close(done) }()
		time.Sleep(2*Every + time.Second)
		assert.Len(t, failures, 2)
		s.mu.Lock()
		s.fail = nil
		s.mu.Unlock()
		time.Sleep(Every)
		_, left := s.snapshot()
		assert.Zero(t, left)
		cancel()
		<-done
	})
}
