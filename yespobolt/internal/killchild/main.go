// Command killchild is the process the kill loop of yespobolt's tests
// SIGKILLs: it adds tokens through a Batcher on a yespobolt journal and
// prints each token on stdout once Add returned nil, so that the parent
// knows what the journal promised to keep. With -drain it adds nothing: it
// opens the Batcher (which sends what the journal holds), closes it and
// exits 0.
//
// Environment: YESPO_API_KEY, YESPO_BASE_URL, YESPO_APP_UUID.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespobolt"
)

func main() {
	path := flag.String("journal", "", "journal file")
	prefix := flag.String("prefix", "1", "digits every token of this run starts with")
	n := flag.Int("n", 100000, "tokens to add")
	workers := flag.Int("workers", 8, "concurrent Add callers")
	drain := flag.Bool("drain", false, "add nothing: send what the journal holds, close")
	flag.Parse()
	if err := run(*path, *prefix, *n, *workers, *drain); err != nil {
		fmt.Fprintln(os.Stderr, "killchild:", err)
		os.Exit(1)
	}
}

func run(path, prefix string, n, workers int, drain bool) error {
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
		fmt.Printf("drained %d reclaimed, %d sent, journal depth %d\n", st.Reclaimed, st.Sent, st.JournalDepth)
		return nil
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				tok := fmt.Sprintf("%s%07d", prefix, i)
				err := b.Add(context.Background(), yespo.Token{Token: tok, ExternalCustomerID: "c-" + tok})
				if err != nil {
					fmt.Fprintln(os.Stderr, "add:", err)
					continue
				}
				out.Lock()
				fmt.Println(tok) // one write per line: the parent sees it before a SIGKILL can land
				out.Unlock()
			}
		})
	}
	wg.Wait()
	return b.Close(context.Background())
}
