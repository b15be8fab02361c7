package main

import (
	"context"
	"log/slog"

	"github.com/yespo-go/yespo"
)

// journal is where the Batcher keeps the tokens it accepted until Yespo has
// them: an embedded file for one process (-journal, YESPO_JOURNAL), or a
// Redis stream the replicas share (YESPO_REDIS_URL).
type journal struct {
	j      yespo.Journal
	where  string       // for the logs: the file, or "redis"
	closer func() error // releases it, after the Batcher closed
}

// defaultJournal is the journal file when neither -journal nor YESPO_JOURNAL
// names one: in the working directory (in a container, put it on a volume).
const defaultJournal = "telegram-bot.journal"

// The journal constructors: journal_bolt.go and journal_redis.go set them.
// Nil leaves the bot without that kind of journal.
var (
	openFileJournal  func(path string) (yespo.Journal, func() error, error)
	openRedisJournal func(ctx context.Context, cfg config, log *slog.Logger) (yespo.Journal, func() error, error)
)

// openJournal opens the journal cfg names: the Redis one when
// YESPO_REDIS_URL is set (YESPO_JOURNAL is then ignored), else the file. It
// returns nil, nil when this build has no journal of that kind.
func openJournal(ctx context.Context, cfg config, log *slog.Logger) (*journal, error) {
	if cfg.redisURL != "" && openRedisJournal != nil {
		j, closer, err := openRedisJournal(ctx, cfg, log)
		if err != nil {
			return nil, err
		}
		if cfg.journalPath != "" && cfg.journalSet {
			log.Warn("YESPO_JOURNAL/-journal is ignored: the replicas share the Redis journal", "ignored", cfg.journalPath)
		}
		log.Info("journal: redis (shared by the replicas)")
		return &journal{j: j, where: "redis", closer: closer}, nil
	}
	if openFileJournal == nil || cfg.journalPath == "" {
		log.Warn("no journal: tokens are kept in memory until Yespo has them; a crash loses those not sent yet")
		return nil, nil
	}
	j, closer, err := openFileJournal(cfg.journalPath)
	if err != nil {
		return nil, err
	}
	log.Info("journal: file", "path", cfg.journalPath)
	return &journal{j: j, where: cfg.journalPath, closer: closer}, nil
}

// close releases the journal; nil-safe.
func (j *journal) close(log *slog.Logger) {
	if j == nil || j.closer == nil {
		return
	}
	if err := j.closer(); err != nil {
		log.Error("journal: close", "journal", j.where, "err", err)
	}
}
