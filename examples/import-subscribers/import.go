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
	input   identity // of the input, when the run began
	target  target
	cpPath  string        // "" in a dry run: no checkpoint is used or left
	start   progressState // what earlier runs did
	resumed bool
	tr      *tracker
	gate    *gate
	rejects *csvOut
	failed  *csvOut
	stopRun context.CancelCauseFunc

	saveMu  sync.Mutex // one save at a time, so that none overwrites a later one
	commits *groupCommit

	mu      sync.Mutex
	blocked error // the first error that stopped the import
}

// importFile runs one import, or the rest of one, and returns the exit code.
func importFile(ctx context.Context, cfg config, stdout, stderr io.Writer) (int, error) {
	limiter, budget := newLimiter(cfg, slog.New(slog.NewTextHandler(stderr, nil)))
	g := newGate(limiter)
	var c *yespo.Client
	app := cfg.app
	if !cfg.dryRun {
		var closeFake func()
		var err error
		if c, app, closeFake, err = newClient(cfg, g); err != nil {
			return exitError, err
		}
		defer closeFake()
	}
	im, err := newImporter(cfg, c, app, stderr)
	if err != nil {
		return exitError, err
	}
	im.gate = g
	im.commits = newGroupCommit(im.save)
	defer im.rejects.close()
	defer im.failed.close()
	rows, closer, err := openRows(cfg.path, cfg.format, cfg.sep, cfg.columns, im.start.prefix.End)
	if err != nil {
		return exitError, err
	}
	defer closer.Close()
	if !im.resumed {
		im.start.prefix = span{Start: rows.offset(), End: rows.offset()}
	}

	im.tr = newTracker(im.start, func(tok yespo.Token, line int64, err error) { im.failed.write(failedRecord(tok, line, err)) })
	runCtx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	im.stopRun = stopRun
	// Ctrl-C or a blocking error: no request starts any more.
	defer context.AfterFunc(runCtx, im.gate.close)()

	var b *yespo.Batcher
	if c != nil {
		if b, err = im.newBatcher(c, app, budget, stderr); err != nil {
			return exitError, err
		}
	}
	stopSaving := every(250*time.Millisecond, im.save)
	prog := newProgress(stderr, im.input.Size, cfg.progressEvery, im.tr)

	eof, lastEnd, readErr := im.feed(runCtx, rows, b)
	if b != nil {
		drain(runCtx, b)
	}
	stopSaving()
	prog.finish()
	if err := im.save(); err != nil {
		return exitError, err
	}
	return im.report(ctx, eof, lastEnd, readErr, stdout, stderr)
}

// newImporter checks the input, loads its checkpoint and opens the rejects
// and failed files. A -fake run keeps a checkpoint of its own,
// FILE.fake.checkpoint, which a real run never reads: a real import must
// not skip rows that only went to the fake. A -dry-run keeps none. Neither
// runs over a real import's unfinished files.
func newImporter(cfg config, c *yespo.Client, app string, stderr io.Writer) (*importer, error) {
	input, err := identify(cfg.path)
	if err != nil {
		return nil, err
	}
	realCheckpoint := cfg.path + ".checkpoint"
	im := &importer{cfg: cfg, input: input, cpPath: realCheckpoint}
	switch {
	case cfg.dryRun:
		im.cpPath = ""
	case cfg.fake:
		im.cpPath = cfg.path + ".fake.checkpoint"
		// The fake's URL and, without -app, its app are new in every run.
		im.target = target{AppUUID: cfg.app, BaseURL: fakeBaseURL}
	case c != nil:
		im.target = target{AppUUID: app, BaseURL: c.BaseURL()}
	}
	if cfg.restart && im.cpPath != "" {
		if err := os.Remove(im.cpPath); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
	}
	if cfg.dryRun || cfg.fake {
		if _, err := os.Stat(realCheckpoint); err == nil {
			return nil, fmt.Errorf("an import of this file is unfinished (%s): finish it (run it again without -dry-run or -fake), or %s", realCheckpoint, startOver(realCheckpoint))
		}
	}
	var keep func(int64) bool // the lines of rejects and failed files to keep
	if im.cpPath != "" {
		cp, err := loadCheckpoint(im.cpPath, im.target, input)
		if err != nil {
			return nil, err
		}
		if cp != nil {
			im.resumed = true
			im.start = progressState{prefix: cp.Prefix, spans: cp.Spans, done: cp.Done}
			keep = im.start.lineDone
			fmt.Fprintf(stderr, "import-subscribers: resuming %s (%s): %s so far\n", cfg.path, im.cpPath, cp.Done)
		}
	}
	if im.rejects, err = openOut(cfg.path+".rejects.csv", []string{"line", "reason", "record"}, keep); err != nil {
		return nil, err
	}
	failedPath := cfg.path + ".failed.csv"
	if cfg.dryRun { // nothing can fail: leave a real run's failed file alone
		failedPath = ""
	}
	if im.failed, err = openOut(failedPath, []string{"line", "error", "token", "contactId", "externalCustomerId", "phone", "email"}, keep); err != nil {
		im.rejects.close()
		return nil, err
	}
	return im, nil
}

