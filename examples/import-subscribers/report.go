package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

// report says how the run ended, on stdout (and a blocking error on
// stderr), and returns the exit code: a run that stopped short, or one
// that finished the file with its totals over every run of it.
func (im *importer) report(ctx context.Context, eof bool, lastEnd int64, readErr error, stdout, stderr io.Writer) (int, error) {
	st := im.tr.state()
	complete := eof && len(st.spans) == 0 && st.prefix.End == lastEnd
	sofar := ""
	if im.resumed || !complete {
		sofar = fmt.Sprintf("; over the whole file so far %s", st.done)
	}
	switch blocked := im.blockedErr(); {
	case blocked != nil:
		fmt.Fprintln(stderr, blockedMessage(blocked, im.cfg))
		fmt.Fprintf(stdout, "Stopped: %s in this run%s. Fix the cause and run the same command again to continue.\n", st.run, sofar)
		return exitError, nil
	case readErr != nil:
		fmt.Fprintf(stdout, "Stopped: %s in this run%s.\n", st.run, sofar)
		return exitError, fmt.Errorf("%w (progress is saved: run again to resume)", readErr)
	case !complete && ctx.Err() != nil && im.cpPath == "":
		fmt.Fprintf(stdout, "Interrupted: %s in this run (a dry run keeps no checkpoint).\n", st.run)
		return exitInterrupted, nil
	case !complete && ctx.Err() != nil:
		fmt.Fprintf(stdout, "Interrupted: %s in this run%s. Run the same command again to resume.\n", st.run, sofar)
		return exitInterrupted, nil
	case !complete:
		fmt.Fprintf(stdout, "Stopped: %s in this run%s.\n", st.run, sofar)
		return exitError, fmt.Errorf("some rows were not confirmed: run the same command again to send them")
	}
	if im.cpPath != "" {
		_ = os.Remove(im.cpPath)
	}
	im.summary(stdout, st.done, st.run)
	switch {
	case st.done.Failed > 0:
		return exitFailures, nil
	case st.done.Rejected > 0:
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
	if im.resumed {
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
		fmt.Fprintf(stdout, "Rejected rows (by line of the file) and why are in %s.\n", im.rejects.path)
	}
}
