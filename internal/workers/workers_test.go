package workers

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// At most n jobs run at once, and every job runs once.
func TestPoolBoundsConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var running, most, ran atomic.Int64
		p := Start(3, func(int) {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(10 * time.Millisecond)
			running.Add(-1)
			ran.Add(1)
		})
		for i := range 20 {
			p.Push(i)
		}
		synctest.Wait()
		time.Sleep(time.Second)
		p.Stop()
		p.Wait()
		assert.Equal(t, int64(3), most.Load())
		assert.Equal(t, int64(20), ran.Load())
	})
}

// A job pushed to the front runs before those waiting.
func TestPoolFrontFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		var mu sync.Mutex
		var order []int
		p := Start(1, func(j int) {
			if j == 0 {
				<-gate
			}
			mu.Lock()
			order = append(order, j)
			mu.Unlock()
		})
		p.Push(0)
		synctest.Wait() // the worker holds job 0
		p.Push(1, 2)
		p.PushFront(8, 9)
		close(gate)
		p.Stop()
		p.Wait()
		assert.Equal(t, []int{0, 8, 9, 1, 2}, order)
	})
}

// Drop empties the line: those jobs never run.
func TestPoolDrop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		var ran atomic.Int64
		p := Start(1, func(int) { <-gate; ran.Add(1) })
		p.Push(1)
		synctest.Wait()
		p.Push(2, 3)
		assert.Equal(t, []int{2, 3}, p.Drop())
		close(gate)
		p.Stop()
		p.Wait()
		assert.Equal(t, int64(1), ran.Load())
	})
}
