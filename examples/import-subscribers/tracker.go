package main

import (
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

// doneRow is a row with an outcome, past the watermark.
type doneRow struct {
	end int64
	how outcome
}

// tracker follows every row from reading to its outcome — sent, failed or
// rejected — and keeps the watermark: the last row up to which all have
// one, which is what a checkpoint may promise. A row whose batch was not
// confirmed (the import stopped first) gets no outcome: it stays after the
// watermark, so that the next run sends it again.
type tracker struct {
	mu        sync.Mutex
	waiting   map[yespo.Token][]*row // rows in the Batcher, by token (twins share)
	done      map[int64]doneRow      // seq → outcome, for rows done past the watermark
	mark      int64                  // watermark row
	markEnd   int64                  // its end offset
	marked    counts                 // outcomes of the rows up to the watermark, earlier runs included
	run       counts                 // outcomes in this run, past the watermark included
	onFailure func(r *row, err error)
}

func newTracker(start checkpoint, onFailure func(*row, error)) *tracker {
	return &tracker{
		waiting: map[yespo.Token][]*row{}, done: map[int64]doneRow{},
		mark: start.Row, markEnd: start.Offset, marked: start.Done, onFailure: onFailure,
	}
}

// expect registers r before it goes to the Batcher.
func (t *tracker) expect(r *row) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.waiting[r.token] = append(t.waiting[r.token], r)
}

// forget takes back a row the Batcher did not accept.
func (t *tracker) forget(r *row) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rows := t.waiting[r.token]
	for i, w := range rows {
		if w == r {
			rows = append(rows[:i], rows[i+1:]...)
			break
		}
	}
	if len(rows) == 0 {
		delete(t.waiting, r.token)
	} else {
		t.waiting[r.token] = rows
	}
}

// rejectedRow marks a row that never reaches the Batcher.
func (t *tracker) rejectedRow(r *row) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.finishLocked(r, rejected)
}

// settle files a batch's outcome: every row waiting for one of its tokens
// is sent (err == nil) or failed. Twins of a token are done with it, since
// they carry the same data.
func (t *tracker) settle(tokens []yespo.Token, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tok := range tokens {
		for _, r := range t.waiting[tok] {
			if err != nil {
				t.onFailure(r, err)
				t.finishLocked(r, failed)
			} else {
				t.finishLocked(r, sent)
			}
		}
		delete(t.waiting, tok)
	}
}

// release drops the rows of a batch that was not confirmed: they get no
// outcome, and the watermark stays before them.
func (t *tracker) release(tokens []yespo.Token) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tok := range tokens {
		delete(t.waiting, tok)
	}
}

func (t *tracker) finishLocked(r *row, how outcome) {
	t.run.add(how)
	t.done[r.seq] = doneRow{r.end, how}
	for {
		d, ok := t.done[t.mark+1]
		if !ok {
			return
		}
		delete(t.done, t.mark+1)
		t.mark, t.markEnd = t.mark+1, d.end
		t.marked.add(d.how)
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

// watermark returns the last row up to which all rows are done, its end,
// and the outcomes of the rows up to it.
func (t *tracker) watermark() (row, end int64, marked counts) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mark, t.markEnd, t.marked
}

// counts returns the outcomes of this run, and whether rows still wait
// for their batch.
func (t *tracker) counts() (run counts, waiting bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.run, len(t.waiting) > 0
}
