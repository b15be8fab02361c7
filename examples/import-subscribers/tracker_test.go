package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
)

// rowsOf tiles bytes [origin, ...) with n rows of varied sizes, one line each.
func rowsOf(n int, origin int64) []row {
	out := make([]row, n)
	at := origin
	for i := range out {
		size := int64(5 + i%7)
		out[i] = row{place: place{line: int64(i + 2), start: at, end: at + size}}
		at += size
	}
	return out
}

// Rows done in any order merge into spans that cover exactly the rows
// done, and into the prefix once the gaps before them fill.
func TestSpansCoverExactlyTheRowsDone(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 1))
		rows := rowsOf(200, 17)
		st := progressState{prefix: span{Start: 17, End: 17}}
		done := map[int]bool{}
		for _, i := range rng.Perm(len(rows)) {
			st.cover(rows[i].place)
			done[i] = true
			if rng.IntN(10) == 0 || len(done) == len(rows) {
				checkSpans(t, st, rows, done)
			}
		}
		require.Empty(t, st.spans)
		assert.Equal(t, span{17, rows[len(rows)-1].end, 2, rows[len(rows)-1].line}, st.prefix)
	}
}

func checkSpans(t *testing.T, st progressState, rows []row, done map[int]bool) {
	t.Helper()
	for i, r := range rows {
		require.Equal(t, done[i], st.covered(r.start), "row %d covered", i)
		require.Equal(t, done[i], st.lineDone(r.line), "row %d's line", i)
	}
	for i, sp := range st.spans {
		require.Less(t, sp.Start, sp.End)
		require.Greater(t, sp.Start, st.prefix.End, "a span touching the prefix is merged into it")
		if i > 0 {
			require.Greater(t, sp.Start, st.spans[i-1].End, "touching spans are merged")
		}
	}
	var bytes int64
	for i, r := range rows {
		if done[i] {
			bytes += r.end - r.start
		}
	}
	require.Equal(t, bytes, st.bytesDone())
}

// What a resume skips is what the checkpoint saved: a tracker started from
// a state covers the same rows, and nothing else.
func TestTrackerResumesFromState(t *testing.T) {
	rows := rowsOf(10, 0)
	st := progressState{prefix: span{Start: 0, End: 0}}
	for _, i := range []int{0, 1, 4, 5, 8} {
		st.cover(rows[i].place)
	}
	tr := newTracker(st, nil)
	var covered []int
	for i, r := range rows {
		if tr.covered(r.start) {
			covered = append(covered, i)
		}
	}
	assert.Equal(t, []int{0, 1, 4, 5, 8}, covered)
	assert.Equal(t, []span{{rows[4].start, rows[5].end, 6, 7}, {rows[8].start, rows[8].end, 10, 10}}, tr.state().spans)
	tr.rejectedRow(rows[2].place)
	tr.rejectedRow(rows[3].place)
	got := tr.state()
	assert.Equal(t, rows[5].end, got.prefix.End)
	assert.Equal(t, counts{Rejected: 2}, got.run)
	assert.True(t, slices.Equal(st.spans, []span{{rows[4].start, rows[5].end, 6, 7}, {rows[8].start, rows[8].end, 10, 10}}), "the state given is not changed")
}

// A rejected row read ahead waits for the row before it, so that rejects
// never start spans of their own.
func TestRejectedRowsWaitForTheRowBefore(t *testing.T) {
	rows := rowsOf(6, 0)
	tr := newTracker(progressState{}, nil)
	for i := range rows {
		if i%2 == 1 {
			tr.rejectedRow(rows[i].place)
		} else {
			rows[i].token.Token = fmt.Sprint(i)
			tr.expect(&rows[i])
		}
	}
	st := tr.state()
	assert.Equal(t, counts{}, st.done, "nothing is done before the first row")
	assert.Empty(t, st.spans)
	tr.settleRows(&rows[4])
	st = tr.state()
	assert.Equal(t, []span{{rows[4].start, rows[5].end, 6, 7}}, st.spans, "row 5 done with row 4")
	assert.Equal(t, counts{Sent: 1, Rejected: 1}, st.done)
	tr.settleRows(&rows[0], &rows[2])
	st = tr.state()
	assert.Empty(t, st.spans)
	assert.Equal(t, rows[5].end, st.prefix.End)
	assert.Equal(t, counts{Sent: 3, Rejected: 3}, st.done)
}

// settleRows confirms the rows, as a batch that carries them would.
func (t *tracker) settleRows(rs ...*row) {
	for _, r := range rs {
		t.settle([]yespo.Token{r.token}, nil)
	}
}
