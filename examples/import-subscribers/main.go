// Command import-subscribers uploads a bot's existing subscribers to Yespo,
// once, from a CSV file (with a header) or JSON lines, with the columns or
// keys token, contactId, externalCustomerId, phone and email:
//
//	go run ./examples/import-subscribers -app UUID subscribers.csv
//
// It streams the file through a yespo.Batcher, so memory does not grow with
// the file. Invalid rows go to <file>.rejects.csv with the reason, rows whose
// batch failed to <file>.failed.csv (which can be imported again as it is).
// A checkpoint, <file>.checkpoint, lets a run that was killed start again
// where it stopped, re-sending at most the batches that were in flight; it is
// removed when a run ends. Ctrl-C sends what was read and stops cleanly.
//
// It reads YESPO_API_KEY, YESPO_APP_UUID and YESPO_BASE_URL; without
// YESPO_API_KEY it runs against an in-process fake Yespo and says so.
//
// Exit codes: 0 all rows sent; 2 some rows rejected, the rest sent; 3 some
// rows failed to send; 1 the import could not run; 130 interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespotest"
)

// Exit codes.
const (
	exitOK          = 0
	exitError       = 1
	exitRejects     = 2
	exitFailures    = 3
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// config is what the flags and the environment say.
type config struct {
	path, format, app, baseURL, apiKey string
	normalize, dryRun                  bool
	batch, concurrency                 int
	progressEvery                      time.Duration
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("import-subscribers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: import-subscribers [flags] FILE.csv|FILE.jsonl")
		fs.PrintDefaults()
	}
	cfg := config{apiKey: getenv("YESPO_API_KEY")}
	fs.StringVar(&cfg.app, "app", getenv("YESPO_APP_UUID"), "Yespo app UUID (env YESPO_APP_UUID)")
	fs.StringVar(&cfg.baseURL, "base-url", getenv("YESPO_BASE_URL"), "Yespo API root (env YESPO_BASE_URL)")
	fs.StringVar(&cfg.format, "format", "", `"csv" or "jsonl" (default: from the file name)`)
	fs.BoolVar(&cfg.normalize, "normalize", false, "apply yespo.NormalizePhone and NormalizeEmail before validating")
	fs.BoolVar(&cfg.dryRun, "dry-run", false, "validate only: write the rejects, send nothing")
	fs.IntVar(&cfg.batch, "batch", 500, "tokens per request")
	fs.IntVar(&cfg.concurrency, "concurrency", 2, "requests in flight")
	fs.DurationVar(&cfg.progressEvery, "progress-every", 5*time.Second, "how often to log progress when not on a terminal")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return cfg, errors.New("give exactly one input file")
	}
	cfg.path = fs.Arg(0)
	if cfg.format == "" {
		switch strings.ToLower(filepath.Ext(cfg.path)) {
		case ".jsonl", ".ndjson":
			cfg.format = "jsonl"
		default:
			cfg.format = "csv"
		}
	}
	return cfg, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, getenv, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "import-subscribers:", err)
		}
		return exitError
	}
	code, err := importFile(ctx, cfg, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "import-subscribers:", err)
	}
	return code
}

// client returns the Yespo client and app, or an in-process fake's.
func client(cfg config, stdout io.Writer) (*yespo.Client, string, func(), error) {
	if cfg.apiKey != "" {
		if cfg.app == "" {
			return nil, "", nil, errors.New("set -app or YESPO_APP_UUID")
		}
		opts := []yespo.Option{yespo.WithUserAgent("yespo-import-subscribers")}
		if cfg.baseURL != "" {
			opts = append(opts, yespo.WithBaseURL(cfg.baseURL))
		}
		c, err := yespo.NewClient(cfg.apiKey, opts...)
		return c, cfg.app, func() {}, err
	}
	fake := yespotest.NewServer()
	app := cfg.app
	if app == "" {
		app = fake.NewApp()
	} else if err := fake.RegisterApp(app); err != nil {
		fake.Close()
		return nil, "", nil, fmt.Errorf("-app: %w", err)
	}
	fmt.Fprintln(stdout, "No YESPO_API_KEY: importing into an in-process fake Yespo (yespotest); nothing leaves this machine.")
	return fake.Client(), app, fake.Close, nil
}
