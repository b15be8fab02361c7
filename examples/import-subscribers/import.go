package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/yespo-go/yespo"
)

// importFile runs one import, or the rest of one, and returns the exit code.
func importFile(ctx context.Context, cfg config, stdout, stderr io.Writer) (int, error) {
	info, err := os.Stat(cfg.path)
	if err != nil {
		return exitError, err
	}
	cpPath := cfg.path + ".checkpoint"
	start, err := loadCheckpoint(cpPath, info)
	if err != nil {
		return exitError, err
	}
	if start.Row > 0 {
		fmt.Fprintf(stdout, "Resuming after row %d, from %s.\n", start.Row, cpPath)
	}
	rejects, err := openOut(cfg.path+".rejects.csv", []string{"row", "reason", "record"}, start.Row)
	if err != nil {
		return exitError, err
	}
	defer rejects.close()
	failed, err := openOut(cfg.path+".failed.csv", []string{"row", "error", "token", "contactId", "externalCustomerId", "phone", "email"}, start.Row)
	if err != nil {
		return exitError, err
	}
	defer failed.close()
	rows, closer, err := openRows(cfg.path, cfg.format, start.Offset, start.Row+1)
	if err != nil {
		return exitError, err
	}
	defer closer.Close()

	tr := newTracker(start, func(r *row, err error) { failed.write(failedRecord(r, err)) })
	var b *yespo.Batcher
	if !cfg.dryRun {
		c, app, closeFake, err := client(cfg, stdout)
		if err != nil {
			return exitError, err
		}
		defer closeFake()
		if b, err = c.NewBatcher(app, yespo.BatcherOptions{MaxBatch: cfg.batch, Concurrency: cfg.concurrency, OnBatch: tr.batch}); err != nil {
			return exitError, err
		}
	}
	save := func() error {
		row, offset := tr.watermark()
		if err := rejects.flush(); err != nil {
			return err
		}
		if err := failed.flush(); err != nil {
			return err
		}
		return checkpoint{Row: row, Offset: offset, InputSize: info.Size(), InputTime: info.ModTime()}.save(cpPath)
	}
	stopSaving := every(250*time.Millisecond, save)
	prog := newProgress(stderr, info.Size(), cfg.progressEvery, tr)

	readErr := feed(ctx, rows, b, tr, rejects, cfg.normalize, prog)
	if b != nil {
		// Whatever was read goes out, even after Ctrl-C; a second signal or
		// two minutes end the wait, and what is left is reported failed.
		closeCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		_ = b.Close(closeCtx)
		cancel()
	}
	stopSaving()
	prog.finish()
	if err := save(); err != nil {
		return exitError, err
	}
	sent, failedN, rejectedN := tr.counts()
	verb := "sent"
	if cfg.dryRun {
		verb = "valid"
	}
	fmt.Fprintf(stdout, "%d rows %s, %d failed, %d rejected.\n", sent, verb, failedN, rejectedN)
	switch {
	case readErr != nil:
		return exitError, fmt.Errorf("%w (progress is saved: run again to resume)", readErr)
	case ctx.Err() != nil:
		row, _ := tr.watermark()
		fmt.Fprintf(stdout, "Interrupted after row %d: run the same command again to resume.\n", row)
		return exitInterrupted, nil
	}
	_ = os.Remove(cpPath)
	if failedN > 0 {
		fmt.Fprintf(stdout, "Failed rows are in %s; import that file to retry them.\n", failed.path)
		return exitFailures, nil
	}
	if rejectedN > 0 {
		fmt.Fprintf(stdout, "Rejected rows and why are in %s.\n", rejects.path)
		return exitRejects, nil
	}
	return exitOK, nil
}

// feed reads rows until the end, an error or ctx's end, and hands each valid
// one to b (nil in a dry run).
func feed(ctx context.Context, rows rowReader, b *yespo.Batcher, tr *tracker, rejects *csvOut, normalize bool, prog *progress) error {
	for ctx.Err() == nil {
		r, err := rows.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		rw := &r
		prog.read(rw.end)
		if reason := check(rw, normalize); reason != "" {
			rejects.write([]string{strconv.FormatInt(rw.seq, 10), reason, rw.raw})
			tr.rejectedRow(rw)
			continue
		}
		tr.expect(rw)
		if b == nil { // a dry run: valid is as far as it goes
			tr.batch(yespo.BatchResult{Tokens: []yespo.Token{rw.token}})
			continue
		}
		if err := b.Add(ctx, rw.token); err != nil {
			tr.forget(rw)
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}

// check normalises r's token if asked and says why it is invalid, or "".
func check(r *row, normalize bool) string {
	if r.err != nil {
		return r.err.Error()
	}
	if normalize {
		var err error
		if r.token.Phone != "" {
			if r.token.Phone, err = yespo.NormalizePhone(r.token.Phone); err != nil {
				return strings.TrimPrefix(err.Error(), "yespo: ")
			}
		}
		if r.token.Email != "" {
			if r.token.Email, err = yespo.NormalizeEmail(r.token.Email); err != nil {
				return strings.TrimPrefix(err.Error(), "yespo: ")
			}
		}
	}
	if err := r.token.Validate(); err != nil {
		return strings.ReplaceAll(strings.ReplaceAll(err.Error(), "yespo: ", ""), "\n", "; ")
	}
	return ""
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