// newBatcher makes the Batcher that sends the rows, and says where they
// go and within which budget.
func (im *importer) newBatcher(c *yespo.Client, app, budget string, stderr io.Writer) (*yespo.Batcher, error) {
	cfg := im.cfg
	b, err := c.NewBatcher(app, yespo.BatcherOptions{
		MaxBatch:    cfg.batch,
		Concurrency: cfg.concurrency,
		MaxPending:  max(10_000, cfg.batch*(cfg.concurrency+1)), // enough to keep every request slot busy
		// An operator watches an import: a server that cannot be reached
		// stops it, and a batch that outlived the client's retries on 5xx
		// goes to the failed file, rather than wait out an outage of up to
		// 10 minutes in silence. The shortest hold the Batcher allows.
		MaxOutage: time.Second,
		OnBatch:   im.onBatch,
	})
	if err != nil {
		return nil, err
	}
	where := "Yespo at " + c.BaseURL()
	if cfg.fake {
		where = "the in-process fake Yespo (-fake)"
	}
	fmt.Fprintf(stderr, "import-subscribers: importing %s (%d bytes) into app %s on %s: %s; up to %d requests in flight, %d tokens each\n",
		cfg.path, im.input.Size, app, where, budget, cfg.concurrency, cfg.batch)
	return b, nil
}

// drain sends whatever was read, unless the run is stopping: then the
// requests in flight get interruptGrace to finish, and the rest is left
// to the next run.
func drain(runCtx context.Context, b *yespo.Batcher) {
	closeCtx, cancelClose := context.WithCancel(context.Background())
	defer cancelClose()
	stopGrace := context.AfterFunc(runCtx, func() { time.AfterFunc(interruptGrace, cancelClose) })
	defer stopGrace()
	_ = b.Close(closeCtx)
}

// save flushes the rejects and failed files, then (unless a dry run) writes
// the checkpoint: never a row whose line in those files is not on disk.
// Every batch's outcome is saved before its OnBatch returns (see
// groupCommit), so that a kill re-sends at most the batches in flight.
func (im *importer) save() error {
	im.saveMu.Lock()
	defer im.saveMu.Unlock()
	st := im.tr.state() // its rows' lines are written already
	if err := im.rejects.flush(); err != nil {
		return err
	}
	if err := im.failed.flush(); err != nil {
		return err
	}
	if im.cpPath == "" {
		return nil
	}
	cp := checkpoint{Version: checkpointVersion, Target: im.target, Input: im.input, Prefix: st.prefix, Spans: st.spans, Done: st.done}
	return cp.save(im.cpPath)
}

// onBatch files a batch's outcome (it is the Batcher's OnBatch) and
// returns once it is saved.
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
	if err := im.commits.commit(); err != nil {
		im.stopRun(fmt.Errorf("saving the checkpoint: %w", err))
	}
}

func (im *importer) blockedErr() error {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.blocked
}

// feed reads rows until the end, an error or ctx's end, and hands each
// valid one to b (nil in a dry run); rows done in an earlier run are
// skipped. The first batch goes alone: a wrong key or app then costs one
// request, not one per batch. It returns whether the file was read to its
// end and where its last row ends.
func (im *importer) feed(ctx context.Context, rows rowReader, b *yespo.Batcher) (eof bool, lastEnd int64, err error) {
	lastEnd = rows.offset()
	probing := b != nil
	added := 0
	for {
		stopping := ctx.Err() != nil
		r, err := rows.next()
		if err == io.EOF {
			return true, lastEnd, nil
		}
		if err != nil {
			return false, lastEnd, err
		}
		lastEnd = r.end
		if im.tr.covered(r.start) {
			continue
		}
		if stopping { // a stop after the last row is no interruption: this was not the last
			return false, lastEnd, nil
		}
		if reason := check(&r, im.cfg); reason != "" {
			im.rejects.write([]string{strconv.FormatInt(r.line, 10), reason, r.raw})
			im.tr.rejectedRow(r.place)
			continue
		}
		w := im.tr.expect(&r)
		if b == nil { // a dry run: valid is as far as it goes
			im.tr.settle([]yespo.Token{r.token}, nil)
			continue
		}
		if err := b.Add(ctx, r.token); err != nil {
			im.tr.forget(r.token, w)
			if ctx.Err() != nil {
				return false, lastEnd, nil
			}
			return false, lastEnd, err
		}
		if added++; probing && added == im.cfg.batch {
			probing = false
			_ = b.Flush(ctx) // its outcome reaches onBatch
		}
	}
}

// check normalises r's token if asked and says why it is invalid, or "".
// Unless -any-token, the token must be a Telegram chat id (see chatID).
// The hints name the tool's flags, not the library's functions.
func check(r *row, cfg config) string {
	if r.err != nil {
		return r.err.Error()
	}
	if cfg.anyToken {
		r.token.Token = strings.TrimSpace(r.token.Token)
	} else {
		id, why := chatID(r.token.Token, r.tokenNumber)
		if why != "" {
			return why
		}
		r.token.Token = id
	}
	if cfg.normalize {
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

func failedRecord(t yespo.Token, line int64, err error) []string {
	id := ""
	if t.ContactID != 0 {
		id = strconv.FormatInt(t.ContactID, 10)
	}
	return []string{strconv.FormatInt(line, 10), err.Error(), t.Token, id, t.ExternalCustomerID, t.Phone, t.Email}
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
