package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/yespo-go/yespo"
)

// importer is one run over one file.
type importer struct {
	cfg     config
	start   checkpoint
	tr      *tracker
	gate    *gate
	rejects *csvOut
	stopRun context.CancelCauseFunc

	mu      sync.Mutex
	blocked error // the first error that stopped the import
}

// importFile runs one import, or the rest of one, and returns the exit code.
func importFile(ctx context.Context, cfg config, stdout, stderr io.Writer) (int, error) {
	info, err := os.Stat(cfg.path)
	if err != nil {
		return exitError, err
	}
	if info.IsDir() {
		return exitError, fmt.Errorf("%s is a directory", cfg.path)
	}
	cpPath := cfg.path + ".checkpoint"
	im := &importer{cfg: cfg}
	// A trial (-dry-run, -fake) neither uses nor leaves a checkpoint: a real
	// import must not skip rows that only went to the fake. Nor does it
	// step on a real import's unfinished files.
	trial := cfg.dryRun || cfg.fake
	if trial {
		if _, err := os.Stat(cpPath); err == nil {
			return exitError, fmt.Errorf("an import of this file is unfinished (%s): finish it (run it again without -dry-run or -fake), or delete that file to start over", cpPath)
		}
	} else if im.start, err = loadCheckpoint(cpPath, info); err != nil {
		return exitError, err
	}
	if im.start.Row > 0 {
		fmt.Fprintf(stderr, "import-subscribers: resuming after row %d (%s): %s so far\n", im.start.Row, cpPath, im.start.Done)
	}
	if im.rejects, err = openOut(cfg.path+".rejects.csv", []string{"row", "reason", "record"}, im.start.Row); err != nil {
		return exitError, err
	}
	defer im.rejects.close()
	failedPath := cfg.path + ".failed.csv"
	if cfg.dryRun { // nothing can fail: leave a real run's failed file alone
		failedPath = ""
	}
	failedOut, err := openOut(failedPath, []string{"row", "error", "token", "contactId", "externalCustomerId", "phone", "email"}, im.start.Row)
	if err != nil {
		return exitError, err
	}
	defer failedOut.close()
	rows, closer, err := openRows(cfg.path, cfg.format, cfg.sep, im.start.Offset, im.start.Row+1)
	if err != nil {
		return exitError, err
	}
	defer closer.Close()

	im.tr = newTracker(im.start, func(r *row, err error) { failedOut.write(failedRecord(r, err)) })
	runCtx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	im.stopRun = stopRun
	im.gate = newGate(newLimiter(cfg, slog.New(slog.NewTextHandler(stderr, nil))))
	// Ctrl-C or a blocking error: no request starts any more.
	defer context.AfterFunc(runCtx, im.gate.close)()

	var b *yespo.Batcher
	if !cfg.dryRun {
		c, app, closeFake, err := newClient(cfg, im.gate)
		if err != nil {
			return exitError, err
		}
		defer closeFake()
		if b, err = c.NewBatcher(app, yespo.BatcherOptions{
			MaxBatch:    cfg.batch,
			Concurrency: cfg.concurrency,
			MaxPending:  max(10_000, cfg.batch*(cfg.concurrency+1)), // enough to keep every request slot busy
			OnBatch:     im.onBatch,
		}); err != nil {
			return exitError, err
		}
		where := "Yespo at " + baseURLShown(cfg)
		if cfg.fake {
			where = "the in-process fake Yespo (-fake)"
		}
		fmt.Fprintf(stderr, "import-subscribers: importing %s (%d bytes) into app %s on %s: %g requests/s, up to %d in flight, %d tokens each\n",
			cfg.path, info.Size(), app, where, cfg.rps, cfg.concurrency, cfg.batch)
	}
	save := func() error {
		row, offset, done := im.tr.watermark()
		if err := im.rejects.flush(); err != nil {
			return err
		}
		if err := failedOut.flush(); err != nil {
			return err
		}
		if trial {
			return nil
		}
		return checkpoint{Row: row, Offset: offset, Done: done, InputSize: info.Size(), InputTime: info.ModTime()}.save(cpPath)
	}
	stopSaving := every(250*time.Millisecond, save)
	prog := newProgress(stderr, info.Size(), cfg.progressEvery, im.tr, im.start)

	eof, lastSeq, readErr := im.feed(runCtx, rows, b)
	if b != nil {
		// Whatever was read goes out, unless the run is stopping: then the
		// requests in flight get interruptGrace to finish, and the rest
		// stays after the checkpoint.
		closeCtx, cancelClose := context.WithCancel(context.Background())
		stopGrace := context.AfterFunc(runCtx, func() { time.AfterFunc(interruptGrace, cancelClose) })
		_ = b.Close(closeCtx)
		stopGrace()
		cancelClose()
	}
	stopSaving()
	prog.finish()
	if err := save(); err != nil {
		return exitError, err
	}
	mark, _, done := im.tr.watermark()
	run, _ := im.tr.counts()
	complete := eof && mark == lastSeq
	blocked := im.blockedErr()
	switch {
	case blocked != nil:
		fmt.Fprintln(stderr, blockedMessage(blocked, cfg))
		fmt.Fprintf(stdout, "Stopped: %s in this run; %s. Fix the cause and run the same command again to continue.\n", run, doneUpTo(mark))
		return exitError, nil
	case readErr != nil:
		fmt.Fprintf(stdout, "Stopped: %s in this run; %s.\n", run, doneUpTo(mark))
		return exitError, fmt.Errorf("%w (progress is saved: run again to resume)", readErr)
	case !complete && ctx.Err() != nil && trial:
		fmt.Fprintf(stdout, "Interrupted: %s in this run (a trial run keeps no checkpoint).\n", run)
		return exitInterrupted, nil
	case !complete && ctx.Err() != nil:
		fmt.Fprintf(stdout, "Interrupted: %s in this run; %s. Run the same command again to resume.\n", run, doneUpTo(mark))
		return exitInterrupted, nil
	case !complete:
		fmt.Fprintf(stdout, "Stopped: %s in this run; %s.\n", run, doneUpTo(mark))
		return exitError, fmt.Errorf("rows after %d were not confirmed: run the same command again to send them", mark)
	}
	if !trial {
		_ = os.Remove(cpPath)
	}
	verb := "sent"
	if cfg.dryRun {
		verb = "valid"
	}
	fmt.Fprintf(stdout, "%d rows %s, %d failed, %d rejected.", done.Sent, verb, done.Failed, done.Rejected)
	if im.start.Row > 0 {
		fmt.Fprintf(stdout, " (The whole file, over several runs; this run: %s.)", run)
	}
	fmt.Fprintln(stdout)
	if cfg.fake && !cfg.dryRun {
		fmt.Fprintln(stdout, "Imported into the in-process fake Yespo (-fake): nothing was sent to Yespo.")
	}
	if done.Failed > 0 {
		fmt.Fprintf(stdout, "Rows Yespo refused, and why, are in %s: import that file to retry them.\n", failedOut.path)
	}
	if done.Rejected > 0 {
		fmt.Fprintf(stdout, "Rejected rows and why are in %s.\n", im.rejects.path)
	}
	switch {
	case done.Failed > 0:
		return exitFailures, nil
	case done.Rejected > 0:
		return exitRejects, nil
	}
	return exitOK, nil
}

