// Command import-subscribers uploads a bot's existing subscribers to Yespo,
// once, from a CSV file (with a header) or JSON lines, with the columns or
// keys token, contactId, externalCustomerId, phone and email — or the
// export's own names, mapped with -columns:
//
//	YESPO_API_KEY=... go run ./examples/import-subscribers -app UUID subscribers.csv
//	import-subscribers -app UUID -columns "chat_id=token,customer id=externalCustomerId" export.csv
//
// It streams the file through a yespo.Batcher, so memory does not grow with
// the file, at -rps requests per second (100 by default: half the account's
// 200, so that the bot itself keeps room on the same account), or within
// the account's budget shared through Redis (YESPO_REDIS_URL); the start
// line says which. Invalid rows go to <file>.rejects.csv with the line of
// the file and the reason, rows whose batch Yespo refused to
// <file>.failed.csv (which can be imported again as it is).
//
// A token must be a Telegram chat id — an optional '-', then digits, no
// '+', no leading zero, no space, under 2^52 in magnitude; in JSON lines a
// number must be integral and written without an exponent — unless
// -any-token: other rows are rejected. A CSV line with a quote that is not
// closed properly is rejected alone, and reading goes on with the next
// line: every row is counted once, sent, failed or rejected.
//
// It stops at once, exit 1, on an answer that no retry fixes — a refused
// key (401), a key without the right (403), an unknown app (404), a server
// that cannot be reached — and says what to check; those rows are not
// "failed": fix the cause and run the same command again.
//
// A checkpoint, <file>.checkpoint, names the app, the base URL and the
// input (size, time, a hash of its start) and holds the stretches of rows
// done — sent, rejected or failed — saved after every batch. Running the
// same command again after a stop, a Ctrl-C or a kill continues: it skips
// every row done, so a kill re-sends at most the batches in flight
// (-concurrency × -batch rows), and each rejected row is reported once. A
// run for another app or base URL, or over a changed file, is refused
// (exit 1) rather than skip rows that target never got: -restart starts
// over. The run that finishes the file reports on the whole file and
// removes the checkpoint. Ctrl-C stops reading, lets the requests in flight
// finish (1.5 s at most) and exits; a second Ctrl-C exits at once.
//
// It reads YESPO_API_KEY, YESPO_APP_UUID, YESPO_BASE_URL (refused, and not
// shown, with credentials in it) and YESPO_REDIS_URL. Without
// YESPO_API_KEY it refuses to run; -fake imports into an in-process fake
// Yespo (yespotest, keeping no history: its memory stays flat over
// millions of rows) instead, to try the tool; it keeps a checkpoint of its
// own, <file>.fake.checkpoint, which a real run never reads.
//
// Exit codes: 0 every row of the file sent; 2 some rows rejected, the rest
// sent; 3 some rows failed to send; 1 the import could not run or was
// stopped by an error; 130 interrupted with rows left.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"github.com/redis/go-redis/v9"
	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yesporedis"
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

const (
	// defaultRPS is half the account's documented 200 requests per second:
	// the bot registering /start and muting on the same account keeps the
	// other half, so neither sees 429s.
	defaultRPS = 100
	// assumedLatency sizes the requests in flight: rps × assumedLatency
	// keeps the rate up for answers up to this slow.
	assumedLatency = 500 * time.Millisecond
	// maxAutoConcurrency bounds the default of -concurrency (and so the
	// tokens held in memory, -batch × concurrency): 200 requests/s, the
	// account's limit, × assumedLatency.
	maxAutoConcurrency = 100
	// fakeConcurrency bounds it with -fake: the in-process fake answers at
	// once, so that a few requests in flight keep it busy, and the rows
	// read ahead for more (-batch × -concurrency) would only cost memory.
	fakeConcurrency = 8
	// interruptGrace is how long the requests in flight may take after
	// Ctrl-C (or a blocking error) before they are cancelled.
	interruptGrace = 1500 * time.Millisecond
)

func main() {
	ctx, interrupt := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		fmt.Fprintf(os.Stderr, "\nimport-subscribers: interrupted: reading stopped, waiting for the requests in flight (%v at most); Ctrl-C again quits at once\n", interruptGrace)
		interrupt()
		<-signals
		// The checkpoint on disk never covers an unconfirmed row: quitting
		// here loses nothing, the next run sends what was in flight.
		fmt.Fprintln(os.Stderr, "\nimport-subscribers: quit; run the same command again to resume")
		os.Exit(exitInterrupted)
	}()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// config is what the flags and the environment say.
