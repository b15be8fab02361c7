package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows how the import goes: a bar with rows/s and ETA on a
// terminal, a log line every so often otherwise (in CI, in a pipe, in a log).
type progress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	size  int64
	every time.Duration
	tr    *tracker
	start time.Time
	last  time.Time
	rows  int64
	at    int64 // bytes read
}

func newProgress(w io.Writer, size int64, every time.Duration, tr *tracker) *progress {
	p := &progress{w: w, size: size, every: every, tr: tr, start: time.Now(), last: time.Now()}
	if isTerminal(w) {
		p.bar = progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("importing"),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// read notes one more row, ending at byte offset at.
func (p *progress) read(at int64) {
	p.rows++
	p.at = at
	if p.rows%1024 != 0 {
		return
	}
	rate := float64(p.rows) / time.Since(p.start).Seconds()
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("%d rows, %.0f rows/s", p.rows, rate))
		_ = p.bar.Set64(at)
		return
	}
	if time.Since(p.last) >= p.every {
		p.last = time.Now()
		sent, failed, rejected := p.tr.counts()
		eta := "?"
		if at > 0 {
			left := time.Duration(float64(time.Since(p.start)) * float64(p.size-at) / float64(at))
			eta = left.Round(time.Second).String()
		}
		fmt.Fprintf(p.w, "progress: %d rows read (%d%%), %d sent, %d failed, %d rejected, %.0f rows/s, ETA %s\n",
			p.rows, 100*at/max(p.size, 1), sent, failed, rejected, rate, eta)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