// doneUpTo says how far the checkpoint goes.
func doneUpTo(mark int64) string {
	if mark == 0 {
		return "no row is confirmed yet"
	}
	return fmt.Sprintf("every row up to %d is done (sent, rejected or failed)", mark)
}

func (c counts) String() string {
	return fmt.Sprintf("%d rows sent, %d failed, %d rejected", c.Sent, c.Failed, c.Rejected)
}

// onBatch files a batch's outcome (it is the Batcher's OnBatch).
func (im *importer) onBatch(res yespo.BatchResult) {
	switch judge(res.Err, im.gate.isClosed()) {
	case batchSent:
		im.tr.settle(res.Tokens, nil)
	case batchFailed:
		im.tr.settle(res.Tokens, res.Err)
	case batchUnsent:
		im.tr.release(res.Tokens)
	case importBlocked:
		im.tr.release(res.Tokens)
		im.mu.Lock()
		if im.blocked == nil {
			im.blocked = res.Err
		}
		im.mu.Unlock()
		im.gate.close()
		im.stopRun(res.Err)
	}
}

func (im *importer) blockedErr() error {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.blocked
}

// feed reads rows until the end, an error or ctx's end, and hands each
// valid one to b (nil in a dry run). The first batch goes alone: a wrong
// key or app then costs one request, not one per batch. It returns whether
// the file was read to its end and the last row read.
func (im *importer) feed(ctx context.Context, rows rowReader, b *yespo.Batcher) (eof bool, lastSeq int64, err error) {
	lastSeq = im.start.Row
	probing := b != nil
	added := 0
	for {
		if ctx.Err() != nil {
			// Stopped: was that all? A stop after the last row is no interruption.
			_, err := rows.next()
			return err == io.EOF, lastSeq, nil
		}
		r, err := rows.next()
		if err == io.EOF {
			return true, lastSeq, nil
		}
		if err != nil {
			return false, lastSeq, err
		}
		rw := &r
		lastSeq = rw.seq
		if reason := check(rw, im.cfg.normalize); reason != "" {
			im.rejects.write([]string{strconv.FormatInt(rw.seq, 10), reason, rw.raw})
			im.tr.rejectedRow(rw)
			continue
		}
		im.tr.expect(rw)
		if b == nil { // a dry run: valid is as far as it goes
			im.tr.settle([]yespo.Token{rw.token}, nil)
			continue
		}
		if err := b.Add(ctx, rw.token); err != nil {
			im.tr.forget(rw)
			if ctx.Err() != nil {
				continue
			}
			return false, lastSeq, err
		}
		if added++; probing && added == im.cfg.batch {
			probing = false
			_ = b.Flush(ctx) // its outcome reaches onBatch
		}
	}
}