type config struct {
	path, format, app, baseURL, apiKey string
	redisURL, redisFrom                string // redisFrom: "-redis" or "YESPO_REDIS_URL"
	baseFrom                           string // "-base-url" or "YESPO_BASE_URL"
	sep                                rune
	columns                            columns
	normalize, dryRun, fake, restart   bool
	anyToken                           bool
	batch, concurrency                 int
	rps                                float64
	rpsSet                             bool // -rps given, not the default
	progressEvery                      time.Duration
}

const usageHead = `usage: import-subscribers [flags] FILE.csv|FILE.jsonl [flags]

Imports a Telegram bot's subscribers into Yespo: each row a token (the chat
id) with at least one contact identifier. CSV needs a header naming the
columns token, contactId, externalCustomerId, phone, email (any order and
case; others are ignored); JSON lines use the same keys. An export with
its own names maps them with -columns, e.g. for the header
"chat_id,email,phone,customer id":
  -columns "chat_id=token,customer id=externalCustomerId"

A token must be a Telegram chat id: an optional "-", then digits; no "+",
no leading zero, no space; under 2^52 in magnitude. In JSON lines a string
reads the same way, and a number must be integral and written without an
exponent (1001 and 1001.0 are chat id 1001; 1e3 and 1001.5 are refused).
Other rows are rejected, with the reason; -any-token sends the tokens of
another app type as they are.

A CSV line with a quote that is not closed properly, on the line or on a
later one, is rejected alone: its record ends with the line, and the next
line is read as the next row. Every row is counted once in the summary:
sent, failed or rejected.

Environment: YESPO_API_KEY (required, unless -fake), YESPO_APP_UUID (or
-app), YESPO_BASE_URL (or -base-url; one with credentials, user:password@,
is refused, and not shown), YESPO_REDIS_URL (or -redis: share the account's
200 requests/s with the bot's processes through Redis; -rps then caps this
import within it).

Outputs: FILE.rejects.csv (invalid rows: the file's line, and why),
FILE.failed.csv (rows Yespo refused: import that file to retry them),
FILE.checkpoint (while unfinished: the app, base URL and input it is for,
and the rows done; run the same command again to resume, -restart to start
over). A -fake run keeps its own, FILE.fake.checkpoint, which a real run
never reads, and resumes from it the same way; -dry-run keeps none.

Exit codes: 0 all rows sent; 2 some rows rejected (a token that is not a
chat id included); 3 some rows failed to send; 1 could not run (a
checkpoint for another app, base URL or version of the file included), or
stopped by an error no retry fixes (wrong key, key rights, unknown app,
unreachable server); 130 interrupted.

Flags:
`

