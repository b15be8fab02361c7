// Package workers runs a bounded number of goroutines over a line of jobs:
// new jobs join the back, jobs sent again (a retry, a probe, what an
// earlier run left) the front.
package workers

import "sync"

// Pool is n goroutines taking jobs from one line.
type Pool[J any] struct {
	run func(J)

	mu    sync.Mutex
	wake  *sync.Cond
	line  []J
	quit  bool
	group sync.WaitGroup
}

// Start returns a Pool of n goroutines, each calling run on one job at a
// time.
func Start[J any](n int, run func(J)) *Pool[J] {
	p := &Pool[J]{run: run}
	p.wake = sync.NewCond(&p.mu)
	p.group.Add(n)
	for range n {
		go p.work()
	}
	return p
}

// Push puts jobs at the back of the line.
func (p *Pool[J]) Push(jobs ...J) {
	p.mu.Lock()
	p.line = append(p.line, jobs...)
	p.mu.Unlock()
	p.signal(len(jobs))
}

// PushFront puts jobs at the front of the line, in their order.
func (p *Pool[J]) PushFront(jobs ...J) {
	p.mu.Lock()
	p.line = append(append(make([]J, 0, len(jobs)+len(p.line)), jobs...), p.line...)
	p.mu.Unlock()
	p.signal(len(jobs))
}

func (p *Pool[J]) signal(n int) {
	if n == 1 {
		p.wake.Signal()
	} else if n > 1 {
		p.wake.Broadcast()
	}
}

// Drop takes every job still in line and returns them.
func (p *Pool[J]) Drop() []J {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := p.line
	p.line = nil
	return line
}

// Stop makes the goroutines return once the line is empty. It does not
// wait for them: see Wait.
func (p *Pool[J]) Stop() {
	p.mu.Lock()
	p.quit = true
	p.mu.Unlock()
	p.wake.Broadcast()
}

// Wait waits for the goroutines to return, after Stop.
func (p *Pool[J]) Wait() { p.group.Wait() }

func (p *Pool[J]) work() {
	defer p.group.Done()
	for {
		j, ok := p.next()
		if !ok {
			return
		}
		p.run(j)
	}
}

// next waits for a job; false once stopped with an empty line.
func (p *Pool[J]) next() (J, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.line) == 0 {
		if p.quit {
			var zero J
			return zero, false
		}
		p.wake.Wait()
	}
	j := p.line[0]
	var zero J
	p.line[0] = zero
	p.line = p.line[1:]
	return j, true
}
