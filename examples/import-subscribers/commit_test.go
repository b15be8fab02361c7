package main

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Commits asked while a write is under way share the next write; none
// returns before a write that began after it asked.
func TestGroupCommitSharesWrites(t *testing.T) {
	var filed, durable atomic.Int64 // outcomes filed; filed as of the last write's start
	var writes atomic.Int32
	release := make(chan struct{})
	g := newGroupCommit(func() error {
		snapshot := filed.Load()
		writes.Add(1)
		<-release
		durable.Store(snapshot)
		return nil
	})
	commit := func() {
		mine := filed.Add(1)
		require.NoError(t, g.commit())
		assert.GreaterOrEqual(t, durable.Load(), mine, "returned before its outcome was written")
	}
	var wg sync.WaitGroup
	wg.Go(commit) // leads the first write, which blocks
	require.Eventually(t, func() bool { return writes.Load() == 1 }, 10*time.Second, time.Millisecond)
	for range 10 {
		wg.Go(commit)
	}
	require.Eventually(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.asked == 11 }, 10*time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	assert.Equal(t, int32(2), writes.Load(), "ten commits asked during the first write share the second")
}

func TestGroupCommitReturnsTheWriteError(t *testing.T) {
	boom := errors.New("disk full")
	fail := true
	g := newGroupCommit(func() error {
		if fail {
			return boom
		}
		return nil
	})
	assert.ErrorIs(t, g.commit(), boom)
	fail = false
	assert.NoError(t, g.commit())
}
