package main

import (
	"slices"
	"sync"

	"github.com/yespo-go/yespo"
)

// outcome is what became of a row.
type outcome uint8

const (
	sent outcome = iota
	failed
	rejected
)

// span is a stretch of rows that are all done: bytes [Start, End) of the
// file, the rows starting on lines FirstLine to LastLine.
type span struct {
	Start     int64 `json:"start"`
	End       int64 `json:"end"`
	FirstLine int64 `json:"firstLine"`
	LastLine  int64 `json:"lastLine"`
}

// progressState is what the tracker knows at one moment: what a
// checkpoint holds, and this run's share of it.
type progressState struct {
	prefix span   // from where reading began in the first run: every row in it is done
	spans  []span // rows done beyond the prefix: sorted, disjoint, not touching it or each other
	done   counts // outcomes of every row in prefix and spans, earlier runs included
	run    counts // outcomes in this run
}

// covered reports whether the row starting at offset is done.
func (s *progressState) covered(offset int64) bool {
	if offset >= s.prefix.Start && offset < s.prefix.End {
		return true
	}
	i, found := slices.BinarySearchFunc(s.spans, offset, func(sp span, off int64) int { return compare(sp.Start, off) })
	return found || i > 0 && offset < s.spans[i-1].End
}

// lineDone reports whether the row starting on line is done: what the
// rejects and failed files of an earlier run may keep.
func (s *progressState) lineDone(line int64) bool {
	if line >= s.prefix.FirstLine && line <= s.prefix.LastLine {
		return true
	}
	for _, sp := range s.spans {
		if line >= sp.FirstLine && line <= sp.LastLine {
			return true
		}
	}
	return false
}

// bytesDone is how much of the file its done rows hold.
func (s *progressState) bytesDone() int64 {
	n := s.prefix.End - s.prefix.Start
	for _, sp := range s.spans {
		n += sp.End - sp.Start
	}
	return n
}

// cover adds a done row, merging it with the spans it touches.
func (s *progressState) cover(r place) {
	if r.start == s.prefix.End {
		if s.prefix.FirstLine == 0 {
			s.prefix.FirstLine = r.line
		}
		s.prefix.End, s.prefix.LastLine = r.end, r.line
		for len(s.spans) > 0 && s.spans[0].Start == s.prefix.End {
			s.prefix.End, s.prefix.LastLine = s.spans[0].End, s.spans[0].LastLine
			s.spans = slices.Delete(s.spans, 0, 1)
		}
		return
	}
	i, _ := slices.BinarySearchFunc(s.spans, r.start, func(sp span, off int64) int { return compare(sp.Start, off) })
	joinsLeft := i > 0 && s.spans[i-1].End == r.start
	joinsRight := i < len(s.spans) && s.spans[i].Start == r.end
	switch {
	case joinsLeft && joinsRight:
		s.spans[i-1].End, s.spans[i-1].LastLine = s.spans[i].End, s.spans[i].LastLine
		s.spans = slices.Delete(s.spans, i, i+1)
	case joinsLeft:
		s.spans[i-1].End, s.spans[i-1].LastLine = r.end, r.line
	case joinsRight:
		s.spans[i].Start, s.spans[i].FirstLine = r.start, r.line
	default:
		s.spans = slices.Insert(s.spans, i, span{r.start, r.end, r.line, r.line})
	}
}

func compare(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// tracker follows every row from reading to its outcome — sent, failed or
// rejected — and keeps the rows done as spans of the file, which is what a
// checkpoint holds. A row whose batch was not confirmed (the import
// stopped first) gets no outcome: the next run sends it again.
//
// A rejected row read ahead of the rows before it (which wait for their
// batch) is held until the row before it is done, and then done with it:
// so rejects extend the spans of rows sent and never start their own, and
// a checkpoint holds about as many spans as batches in flight. Held rows
// are not done yet; a kill means they are read and rejected again.
type tracker struct {
	mu        sync.Mutex
	waiting   map[yespo.Token]*waiter // rows in the Batcher, by token
	held      map[int64]place         // rejected rows waiting for the row before them, by start
	st        progressState
	onFailure func(t yespo.Token, line int64, err error)
}

// waiter is a row in the Batcher: what its outcome needs, no more (its
// text and the token's copy stay out of memory: up to -batch ×
// -concurrency rows wait). Twins — rows of one token, sent once — chain.
type waiter struct {
	place
	twin *waiter
}

func newTracker(start progressState, onFailure func(yespo.Token, int64, error)) *tracker {
	start.spans = slices.Clone(start.spans)
	return &tracker{waiting: map[yespo.Token]*waiter{}, held: map[int64]place{}, st: start, onFailure: onFailure}
}

// covered reports whether the row starting at offset was done in an
// earlier run (or this one).
func (t *tracker) covered(offset int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.st.covered(offset)
}

// expect registers r before it goes to the Batcher; forget takes back what
// it returns if the Batcher does not accept r.
func (t *tracker) expect(r *row) *waiter {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := &waiter{place: r.place, twin: t.waiting[r.token]}
	t.waiting[r.token] = w
	return w
}

// forget takes back a row the Batcher did not accept (unless its twin's
// batch settled it meanwhile).
func (t *tracker) forget(tok yespo.Token, w *waiter) {
	t.mu.Lock()
	defer t.mu.Unlock()
	head := t.waiting[tok]
	for p := &head; *p != nil; p = &(*p).twin {
		if *p == w {
			*p = w.twin
			break
		}
	}
	if head == nil {
		delete(t.waiting, tok)
	} else {
		t.waiting[tok] = head
	}
}

// rejectedRow marks a row that never reaches the Batcher: done at once if
// the row before it is, else when that one is.
func (t *tracker) rejectedRow(r place) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r.start == t.st.prefix.End || t.st.covered(r.start-1) {
		t.finishLocked(r, rejected)
	} else {
		t.held[r.start] = r
	}
}

// settle files a batch's outcome: every row waiting for one of its tokens
// is sent (err == nil) or failed. Twins of a token are done with it, since
// they carry the same data.
func (t *tracker) settle(tokens []yespo.Token, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tok := range tokens {
		for w := t.waiting[tok]; w != nil; w = w.twin {
			if err != nil {
				t.onFailure(tok, w.line, err)
				t.finishLocked(w.place, failed)
			} else {
				t.finishLocked(w.place, sent)
			}
		}
		delete(t.waiting, tok)
	}
}

// release drops the rows of a batch that was not confirmed: they get no
// outcome, so that the next run sends them.
func (t *tracker) release(tokens []yespo.Token) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tok := range tokens {
		delete(t.waiting, tok)
	}
}

func (t *tracker) finishLocked(r place, how outcome) {
	for {
		t.st.run.add(how)
		t.st.done.add(how)
		t.st.cover(r)
		next, ok := t.held[r.end]
		if !ok {
			return
		}
		delete(t.held, r.end)
		r, how = next, rejected
	}
}

func (c *counts) add(how outcome) {
	switch how {
	case sent:
		c.Sent++
	case failed:
		c.Failed++
	case rejected:
		c.Rejected++
	}
}

// state returns a copy of what the tracker knows now.
func (t *tracker) state() progressState {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.st
	s.spans = slices.Clone(s.spans)
	return s
}
