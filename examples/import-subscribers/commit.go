package main

import "sync"

// groupCommit makes a batch's outcome durable before its OnBatch returns,
// without one checkpoint write per batch: the batches settled while a
// write is under way wait for the next one, which covers them all (a
// database's group commit). A kill then re-sends at most the batches in
// flight or waiting here — each holds one of the Batcher's request slots
// — and the import runs at the rate of the network, not of the disk.
type groupCommit struct {
	save func() error

	mu      sync.Mutex
	cond    *sync.Cond
	asked   int64 // commits asked for so far
	done    int64 // commits covered by the last completed write
	writing bool
	err     error // of the last write
}

func newGroupCommit(save func() error) *groupCommit {
	g := &groupCommit{save: save}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// commit returns once a write begun after the call has completed, and the
// error of the last write then.
func (g *groupCommit) commit() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.asked++
	mine := g.asked
	for g.done < mine {
		if g.writing {
			g.cond.Wait()
			continue
		}
		// Lead a write for every commit asked so far: their outcomes are
		// filed before they asked, so the write's snapshot holds them.
		g.writing = true
		upTo := g.asked
		g.mu.Unlock()
		err := g.save()
		g.mu.Lock()
		g.writing = false
		g.done, g.err = upTo, err
		g.cond.Broadcast()
	}
	return g.err
}
