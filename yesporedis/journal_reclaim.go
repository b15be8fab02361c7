package yesporedis

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/yespo-go/yespo"
)

// Reclaim hands this process up to max entries no live process holds, in
// this order: entries appended for callers that had gone; this consumer's
// own entries from an earlier run (same Consumer name); entries no consumer
// read; entries of other consumers idle for ClaimIdle (XAUTOCLAIM), which a
// dead replica left. It returns each entry once per process, and an empty
// slice when there is nothing to take; an error when Redis cannot be
// reached. Entries of a newer format are left to replicas that know it.
func (j *Journal) Reclaim(ctx context.Context, max int) ([]yespo.JournalEntry, error) {
	if !j.isOpen() {
		return nil, fmt.Errorf("yesporedis: journal: Reclaim before Open")
	}
	ctx, cancel := context.WithTimeout(ctx, j.opts.Timeout)
	defer cancel()
	var out []yespo.JournalEntry
	for _, source := range []func(context.Context, int) ([]redis.XMessage, bool, error){
		j.takeOrphans, j.takeOwn, j.takeUnread, j.takeIdle,
	} {
		for len(out) < max {
			msgs, more, err := source(ctx, max-len(out))
			if err != nil && len(out) > 0 {
				return out, nil // held now: hand them over; the error comes back next time
			}
			if err != nil {
				return nil, fmt.Errorf("yesporedis: journal %s: reclaim: %w", j.stream, err)
			}
			out = append(out, j.keep(msgs)...)
			if !more {
				break
			}
		}
	}
	return out, nil
}

// keep decodes msgs, skipping those already held by this process, deleted
// or of another format, and holds the others.
func (j *Journal) keep(msgs []redis.XMessage) []yespo.JournalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []yespo.JournalEntry
	for _, m := range msgs {
		if _, held := j.held[m.ID]; held || len(m.Values) == 0 {
			continue
		}
		e, err := decodeEntry(m)
		if err != nil {
			j.warnOnce("yesporedis: journal: leaving entries this version cannot read to the replicas that can", "id", m.ID, "err", err.Error())
			continue
		}
		j.held[m.ID] = struct{}{}
		out = append(out, e)
	}
	return out
}

// decodeEntry reads an entry of format 1.
func decodeEntry(m redis.XMessage) (yespo.JournalEntry, error) {
	if v, _ := m.Values["v"].(string); v != entryFormat {
		return yespo.JournalEntry{}, fmt.Errorf("entry format %q, this version reads %q", v, entryFormat)
	}
	raw, _ := m.Values["token"].(string)
	var rec entryJSON
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		return yespo.JournalEntry{}, fmt.Errorf("entry %s: token: %w", m.ID, err)
	}
	ms, _ := m.Values["added"].(string)
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return yespo.JournalEntry{}, fmt.Errorf("entry %s: added %q", m.ID, ms)
	}
	return yespo.JournalEntry{ID: m.ID, Token: rec.Token, Payload: rec.Payload, Added: time.UnixMilli(n)}, nil
}

// takeOrphans reads the entries appended for callers that had gone.
func (j *Journal) takeOrphans(ctx context.Context, max int) ([]redis.XMessage, bool, error) {
	j.mu.Lock()
	ids := j.orphans[:min(max, len(j.orphans))]
	j.orphans = slices.Clone(j.orphans[len(ids):])
	j.mu.Unlock()
	var msgs []redis.XMessage
	for _, id := range ids {
		m, err := j.rdb.XRange(ctx, j.stream, id, id).Result()
		if err != nil {
			j.mu.Lock()
			j.orphans = append(j.orphans, ids...)
			j.mu.Unlock()
			return nil, false, err
		}
		msgs = append(msgs, m...)
	}
	return msgs, false, nil
}

// takeOwn reads this consumer's pending entries from the start, once per
// run: those an earlier run under the same name held.
func (j *Journal) takeOwn(ctx context.Context, max int) ([]redis.XMessage, bool, error) {
	j.mu.Lock()
	done, from := j.ownDone, j.ownFrom
	j.mu.Unlock()
	if done {
		return nil, false, nil
	}
	msgs, err := j.readGroup(ctx, from, max)
	if err != nil {
		return nil, false, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(msgs) == 0 {
		j.ownDone = true
		return nil, false, nil
	}
	j.ownFrom = msgs[len(msgs)-1].ID
	return msgs, true, nil
}

// takeUnread reads entries no consumer was given: none, if every writer
// appends through this package.
func (j *Journal) takeUnread(ctx context.Context, max int) ([]redis.XMessage, bool, error) {
	msgs, err := j.readGroup(ctx, ">", max)
	return msgs, len(msgs) == max, err
}

func (j *Journal) readGroup(ctx context.Context, from string, max int) ([]redis.XMessage, error) {
	res, err := j.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: j.opts.Group, Consumer: j.opts.Consumer,
		Streams: []string{j.stream, from}, Count: int64(max), Block: -1,
	}).Result()
	if err == redis.Nil || len(res) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return res[0].Messages, nil
}

