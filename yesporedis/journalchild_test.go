package yesporedis_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yesporedis"
)

// killLoopKey is the Redis journal the kill loop's replicas share.
const killLoopKey = "yespo:journal:killloop"

// journalChild is a bot replica of the kill loop: a Batcher on the shared
// Redis journal, sending to the fake Yespo at YR_YESPO (key YR_APIKEY, app
// YR_APP), with two goroutines adding tokens named after YR_ID until stdin
// says "stop". It prints "ok <token>" for every Add that returned nil, and
// "stopped" when it no longer adds; when stdin closes it closes the Batcher
// and exits.
func journalChild() {
	yesporedis.QuietRedisLogs()
	fail := func(err error) { fmt.Fprintln(os.Stderr, "child:", err); os.Exit(2) }
	rdb := redis.NewClient(&redis.Options{Addr: env("YR_REDIS")})
	j, err := yesporedis.NewJournal(rdb, yesporedis.JournalOptions{Key: killLoopKey, ClaimIdle: 500 * time.Millisecond, Timeout: 2 * time.Second})
	if err != nil {
		fail(err)
	}
	c, err := yespo.NewClient(env("YR_APIKEY"), yespo.WithBaseURL(env("YR_YESPO")), yespo.WithRetry(3, time.Millisecond, 20*time.Millisecond))
	if err != nil {
		fail(err)
	}
	b, err := c.NewBatcher(env("YR_APP"), yespo.BatcherOptions{Journal: j, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		fail(err)
	}
	fmt.Println("ready")

	ctx, stop := context.WithCancel(context.Background())
	var out sync.Mutex
	var adders sync.WaitGroup
	for g := range 2 {
		adders.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				tok := fmt.Sprintf("%s-%d-%d", env("YR_ID"), g, i)
				if b.Add(ctx, yespo.Token{Token: tok, Email: tok + "@example.com"}) == nil {
					out.Lock()
					fmt.Println("ok", tok)
					out.Unlock()
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() && in.Text() != "stop" {
	}
	stop()
	adders.Wait()
	fmt.Println("stopped")
	for in.Scan() {
	}
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Close(cctx); err != nil {
		fmt.Fprintln(os.Stderr, "child: close:", err)
	}
	_ = j.Close()
	_ = rdb.Close()
}
