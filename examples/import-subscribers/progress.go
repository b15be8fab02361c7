package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows how the import goes, counting rows confirmed — sent,
// failed, rejected — not rows read: a bar on a terminal, a log line every
// so often otherwise (in CI, in a pipe, in a log). It runs on its own
// ticker, so that it goes on while reading waits for the Batcher.
type progress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	size  int64
	tr    *tracker
	base  checkpoint // where this run started
	start time.Time

	stop chan struct{}
	wg   sync.WaitGroup
}

func newProgress(w io.Writer, size int64, every time.Duration, tr *tracker, base checkpoint) *progress {
	p := &progress{w: w, size: size, tr: tr, base: base, start: time.Now(), stop: make(chan struct{})}
	if isTerminal(w) {
		p.bar = progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("importing"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionClearOnFinish(),
		)
		_ = p.bar.Set64(base.Offset)
		every = 250 * time.Millisecond
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.show()
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

// show draws the bar or writes one line.
func (p *progress) show() {
	_, at, _ := p.tr.watermark()
	run, _ := p.tr.counts()
	total := p.base.Done.plus(run)
	elapsed := time.Since(p.start)
	rate := float64(run.total()) / elapsed.Seconds()
	if p.bar != nil {
		_ = p.bar.Set64(at)
		p.bar.Describe(fmt.Sprintf("%d sent, %d failed, %d rejected, %.0f rows/s", total.Sent, total.Failed, total.Rejected, rate))
		return
	}
	// The ETA comes from the bytes confirmed in this run against the bytes
	// left: rows differ in size, the file's size is known.
	eta := "?"
	if doneBytes := at - p.base.Offset; doneBytes > 0 {
		left := time.Duration(float64(elapsed) * float64(p.size-at) / float64(doneBytes))
		eta = left.Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "progress: %d%%: %d sent, %d failed, %d rejected; %.0f rows/s, ETA %s\n",
		100*at/max(p.size, 1), total.Sent, total.Failed, total.Rejected, rate, eta)
}

// finish stops the updates; a bar is cleared, the summary follows.
func (p *progress) finish() {
	close(p.stop)
	p.wg.Wait()
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