// usageError is a mistake in the command line: it is reported in one line
// with a pointer to -h, not with the whole usage.
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("import-subscribers", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by run, in one line
	cfg := config{apiKey: getenv("YESPO_API_KEY")}
	sep, cols := ",", ""
	fs.StringVar(&cfg.app, "app", getenv("YESPO_APP_UUID"), "Yespo app UUID of the bot (env YESPO_APP_UUID)")
	fs.StringVar(&cfg.baseURL, "base-url", getenv("YESPO_BASE_URL"), "Yespo API root, without credentials (env YESPO_BASE_URL; default "+yespo.DefaultBaseURL+")")
	fs.StringVar(&cfg.format, "format", "", `"csv" or "jsonl" (default: from the file name)`)
	fs.StringVar(&sep, "sep", sep, `CSV field separator: one character, or "tab"`)
	fs.StringVar(&cols, "columns", "", `the file's own names for the fields, as NAME=FIELD pairs separated by commas, e.g. "chat_id=token,customer id=externalCustomerId"; FIELD is token, contactId, externalCustomerId, phone or email; names in any case; a column named like a field that is mapped from another name is ignored; for JSON lines the keys`)
	fs.BoolVar(&cfg.normalize, "normalize", false, "clean up phones (+38 (050) 123-45-67 → +380501234567) and emails before validating")
	fs.BoolVar(&cfg.anyToken, "any-token", false, "send tokens that are not Telegram chat ids as they are (another app type's); without it their rows are rejected")
	fs.BoolVar(&cfg.dryRun, "dry-run", false, "validate only: write the rejects, send nothing")
	fs.BoolVar(&cfg.fake, "fake", false, "import into an in-process fake Yespo (yespotest) instead: nothing leaves this machine; rejects as in a real run, checkpoint in FILE.fake.checkpoint (a real run never reads it)")
	fs.BoolVar(&cfg.restart, "restart", false, "discard FILE.checkpoint (with -fake FILE.fake.checkpoint) and start from the first row (rows sent before are sent again; Yespo keeps a token once)")
	fs.IntVar(&cfg.batch, "batch", 500, "tokens per request")
	fs.StringVar(&cfg.redisURL, "redis", "", "Redis URL (redis://host:6379/0) through which this import shares the account's 200 requests/s with the bot; prefer env YESPO_REDIS_URL when it has a password")
	fs.Float64Var(&cfg.rps, "rps", defaultRPS, "requests per second at most (paced at 97 % of it, for network jitter); the account allows 200 in all, shared with the bot")
	fs.IntVar(&cfg.concurrency, "concurrency", 0, "requests in flight at most (default: rps × 0.5 s, at most 100: the full rate for answers up to 500 ms; with -fake at most 8); a kill re-sends at most concurrency × batch rows")
	fs.DurationVar(&cfg.progressEvery, "progress-every", 5*time.Second, "how often to log progress when stderr is not a terminal")
	files, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stderr)
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
		return cfg, err
	}
	if err != nil {
		return cfg, usageError{err}
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "rps":
			cfg.rpsSet = true
		case "redis":
			cfg.redisFrom = "-redis"
		case "base-url":
			cfg.baseFrom = "-base-url"
		}
	})
	if cfg.baseFrom == "" {
		cfg.baseFrom = "YESPO_BASE_URL"
	}
	if cfg.redisFrom == "" && getenv("YESPO_REDIS_URL") != "" {
		cfg.redisURL, cfg.redisFrom = getenv("YESPO_REDIS_URL"), "YESPO_REDIS_URL"
	}
	if len(files) != 1 {
		return cfg, usagef("give exactly one input file (got %d)", len(files))
	}
	cfg.path = files[0]
	if cfg.columns, err = parseColumns(cols); err != nil {
		return cfg, usageError{err}
	}
	if err := checkConfig(&cfg, sep); err != nil {
		return cfg, err
	}
	if !cfg.fake && !cfg.dryRun {
		if cfg.apiKey == "" {
			return cfg, errors.New("YESPO_API_KEY is not set: set it to a Yespo API key (your profile → Settings → API), or run with -fake to try the import against an in-process fake Yespo")
		}
		if cfg.app == "" {
			return cfg, errors.New("no app: set -app or YESPO_APP_UUID to the app_uuid Yespo shows for the bot")
		}
	}
	return cfg, nil
}

// parseInterspersed parses flags before and after the file names, as
// operators type them ("import-subscribers -fake subs.csv -rps 50"); after
// "--" everything is a file name.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return files, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(files, rest...), nil
		}
		files = append(files, rest[0])
		args = rest[1:]
	}
}

// checkConfig checks the values of the flags and fills in the defaults
// that depend on others.
func checkConfig(cfg *config, sep string) error {
	if cfg.format == "" {
		switch strings.ToLower(filepath.Ext(cfg.path)) {
		case ".jsonl", ".ndjson":
			cfg.format = "jsonl"
		default:
			cfg.format = "csv"
		}
	}
	switch {
	case strings.EqualFold(sep, "tab") || sep == `\t`:
		cfg.sep = '\t'
	case utf8.RuneCountInString(sep) == 1 && !strings.ContainsAny(sep, "\"\r\n") && sep != string(utf8.RuneError):
		cfg.sep, _ = utf8.DecodeRuneInString(sep)
	default:
		return usagef(`-sep %q: want one character (not a quote or a line break), or "tab"`, sep)
	}
	switch {
	case cfg.format != "csv" && cfg.format != "jsonl":
		return usagef(`-format %q: want "csv" or "jsonl"`, cfg.format)
	case cfg.batch < 1:
		return usagef("-batch must be at least 1")
	case !(cfg.rps > 0) || math.IsInf(cfg.rps, 0):
		return usagef("-rps must be a positive number")
	case cfg.concurrency < 0:
		return usagef("-concurrency must not be negative")
	case cfg.progressEvery <= 0:
		return usagef("-progress-every must be positive")
	}
	if cfg.baseURL != "" && !cfg.fake && !cfg.dryRun {
		if clean, ok := withoutUserinfo(cfg.baseURL); !ok {
			return fmt.Errorf("%s has credentials (user:password@) or an '@': leave them out, the API key goes in YESPO_API_KEY; without them it reads %q", cfg.baseFrom, clean)
		}
	}
	if cfg.redisURL != "" {
		if _, err := redis.ParseURL(cfg.redisURL); err != nil {
			return fmt.Errorf("%s: %w", cfg.redisFrom, err)
		}
	}
	if cfg.concurrency == 0 {
		cfg.concurrency = min(maxAutoConcurrency, int(math.Ceil(cfg.rps*assumedLatency.Seconds())))
		if cfg.fake {
			cfg.concurrency = min(cfg.concurrency, fakeConcurrency)
		}
	}
	return nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var usage usageError
	if errors.As(err, &usage) {
		fmt.Fprintf(stderr, "import-subscribers: %v (run with -h for help)\n", err)
		return exitError
	}
	if err != nil {
		fmt.Fprintln(stderr, "import-subscribers:", err)
		return exitError
	}
	code, err := importFile(ctx, cfg, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "import-subscribers:", err)
	}
	return code
}

