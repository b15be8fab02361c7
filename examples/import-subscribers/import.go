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
	info    os.FileInfo // of the input, when the run began
	cpPath  string
	trial   bool // -dry-run or -fake: no checkpoint is used or left
	start   checkpoint
	tr      *tracker
	gate    *gate
	rejects *csvOut
	failed  *csvOut
	stopRun context.CancelCauseFunc

	mu      sync.Mutex
	blocked error // the first error that stopped the import
}

// importFile runs one import, or the rest of one, and returns the exit code.
func importFile(ctx context.Context, cfg config, stdout, stderr io.Writer) (int, error) {
	im, err := newImporter(cfg, stderr)
	if err != nil {
		return exitError, err
	}
	defer im.rejects.close()
	defer im.failed.close()
	rows, closer, err := openRows(cfg.path, cfg.format, cfg.sep, im.start.Offset, im.start.Row+1)
	if err != nil {
		return exitError, err
	}
	defer closer.Close()

	im.tr = newTracker(im.start, func(r *row, err error) { im.failed.write(failedRecord(r, err)) })
	runCtx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	im.stopRun = stopRun
	im.gate = newGate(newLimiter(cfg, slog.New(slog.NewTextHandler(stderr, nil))))
	// Ctrl-C or a blocking error: no request starts any more.
	defer context.AfterFunc(runCtx, im.gate.close)()

	var b *yespo.Batcher
	if !cfg.dryRun {
		var closeFake func()
		if b, closeFake, err = im.newBatcher(stderr); err != nil {
			return exitError, err
		}
		defer closeFake()
	}
	stopSaving := every(250*time.Millisecond, im.save)
	prog := newProgress(stderr, im.info.Size(), cfg.progressEvery, im.tr, im.start)

	eof, lastSeq, readErr := im.feed(runCtx, rows, b)
	if b != nil {
		drain(runCtx, b)
	}
	stopSaving()
	prog.finish()
	if err := im.save(); err != nil {
		return exitError, err
	}
	return im.report(ctx, eof, lastSeq, readErr, stdout, stderr)
}

// newImporter checks the input, loads its checkpoint (a trial neither uses
// nor leaves one: a real import must not skip rows that only went to the
// fake, nor may a trial step on a real import's unfinished files) and opens
// the rejects and failed files.
func newImporter(cfg config, stderr io.Writer) (*importer, error) {
	info, err := os.Stat(cfg.path)
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return nil, fmt.Errorf("%s is a directory", cfg.path)
	}
	im := &importer{cfg: cfg, info: info, cpPath: cfg.path + ".checkpoint", trial: cfg.dryRun || cfg.fake}
	if im.trial {
		if _, err := os.Stat(im.cpPath); err == nil {
			return nil, fmt.Errorf("an import of this file is unfinished (%s): finish it (run it again without -dry-run or -fake), or delete that file to start over", im.cpPath)
		}
	} else if im.start, err = loadCheckpoint(im.cpPath, info); err != nil {
		return nil, err
	}
	if im.start.Row > 0 {
		fmt.Fprintf(stderr, "import-subscribers: resuming after row %d (%s): %s so far\n", im.start.Row, im.cpPath, im.start.Done)
	}
	if im.rejects, err = openOut(cfg.path+".rejects.csv", []string{"row", "reason", "record"}, im.start.Row); err != nil {
		return nil, err
	}
	failedPath := cfg.path + ".failed.csv"
	if cfg.dryRun { // nothing can fail: leave a real run's failed file alone
		failedPath = ""
	}
	if im.failed, err = openOut(failedPath, []string{"row", "error", "token", "contactId", "externalCustomerId", "phone", "email"}, im.start.Row); err != nil {
		im.rejects.close()
		return nil, err
	}
	return im, nil
}

// newBatcher makes the client (Yespo's, or the fake's) and the Batcher
// that sends the rows, and says where they go.
func (im *importer) newBatcher(stderr io.Writer) (*yespo.Batcher, func(), error) {
	cfg := im.cfg
	c, app, closeFake, err := newClient(cfg, im.gate)
	if err != nil {
		return nil, nil, err
	}
	b, err := c.NewBatcher(app, yespo.BatcherOptions{
		MaxBatch:    cfg.batch,
		Concurrency: cfg.concurrency,
		MaxPending:  max(10_000, cfg.batch*(cfg.concurrency+1)), // enough to keep every request slot busy
		OnBatch:     im.onBatch,
	})
	if err != nil {
		closeFake()
		return nil, nil, err
	}
	where := "Yespo at " + baseURLShown(cfg)
	if cfg.fake {
		where = "the in-process fake Yespo (-fake)"
	}
	fmt.Fprintf(stderr, "import-subscribers: importing %s (%d bytes) into app %s on %s: %g requests/s, up to %d in flight, %d tokens each\n",
		cfg.path, im.info.Size(), app, where, cfg.rps, cfg.concurrency, cfg.batch)
	return b, closeFake, nil
}

