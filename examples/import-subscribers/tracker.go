package main

import (
	"sync"

	"github.com/yespo-go/yespo"
)

// tracker follows every row from reading to its end — sent, failed or
// rejected — and keeps the watermark: the last row up to which all are
// done, which is what a checkpoint may promise.
type tracker struct {
	mu        sync.Mutex
	waiting   map[yespo.Token][]*row // rows in the Batcher, by token (twins share)
	done      map[int64]int64        // seq → end offset, for rows done past the watermark
	mark      int64                  // watermark row
	markEnd   int64                  // its end offset
	onFailure func(r *row, err error)
	sent      int64
	failed    int64
	rejected  int64
}

func newTracker(start checkpoint, onFailure func(*row, error)) *tracker {
	return &tracker{
		waiting: map[yespo.Token][]*row{}, done: map[int64]int64{},
		mark: start.Row, markEnd: start.Offset, onFailure: onFailure,
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
	t.rejected++
	t.finishLocked(r)
}

// batch files a Batcher result: every row waiting for one of its tokens is
// done. Twins of a token are done with it, since they carry the same data.
func (t *tracker) batch(res yespo.BatchResult) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tok := range res.Tokens {
		for _, r := range t.waiting[tok] {
			if res.Err != nil {
				t.failed++
				t.onFailure(r, res.Err)
			} else {
				t.sent++
			}
			t.finishLocked(r)
		}
		delete(t.waiting, tok)
	}
}

func (t *tracker) finishLocked(r *row) {
	t.done[r.seq] = r.end
	for {
		end, ok := t.done[t.mark+1]
		if !ok {
			return
		}
		delete(t.done, t.mark+1)
		t.mark, t.markEnd = t.mark+1, end
	}
}

// watermark returns the last row up to which all rows are done, and its end.
func (t *tracker) watermark() (int64, int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mark, t.markEnd
}

// counts returns how many rows were sent, failed and rejected.
func (t *tracker) counts() (sent, failed, rejected int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sent, t.failed, t.rejected
}
