package yesporedis

import (
	"context"
	"encoding/json"
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

// bindScript records the target (ARGV[1], a targetRecord; ARGV[2] and
// ARGV[3] its app and base URL) in KEYS[2] unless one is there, and
// compares. A journal of another target whose stream (KEYS[1]) holds no
// entry is re-bound. All in one script: no Append slips in between the
// look at the stream and the new record.
var bindScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[2])
if not cur then
  redis.call('SET', KEYS[2], ARGV[1])
  return {'new'}
end
local ok, rec = pcall(cjson.decode, cur)
if not ok or type(rec) ~= 'table' then
  return {'junk', cur}
end
if rec['app_uuid'] == ARGV[2] and rec['base_url'] == ARGV[3] then
  return {'same'}
end
local n = redis.call('XLEN', KEYS[1])
if n == 0 then
  redis.call('SET', KEYS[2], ARGV[1])
  return {'rebound', cur}
end
return {'other', cur, n}
`)

// bind creates the stream and its group if need be, then records target in
// the target key unless one is there, and compares; an empty journal of
// another target is re-bound to this one, with a Warn record. The group
// comes first: the Append script takes the target key's presence as the
// sign that the group is there too.
func (j *Journal) bind(ctx context.Context, target yespo.JournalTarget) error {
	err := j.rdb.XGroupCreateMkStream(ctx, j.stream, j.opts.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("yesporedis: journal %s: creating the consumer group: %w", j.stream, err)
	}
	rec, _ := json.Marshal(targetRecord{target.AppUUID, target.BaseURL, entryFormat})
	v, err := bindScript.Run(ctx, j.rdb, []string{j.stream, j.target}, rec, target.AppUUID, target.BaseURL).Slice()
	if err != nil {
		return fmt.Errorf("yesporedis: journal %s: recording its target: %w", j.stream, err)
	}
	verdict, _ := v[0].(string)
	var got targetRecord
	if len(v) > 1 {
		raw, _ := v[1].(string)
		if err := json.Unmarshal([]byte(raw), &got); err != nil || verdict == "junk" {
			return fmt.Errorf("yesporedis: journal %s: %s is not a journal's target record (%v): refusing to use it", j.stream, j.target, err)
		}
	}
	switch verdict {
	case "new", "same":
		return nil
	case "rebound":
		j.opts.Logger.Warn("yesporedis: the journal held no tokens for its target; re-bound to this one",
			"journal", j.stream, "from_app", got.AppUUID, "from_base_url", got.BaseURL,
			"app", target.AppUUID, "base_url", target.BaseURL)
		return nil
	case "other":
		n, _ := v[2].(int64)
		return fmt.Errorf("%w: %s holds %d token(s) for app %s at %s, not for app %s at %s; "+
			"to deliver them, run against app %s at %s until the journal is empty; to drop them, delete the Redis key %s",
			yespo.ErrJournalTarget, j.stream, n, got.AppUUID, got.BaseURL, target.AppUUID, target.BaseURL,
			got.AppUUID, got.BaseURL, j.stream)
	}
	return fmt.Errorf("yesporedis: journal %s: recording its target: the script answered %v", j.stream, v)
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
