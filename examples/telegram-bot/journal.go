package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/yespo-go/yespo"
)

// journal is where the Batcher keeps the tokens it accepted until Yespo has
// them: an embedded one, a directory, for one process (-journal,
// YESPO_JOURNAL), or a Redis stream the replicas share (YESPO_REDIS_URL).
type journal struct {
	j      yespo.Journal
	where  string       // for the logs: the directory, or "redis"
	file   bool         // where is a directory on this machine
	closer func() error // releases it, after the Batcher closed
}

// defaultJournal is the journal directory when neither -journal nor
// YESPO_JOURNAL names one: in the working directory (in a container, put it
// on a volume).
const defaultJournal = "telegram-bot.journal"

// The journal constructors, each in a file of its own with its dependency:
// journal_bolt.go and journal_redis.go. log gets the journal's own records
// (an empty journal re-bound to another app).
var (
	openFileJournal  func(path string, log *slog.Logger) (yespo.Journal, func() error, error)
	openRedisJournal func(ctx context.Context, cfg config, log *slog.Logger) (yespo.Journal, func() error, error)
)

// openJournal opens the journal cfg names: the Redis one when
// YESPO_REDIS_URL is set (YESPO_JOURNAL is then ignored), else the
// embedded one.
func openJournal(ctx context.Context, cfg config, log *slog.Logger) (*journal, error) {
	if cfg.redisURL != "" {
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
	path := cmpOr(cfg.journalPath, defaultJournal)
	j, closer, err := openFileJournal(path, log)
	if err != nil {
		return nil, err
	}
	log.Info("journal: embedded", "path", path)
	return &journal{j: j, where: path, file: true, closer: closer}, nil
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

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// writable checks that the journal's parent directory still takes a write
// and a sync (a volume gone, remounted read-only or full fails it): an open
// journal would go on to fail only at the next write. A Redis journal's
// check is its Stats.
func (j *journal) writable() error {
	if !j.file {
		return nil
	}
	probe := j.where + ".ready"
	f, err := os.OpenFile(probe, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err == nil {
		_, err = f.Write([]byte("ok\n"))
		if errSync := f.Sync(); err == nil {
			err = errSync
		}
		if errClose := f.Close(); err == nil {
			err = errClose
		}
		_ = os.Remove(probe)
	}
	if err != nil {
		return fmt.Errorf("journal %s: its directory takes no writes: %w", j.where, err)
	}
	return nil
}