// withoutUserinfo returns raw cut of what may be credentials — everything
// from its "//" (or its start) to its last '@' — and false, or raw and true
// when it has no '@'. Any '@' counts: in a password that holds a '/' or a
// '#', it is not where a URL parser looks, and the parser's error would
// quote the password.
func withoutUserinfo(raw string) (string, bool) {
	at := strings.LastIndexByte(raw, '@')
	if at < 0 {
		return raw, true
	}
	scheme := ""
	if i := strings.Index(raw[:at], "//"); i >= 0 {
		scheme = raw[:i+2]
	}
	return scheme + raw[at+1:], false
}

// newClient returns the client and app to import into: Yespo's, or with
// -fake an in-process fake's. Every request waits on limiter first. This is
// the one place where the client and its options are made.
func newClient(cfg config, limiter yespo.Limiter) (c *yespo.Client, app string, closeFn func(), err error) {
	opts := []yespo.Option{yespo.WithUserAgent("yespo-import-subscribers"), yespo.WithRateLimiter(limiter),
		yespo.WithAccountRate(cfg.rps)} // -rps states the budget: the pace starts there
	if !cfg.fake {
		if cfg.baseURL != "" {
			opts = append(opts, yespo.WithBaseURL(cfg.baseURL))
		}
		c, err := yespo.NewClient(cfg.apiKey, opts...)
		return c, cfg.app, func() {}, err
	}
	// Without history: the fake answers and forgets, so that its memory
	// stays flat however large the file.
	fake := yespotest.NewServer(yespotest.WithoutHistory())
	app = cfg.app
	if app == "" {
		app = fake.NewApp()
	} else if err := fake.RegisterApp(app); err != nil {
		fake.Close()
		return nil, "", nil, fmt.Errorf("-app: %w", err)
	}
	return fake.Client(opts...), app, fake.Close, nil
}

// paceMargin is the share of -rps the import paces at. Yespo counts
// requests in a window as they arrive; requests leave evenly spaced but
// arrive with the network's and the scheduler's jitter, so that pacing at
// exactly the limit gets a 429 now and then (about 1 % at 200/s).
const paceMargin = 0.97

// newLimiter paces this import at cfg.rps requests per second (less the
// margin), no bursts. With -redis it draws from the account's budget shared
// with the bot (accountBudgetKey, as the bot names it) and from a bulk
// ceiling of cfg.rps inside it, so that a bot on the same account keeps the
// rest of the 200 requests/s however fast the import runs. It returns the
// limiter and, for the start line, where the budget comes from.
func newLimiter(cfg config, log *slog.Logger) (yespo.Limiter, string) {
	n := strconv.FormatFloat(cfg.rps, 'f', -1, 64)
	rps := fmt.Sprintf("%s requests/s (-rps %s)", n, n)
	if !cfg.rpsSet {
		rps = fmt.Sprintf("%s requests/s (the default -rps: half the account's %d/s, the rest left to the bot)", n, accountRPS)
	}
	if cfg.redisURL == "" {
		return rate.NewLimiter(rate.Limit(cfg.rps*paceMargin), 1),
			"at most " + rps + ", counted by this process alone (YESPO_REDIS_URL shares the account's budget with the bot)"
	}
	ro, _ := redis.ParseURL(cfg.redisURL) // checked in parseFlags
	ro.ContextTimeoutEnabled = true       // a stuck Redis costs a Wait yesporedis's timeout, no more
	yesporedis.RouteRedisLogs(log)        // go-redis's own dial errors as Debug: the limiter says down and back
	budget := fmt.Sprintf("at most %s, within the account's %d requests/s shared through Redis at key %s on %s db %d (%s)",
		rps, accountRPS, accountBudgetKey, ro.Addr, ro.DB, cfg.redisFrom)
	return yesporedis.NewLimiter(redis.NewClient(ro), accountBudgetKey, accountRPS,
		yesporedis.WithCeiling(accountBudgetKey+":bulk", max(1, int(cfg.rps))), yesporedis.WithLogger(log)), budget
}

// accountBudgetKey names the account's budget in Redis, the same for every
// process on the account (the Telegram example uses it too); accountRPS is
// Yespo's documented limit per account.
const (
	accountBudgetKey = "yespo:account"
	accountRPS       = 200
)
