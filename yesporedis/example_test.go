package yesporedis_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yesporedis"
)

// Every replica of the bot creates the same limiter: they share 200
// requests per second through Redis.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer rdb.Close()
	lim := yesporedis.NewLimiter(rdb, "yespo:acct-42", 200)
	client, err := yespo.NewClient(os.Getenv("YESPO_API_KEY"), yespo.WithRateLimiter(lim))
	if err != nil {
		log.Fatal(err)
	}
	_ = client.MuteAppToken(context.Background(), "0b9c7e0e-4c1a-4e8f-a1d2-3f4e5a6b7c8d", "123456789", 0)
}

// An import takes at most 120 of the account's 200 requests per second,
// whatever its concurrency; the live bot's limiter, without a ceiling,
// always finds the rest.
func ExampleWithCeiling() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer rdb.Close()
	bulk := yesporedis.NewLimiter(rdb, "yespo:acct-42", 200, yesporedis.WithCeiling("yespo:acct-42:bulk", 120))
	live := yesporedis.NewLimiter(rdb, "yespo:acct-42", 200)
	importer, _ := yespo.NewClient(os.Getenv("YESPO_API_KEY"), yespo.WithRateLimiter(bulk))
	bot, _ := yespo.NewClient(os.Getenv("YESPO_API_KEY"), yespo.WithRateLimiter(live))
	_, _ = importer, bot
}

// With no Redis to be found, Wait still lets calls through, at the fallback
// share of the rate, and the limiter says so once.
func ExampleLimiter_Wait_withoutRedis() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}) // nothing listens there
	defer rdb.Close()
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "err" || a.Key == "probe_every" {
				return slog.Attr{} // keep the output the same on every run
			}
			return a
		},
	}))
	lim := yesporedis.NewLimiter(rdb, "yespo:acct-42", 200, yesporedis.WithLogger(logger))
	for range 3 {
		if err := lim.Wait(context.Background()); err != nil {
			fmt.Println(err)
		}
	}
	fmt.Println("3 calls let through")
	// Output:
	// level=WARN msg="yesporedis: Redis unreachable, pacing with the local fallback limiter" key=yespo:acct-42
	// 3 calls let through
}

// At start-up, before anything uses Redis: go-redis's own lines (one per
// failed dial) become Debug records of the bot's logger, so that an outage
// of Redis shows at Info as the Limiter's two records, down and back.
func ExampleRouteRedisLogs() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	yesporedis.RouteRedisLogs(logger)
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer rdb.Close()
	lim := yesporedis.NewLimiter(rdb, "yespo:acct-42", 200, yesporedis.WithLogger(logger))
	_ = lim
}

// Every replica of the bot opens the same journal: a token Add accepted is
// in Redis, and if the replica dies before Yespo has it, another one sends
// it.
func ExampleNewJournal() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer rdb.Close()
	j, err := yesporedis.NewJournal(rdb, yesporedis.JournalOptions{Key: "yespo:journal:bot"})
	if err != nil {
		log.Fatal(err)
	}
	defer j.Close() // after the Batcher's Close
	client, err := yespo.NewClient(os.Getenv("YESPO_API_KEY"), yespo.WithRateLimiter(yesporedis.NewLimiter(rdb, "yespo:acct-42", 200)))
	if err != nil {
		log.Fatal(err)
	}
	b, err := client.NewBatcher("0b9c7e0e-4c1a-4e8f-a1d2-3f4e5a6b7c8d", yespo.BatcherOptions{Journal: j})
	if err != nil {
		log.Fatal(err) // Redis unreachable, or the journal is another app's
	}
	defer b.Close(context.Background())
	if err := b.Add(context.Background(), yespo.Token{Token: "123456789", Email: "user@example.com"}); err != nil {
		log.Print(err) // not kept: tell the user to try again
	}
}
