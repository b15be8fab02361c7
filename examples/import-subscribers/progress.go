package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows how the import goes: a bar on a terminal, a log line
// every so often otherwise (in CI, in a pipe, in a log). It counts rows
// done — sent (confirmed by Yespo), failed, rejected — each once over the
// whole file, never rows merely read; its rate is of rows confirmed in
// this run. It runs on its own ticker, so that it goes on while reading
// waits for the Batcher.
type progress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	size  int64
	tr    *tracker
	base  progressState // where this run started
	start time.Time

	stop chan struct{}
	wg   sync.WaitGroup
}

func newProgress(w io.Writer, size int64, every time.Duration, tr *tracker) *progress {
	p := &progress{w: w, size: size, tr: tr, base: tr.state(), start: time.Now(), stop: make(chan struct{})}
	if isTerminal(w) {
		p.bar = progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(p.line(p.base, 0)), // from the first frame on
			// One ETA, the line's: the bar's own counts from where it
			// started, 0 after a resume.
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionClearOnFinish(),
		)
		_ = p.bar.Set64(p.base.bytesDone())
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
	st := p.tr.state()
	line := p.line(st, time.Since(p.start))
	if p.bar != nil {
		_ = p.bar.Set64(st.bytesDone())
		p.bar.Describe(line)
		return
	}
	// The bytes before the first row (a CSV header) count as done.
	fmt.Fprintf(p.w, "progress: %d%%: %s\n", 100*(st.prefix.Start+st.bytesDone())/max(p.size, 1), line)
}

// line is the counts, the rate and the time left. The rate is of rows
// Yespo confirmed in this run; the time left comes from the bytes of rows
// done in this run against the bytes left, since rows differ in size and
// the file's size is known.
func (p *progress) line(st progressState, elapsed time.Duration) string {
	rate := float64(st.run.Sent) / max(elapsed.Seconds(), 1e-3)
	eta := "?"
	if doneBytes := st.bytesDone() - p.base.bytesDone(); doneBytes > 0 && st.run.Sent > 0 {
		left := time.Duration(float64(elapsed) * float64(p.size-st.bytesDone()) / float64(doneBytes))
		eta = max(left, 0).Round(time.Second).String()
	}
	return fmt.Sprintf("%d sent, %d failed, %d rejected; %.0f rows/s sent, ETA %s", st.done.Sent, st.done.Failed, st.done.Rejected, rate, eta)
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