// check normalises r's token if asked and says why it is invalid, or "".
// The hints name the tool's flags, not the library's functions.
func check(r *row, normalize bool) string {
	if r.err != nil {
		return r.err.Error()
	}
	if normalize {
		var err error
		if r.token.Phone != "" {
			if r.token.Phone, err = yespo.NormalizePhone(r.token.Phone); err != nil {
				return reason(err)
			}
		}
		if r.token.Email != "" {
			if r.token.Email, err = yespo.NormalizeEmail(r.token.Email); err != nil {
				return reason(err)
			}
		}
	}
	if err := r.token.Validate(); err != nil {
		return reason(err)
	}
	return ""
}

var hints = strings.NewReplacer("yespo: ", "", "\n", "; ")

// goHint is the library's pointer to its Go normalisers, in whatever words;
// a CLI user's fix is the -normalize flag.
var goHint = regexp.MustCompile(`\([^()]*Normalize(Phone|Email)[^()]*\)`)

func reason(err error) string {
	return goHint.ReplaceAllLiteralString(hints.Replace(err.Error()), "(try -normalize)")
}

func failedRecord(r *row, err error) []string {
	t := r.token
	id := ""
	if t.ContactID != 0 {
		id = strconv.FormatInt(t.ContactID, 10)
	}
	return []string{strconv.FormatInt(r.seq, 10), err.Error(), t.Token, id, t.ExternalCustomerID, t.Phone, t.Email}
}

// every runs f every d until the returned stop is called.
func every(d time.Duration, f func() error) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = f()
			case <-done:
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