// takeIdle claims entries idle for ClaimIdle, going on through the pending
// list from where the last call stopped.
func (j *Journal) takeIdle(ctx context.Context, max int) ([]redis.XMessage, bool, error) {
	j.mu.Lock()
	from := j.claimAt
	j.mu.Unlock()
	msgs, next, err := j.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: j.stream, Group: j.opts.Group, Consumer: j.opts.Consumer,
		MinIdle: j.opts.ClaimIdle, Start: from, Count: int64(max),
	}).Result()
	if err != nil {
		return nil, false, err
	}
	j.mu.Lock()
	j.claimAt = next
	j.mu.Unlock()
	return msgs, next != "0-0", nil
}

// Remove acknowledges and deletes the entries, so that the stream holds
// only what is not settled. Entries gone already are no error; Redis being
// unreachable is. Either way this process no longer holds them: an entry
// whose removal Redis did not take goes idle and is sent again, by some
// replica, and removed then, so that the stream stays bounded.
func (j *Journal) Remove(ctx context.Context, ids []string) error {
	ctx, cancel := context.WithTimeout(ctx, j.opts.Timeout)
	defer cancel()
	j.mu.Lock()
	for _, id := range ids {
		delete(j.held, id)
	}
	j.mu.Unlock()
	for chunk := range slices.Chunk(ids, maxAppendTokens) {
		_, err := j.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.XAck(ctx, j.stream, j.opts.Group, chunk...)
			p.XDel(ctx, j.stream, chunk...)
			return nil
		})
		if err != nil {
			return fmt.Errorf("yesporedis: journal %s: remove: %w", j.stream, err)
		}
	}
	return nil
}

// Stats returns the number of entries in the stream (held by any replica,
// or by none) and when the oldest was appended; an error when Redis cannot
// be reached.
func (j *Journal) Stats(ctx context.Context) (yespo.JournalStats, error) {
	ctx, cancel := context.WithTimeout(ctx, j.opts.Timeout)
	defer cancel()
	var n *redis.IntCmd
	var first *redis.XMessageSliceCmd
	_, err := j.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		n = p.XLen(ctx, j.stream)
		first = p.XRangeN(ctx, j.stream, "-", "+", 1)
		return nil
	})
	if err != nil {
		return yespo.JournalStats{}, fmt.Errorf("yesporedis: journal %s: stats: %w", j.stream, err)
	}
	st := yespo.JournalStats{Depth: int(n.Val())}
	if msgs := first.Val(); len(msgs) > 0 {
		if e, err := decodeEntry(msgs[0]); err == nil {
			st.Oldest = e.Added
		} else if ms, _, _ := strings.Cut(msgs[0].ID, "-"); ms != "" {
			n, _ := strconv.ParseInt(ms, 10, 64) // an entry of another format: its ID's time
			st.Oldest = time.UnixMilli(n)
		}
	}
	return st, nil
}

// refreshLoop keeps the entries this process holds from looking idle, every
// ClaimIdle/3, so that other replicas take only a dead process's entries.
// A refresh that fails (Redis down) is tried at the next tick: at worst,
// entries go idle and another replica sends them too.
func (j *Journal) refreshLoop() {
	defer j.loops.Done()
	tick := time.NewTicker(max(j.opts.ClaimIdle/3, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-tick.C:
		}
		j.mu.Lock()
		ids := make([]string, 0, len(j.held))
		for id := range j.held {
			ids = append(ids, id)
		}
		j.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), j.opts.Timeout)
		for chunk := range slices.Chunk(ids, maxAppendTokens) {
			err := j.rdb.XClaimJustID(ctx, &redis.XClaimArgs{
				Stream: j.stream, Group: j.opts.Group, Consumer: j.opts.Consumer, Messages: chunk,
			}).Err()
			if err != nil {
				break
			}
		}
		cancel()
	}
}
