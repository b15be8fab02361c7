package yesporedis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/yespo-go/yespo"
)

// targetRecord is what the target key holds: the journal's app and API
// root, and the entry format its writers started with.
type targetRecord struct {
	AppUUID string `json:"app_uuid"`
	BaseURL string `json:"base_url"`
	Format  string `json:"format"`
}

// bind creates the stream and its group if need be, then records target in
// the target key unless one is there, and compares. The group comes first:
// the Append script takes the target key's presence as the sign that the
// group is there too.
func (j *Journal) bind(ctx context.Context, target yespo.JournalTarget) error {
	err := j.rdb.XGroupCreateMkStream(ctx, j.stream, j.opts.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("yesporedis: journal %s: creating the consumer group: %w", j.stream, err)
	}
	rec, _ := json.Marshal(targetRecord{target.AppUUID, target.BaseURL, entryFormat})
	if err := j.rdb.SetNX(ctx, j.target, rec, 0).Err(); err != nil {
		return fmt.Errorf("yesporedis: journal %s: recording its target: %w", j.stream, err)
	}
	raw, err := j.rdb.Get(ctx, j.target).Bytes()
	if errors.Is(err, redis.Nil) {
		return fmt.Errorf("yesporedis: journal %s: its target record vanished while opening", j.stream)
	}
	if err != nil {
		return fmt.Errorf("yesporedis: journal %s: reading its target: %w", j.stream, err)
	}
	var got targetRecord
	if err := json.Unmarshal(raw, &got); err != nil {
		return fmt.Errorf("yesporedis: journal %s: %s is not a journal's target record (%v): refusing to use it", j.stream, j.target, err)
	}
	if got.AppUUID != target.AppUUID || got.BaseURL != target.BaseURL {
		return fmt.Errorf("%w: %s holds tokens for app %s at %s, not for app %s at %s", yespo.ErrJournalTarget,
			j.stream, got.AppUUID, got.BaseURL, target.AppUUID, target.BaseURL)
	}
	return nil
}

// checkSettings warns when Redis may lose what it acknowledged: without an
// append-only file, an XADD acknowledged is lost by a restart; with a
// maxmemory-policy other than noeviction, Redis may evict the stream when
// full. Where CONFIG is not allowed (managed Redis), it warns that it could
// not check.
func (j *Journal) checkSettings(ctx context.Context) {
	cfg, err := j.rdb.ConfigGet(ctx, "appendonly").Result()
	if err == nil {
		var pol map[string]string
		if pol, err = j.rdb.ConfigGet(ctx, "maxmemory-policy").Result(); err == nil {
			cfg["maxmemory-policy"] = pol["maxmemory-policy"]
		}
	}
	switch {
	case err != nil:
		j.warnOnce("yesporedis: journal: cannot read Redis's settings; make sure it runs with appendonly yes and maxmemory-policy noeviction, or a restart or a full memory loses accepted tokens",
			"err", err.Error())
	case cfg["appendonly"] != "yes":
		j.warnOnce("yesporedis: journal: Redis runs without appendonly: a restart of Redis loses the tokens the journal holds; set appendonly yes",
			"appendonly", cfg["appendonly"])
	}
	if p, ok := cfg["maxmemory-policy"]; ok && p != "noeviction" {
		j.warnOnce("yesporedis: journal: Redis may evict keys when its memory is full, the journal's among them; set maxmemory-policy noeviction",
			"maxmemory-policy", p)
	}
}
