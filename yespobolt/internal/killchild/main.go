//go:build unix

// Command killchild is the process the kill loop of yespobolt's tests
// SIGKILLs: it adds tokens through a Batcher on a yespobolt journal and
// prints each token on stdout once Add returned nil, so that the parent
// knows what the journal promised to keep. With -drain it adds nothing: it
// opens the Batcher (which sends what the journal holds), closes it and
// exits 0. With -fsize a file may grow to that many bytes only, as on a
// full disk: Adds fail once the journal cannot grow, and the child exits 3
// after the first failure. With -event TYPE each token is added with
// AddWithEvent and a follow-up event of that type (see welcome), and the
// line it prints is the token, a tab and the event as JSON; -every paces
// the Adds, so that the events, one a request on their own budget, keep up.
//
// Environment: YESPO_API_KEY, YESPO_BASE_URL, YESPO_APP_UUID.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespobolt"
)

func main() {
	path := flag.String("journal", "", "journal directory")
	prefix := flag.String("prefix", "1", "digits every token of this run starts with")
	n := flag.Int("n", 100000, "tokens to add")
	workers := flag.Int("workers", 8, "concurrent Add callers")
	drain := flag.Bool("drain", false, "add nothing: send what the journal holds, close")
	fsize := flag.Uint64("fsize", 0, "most bytes a file may grow to (0: no limit)")
	event := flag.String("event", "", "add each token with a follow-up event of this type")
	every := flag.Duration("every", 0, "at most one Add each this long, over all workers (0: no pacing)")
	flag.Parse()
	if *fsize > 0 { // a write beyond it fails with EFBIG instead of killing the process
		signal.Ignore(syscall.SIGXFSZ)
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: *fsize, Max: *fsize}); err != nil {
			fmt.Fprintln(os.Stderr, "killchild: setrlimit:", err)
			os.Exit(1)
		}
	}
	err := run(*path, *prefix, *n, *workers, *drain, adder{event: *event, every: *every})
	if errors.Is(err, errAddFailed) {
		os.Exit(3)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "killchild:", err)
		os.Exit(1)
	}
}

// errAddFailed is run's error once an Add failed.
var errAddFailed = errors.New("an Add failed")

func run(path, prefix string, n, workers int, drain bool, add adder) error {
	j, err := yespobolt.Open(path)
	if err != nil {
		return err
	}
	defer j.Close()
	c, err := yespo.NewClient(os.Getenv("YESPO_API_KEY"), yespo.WithBaseURL(os.Getenv("YESPO_BASE_URL")),
		yespo.WithRetry(2, time.Millisecond, 20*time.Millisecond))
	if err != nil {
		return err
	}
	b, err := c.NewBatcher(os.Getenv("YESPO_APP_UUID"), yespo.BatcherOptions{Journal: j, MaxBatch: 50, FlushInterval: 10 * time.Millisecond})
	if err != nil {
		return err
	}
	if drain {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			return err
		}
		st := b.Stats()
		fmt.Printf("drained %d reclaimed, %d sent, %d events sent, %d events failed, journal depth %d\n",
			st.Reclaimed, st.Sent, st.EventsSent, st.EventsFailed, st.JournalDepth)
		return nil
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	var failed atomic.Bool
	add.start()
	defer add.stop()
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n && !failed.Load(); i += workers {
				tok := fmt.Sprintf("%s%07d", prefix, i)
				line, err := add.add(b, tok, i)
				if err != nil {
					fmt.Fprintln(os.Stderr, "add:", err)
					failed.Store(true)
					continue
				}
				out.Lock()
				fmt.Println(line) // one write per line: the parent sees it before a SIGKILL can land
				out.Unlock()
			}
		})
	}
	wg.Wait()
	if failed.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		began := time.Now()
		err := b.Close(ctx) // the tokens are in the parent's hands: the journal
		fmt.Fprintf(os.Stderr, "closed in %v: %v\n", time.Since(began).Round(time.Millisecond), err)
		return errAddFailed
	}
	return b.Close(context.Background())
}
