package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yesporedis"
)

// The journal the replicas share, on Redis Streams (yesporedis): each
// replica is a consumer of one group, and takes over what a dead one held.
func init() {
	openRedisJournal = func(_ context.Context, cfg config, log *slog.Logger) (yespo.Journal, func() error, error) {
		ro, err := redis.ParseURL(cfg.redisURL) // checked in validate
		if err != nil {
			return nil, nil, err
		}
		ro.ContextTimeoutEnabled = true
		rdb := redis.NewClient(ro)
		j, err := yesporedis.NewJournal(rdb, yesporedis.JournalOptions{Key: redisJournalKey(cfg), Logger: log})
		if err != nil {
			_ = rdb.Close()
			return nil, nil, err
		}
		return j, func() error { return errors.Join(j.Close(), rdb.Close()) }, nil
	}
}

// redisJournalKey names the bot's journal in Redis: one per app, shared by
// every replica of the bot.
func redisJournalKey(cfg config) string { return "yespo:journal:telegram-bot:" + cfg.appUUID }