// drain sends whatever was read, unless the run is stopping: then the
// requests in flight get interruptGrace to finish, and the rest stays after
// the checkpoint.
func drain(runCtx context.Context, b *yespo.Batcher) {
	closeCtx, cancelClose := context.WithCancel(context.Background())
	defer cancelClose()
	stopGrace := context.AfterFunc(runCtx, func() { time.AfterFunc(interruptGrace, cancelClose) })
	defer stopGrace()
	_ = b.Close(closeCtx)
}

// save flushes the rejects and failed files, then (unless a trial) writes
// the checkpoint: never past a row whose outcome is not on disk.
func (im *importer) save() error {
	row, offset, done := im.tr.watermark()
	if err := im.rejects.flush(); err != nil {
		return err
	}
	if err := im.failed.flush(); err != nil {
		return err
	}
	if im.trial {
		return nil
	}
	return checkpoint{Row: row, Offset: offset, Done: done, InputSize: im.info.Size(), InputTime: im.info.ModTime()}.save(im.cpPath)
}

// report says how the run ended, on stdout (and a blocking error on
// stderr), and returns the exit code: a run that stopped short, or one
// that finished the file with its totals over every run of it.
func (im *importer) report(ctx context.Context, eof bool, lastSeq int64, readErr error, stdout, stderr io.Writer) (int, error) {
	mark, _, done := im.tr.watermark()
	run, _ := im.tr.counts()
	complete := eof && mark == lastSeq
	switch blocked := im.blockedErr(); {
	case blocked != nil:
		fmt.Fprintln(stderr, blockedMessage(blocked, im.cfg))
		fmt.Fprintf(stdout, "Stopped: %s in this run; %s. Fix the cause and run the same command again to continue.\n", run, doneUpTo(mark))
		return exitError, nil
	case readErr != nil:
		fmt.Fprintf(stdout, "Stopped: %s in this run; %s.\n", run, doneUpTo(mark))
		return exitError, fmt.Errorf("%w (progress is saved: run again to resume)", readErr)
	case !complete && ctx.Err() != nil && im.trial:
		fmt.Fprintf(stdout, "Interrupted: %s in this run (a trial run keeps no checkpoint).\n", run)
		return exitInterrupted, nil
	case !complete && ctx.Err() != nil:
		fmt.Fprintf(stdout, "Interrupted: %s in this run; %s. Run the same command again to resume.\n", run, doneUpTo(mark))
		return exitInterrupted, nil
	case !complete:
		fmt.Fprintf(stdout, "Stopped: %s in this run; %s.\n", run, doneUpTo(mark))
		return exitError, fmt.Errorf("rows after %d were not confirmed: run the same command again to send them", mark)
	}
	if !im.trial {
		_ = os.Remove(im.cpPath)
	}
	im.summary(stdout, done, run)
	switch {
	case done.Failed > 0:
		return exitFailures, nil
	case done.Rejected > 0:
		return exitRejects, nil
	}
	return exitOK, nil
}

// summary is the last word of a run that finished the file.
func (im *importer) summary(stdout io.Writer, done, run counts) {
	verb := "sent"
	if im.cfg.dryRun {
		verb = "valid"
	}
	fmt.Fprintf(stdout, "%d rows %s, %d failed, %d rejected.", done.Sent, verb, done.Failed, done.Rejected)
	if im.start.Row > 0 {
		fmt.Fprintf(stdout, " (The whole file, over several runs; this run: %s.)", run)
	}
	fmt.Fprintln(stdout)
	if im.cfg.fake && !im.cfg.dryRun {
		fmt.Fprintln(stdout, "Imported into the in-process fake Yespo (-fake): nothing was sent to Yespo.")
	}
	if done.Failed > 0 {
		fmt.Fprintf(stdout, "Rows Yespo refused, and why, are in %s: import that file to retry them.\n", im.failed.path)
	}
	if done.Rejected > 0 {
		fmt.Fprintf(stdout, "Rejected rows and why are in %s.\n", im.rejects.path)
	}
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
