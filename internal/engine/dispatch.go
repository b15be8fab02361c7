package engine

import (
	"reflect"
	"runtime"
)

// dispatch delivers results to OnResult, one at a time, until the engine
// is shut down and nothing is left to deliver.
func (e *Engine[T]) dispatch() {
	for {
		e.mu.Lock()
		for len(e.results) == 0 {
			if e.done {
				e.mu.Unlock()
				return
			}
			e.mu.Unlock()
			<-e.kick
			e.mu.Lock()
		}
		r := e.results[0]
		e.results = e.results[1:]
		e.running = true
		e.changedLocked()
		e.mu.Unlock()
		deliver(func() { e.cfg.OnResult(r) })
		e.mu.Lock()
		e.running = false
		e.changedLocked()
		e.mu.Unlock()
	}
}

// deliver makes one OnResult call. Its frame marks the calls made from
// OnResult (see fromOnResult).
//
//go:noinline
func deliver(call func()) { call() }

// deliverPC is where deliver begins.
var deliverPC = reflect.ValueOf(deliver).Pointer()

// fromOnResult reports whether the caller runs inside an OnResult call:
// whether deliver is among its callers, as testing.T.Helper finds its
// frames. A Close called from OnResult must not wait for the call it runs
// in, and one called from elsewhere must; nothing else tells them apart
// when a Close from outside arrives while a call runs.
func fromOnResult() bool {
	pcs := make([]uintptr, 32)
	for {
		n := runtime.Callers(3, pcs)
		if n < len(pcs) {
			pcs = pcs[:n]
			break
		}
		pcs = make([]uintptr, 2*len(pcs))
	}
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if f.Entry == deliverPC {
			return true
		}
		if !more {
			return false
		}
	}
}

// enter tells whether a Flush, Close or Wait is called from OnResult, and
// counts it while it waits: sends must not wait for that OnResult call to
// return (see awaitReportsLocked). It returns what counts it out.
func (e *Engine[T]) enter() (inside bool, exit func()) {
	e.mu.Lock()
	running := e.running
	e.mu.Unlock()
	if !running || !fromOnResult() {
		return false, func() {}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.insideN++
	e.changedLocked()
	return true, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.insideN--
	}
}
