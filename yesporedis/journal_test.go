package yesporedis_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yesporedis"
	"github.com/yespo-go/yespo/yesporedis/redistest"
	"github.com/yespo-go/yespo/yespotest"
)

var testTarget = yespo.JournalTarget{AppUUID: testAppUUID, BaseURL: "http://127.0.0.1:1/api/"}

// openJournal returns an open journal on rdb, closed when the test ends.
func openJournal(t *testing.T, rdb redis.UniversalClient, opts yesporedis.JournalOptions) *yesporedis.Journal {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	j, err := yesporedis.NewJournal(rdb, opts)
	require.NoError(t, err)
	require.NoError(t, j.Open(context.Background(), testTarget))
	t.Cleanup(func() { _ = j.Close() })
	return j
}

func journalTokens(n int, tag string) []yespo.Token {
	out := make([]yespo.Token, n)
	for i := range out {
		out[i] = yespo.Token{Token: fmt.Sprintf("%s-%d", tag, i), Email: fmt.Sprintf("%s%d@example.com", tag, i)}
	}
	return out
}

func TestJournalAppendRemoveStats(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	j := openJournal(t, rs.Client(), yesporedis.JournalOptions{})
	toks := journalTokens(3, "a")
	before := time.Now().Add(-time.Second)
	entries, err := j.Append(ctx, recs(toks...))
	require.NoError(t, err)
	require.Len(t, entries, 3)
	for i, e := range entries {
		assert.Equal(t, toks[i], e.Token)
		assert.NotEmpty(t, e.ID)
		assert.True(t, e.Added.After(before), "Added %v", e.Added)
	}
	st, err := j.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, st.Depth)
	assert.Equal(t, entries[0].Added.UnixMilli(), st.Oldest.UnixMilli())

	got, err := j.Reclaim(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, got, "what this process appended is not handed to it again")

	require.NoError(t, j.Remove(ctx, []string{entries[0].ID, entries[1].ID}))
	require.NoError(t, j.Remove(ctx, []string{entries[0].ID}), "removing twice")
	st, err = j.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, st.Depth)
	require.NoError(t, j.Remove(ctx, []string{entries[2].ID}))
	st, err = j.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, yespo.JournalStats{}, st, "an empty journal")
	pending, err := rs.Client().XPending(ctx, "{yespo:journal}", "yespo").Result()
	require.NoError(t, err)
	assert.Zero(t, pending.Count, "nothing left pending in the group")
}

func TestJournalTarget(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	held := openJournal(t, rs.Client(), yesporedis.JournalOptions{Key: "bot"})
	_, err := held.Append(ctx, recs(journalTokens(2, "held")...))
	require.NoError(t, err)
	for _, other := range []yespo.JournalTarget{
		{AppUUID: "11111111-2222-4333-a444-555555555555", BaseURL: testTarget.BaseURL},
		{AppUUID: testTarget.AppUUID, BaseURL: "https://yespo.io/api/"},
	} {
		j, err := yesporedis.NewJournal(rs.Client(), yesporedis.JournalOptions{Key: "bot", Logger: quiet})
		require.NoError(t, err)
		err = j.Open(ctx, other)
		require.ErrorIs(t, err, yespo.ErrJournalTarget)
		for _, s := range []string{testTarget.AppUUID, testTarget.BaseURL, other.AppUUID, other.BaseURL} {
			assert.Contains(t, err.Error(), s, "the error names both targets")
		}
		for _, advice := range []string{
			"holds 2 token(s) for app " + testTarget.AppUUID + " at " + testTarget.BaseURL,
			"to deliver them, run against app " + testTarget.AppUUID + " at " + testTarget.BaseURL,
			"to drop them, delete the Redis key {bot}",
		} {
			assert.Contains(t, err.Error(), advice)
		}
	}
	raw, err := rs.Client().Get(ctx, "{bot}:target").Result()
	require.NoError(t, err)
	assert.Contains(t, raw, testTarget.AppUUID, "a refusal leaves the record as it was")
	// Another key is another journal.
	j, err := yesporedis.NewJournal(rs.Client(), yesporedis.JournalOptions{Key: "staging-bot", Logger: quiet})
	require.NoError(t, err)
	require.NoError(t, j.Open(ctx, yespo.JournalTarget{AppUUID: "11111111-2222-4333-a444-555555555555", BaseURL: "x"}))
	require.NoError(t, j.Close())

	require.NoError(t, rs.Client().Set(ctx, "{junk}:target", "not json", 0).Err())
	j, err = yesporedis.NewJournal(rs.Client(), yesporedis.JournalOptions{Key: "junk", Logger: quiet})
	require.NoError(t, err)
	assert.ErrorContains(t, j.Open(ctx, testTarget), "not a journal's target record")
}

// An empty journal opened for another target (a new app uuid) is re-bound
// to it with one Warn record; a process still bound to the old target can
// no longer append to it, and once it holds the new target's tokens the old
// target is refused.
func TestJournalTargetRebindsAnEmptyJournal(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	old := openJournal(t, rs.Client(), yesporedis.JournalOptions{Key: "bot"})
	entries, err := old.Append(ctx, recs(journalTokens(1, "old")...))
	require.NoError(t, err)
	require.NoError(t, old.Remove(ctx, []string{entries[0].ID})) // delivered: the journal is empty

	logs := &logBuffer{}
	other := yespo.JournalTarget{AppUUID: "11111111-2222-4333-a444-555555555555", BaseURL: testTarget.BaseURL}
	j, err := yesporedis.NewJournal(rs.Client(), yesporedis.JournalOptions{Key: "bot", Logger: logs.logger()})
	require.NoError(t, err)
	require.NoError(t, j.Open(ctx, other))
	t.Cleanup(func() { _ = j.Close() })
	assert.Equal(t, 1, logs.count("re-bound"), logs.String())
	for _, s := range []string{testTarget.AppUUID, other.AppUUID} {
		assert.Contains(t, logs.String(), s)
	}

	_, err = old.Append(ctx, recs(journalTokens(1, "late")...))
	require.ErrorIs(t, err, yespo.ErrJournalTarget, "the old target's process keeps nothing more here")
	assert.Contains(t, err.Error(), "re-bound")
	_, err = j.Append(ctx, recs(journalTokens(1, "new")...))
	require.NoError(t, err)
	st, err := j.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, st.Depth, "the old target's late token was not kept")

	again, err := yesporedis.NewJournal(rs.Client(), yesporedis.JournalOptions{Key: "bot", Logger: quiet})
	require.NoError(t, err)
	err = again.Open(ctx, testTarget)
	require.ErrorIs(t, err, yespo.ErrJournalTarget)
	assert.Contains(t, err.Error(), "holds 1 token(s) for app "+other.AppUUID)
}

// TestJournalDeadReplica: the entries of a replica that stopped refreshing
// them go to another after ClaimIdle, and not before; those of a live one
// never do.
func TestJournalDeadReplica(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	// The live replica refreshes every 100 ms; the claimer takes entries
	// idle for 1.5 s: only a refresh 1.4 s late, not a busy machine, lets a
	// live replica's entries go.
	const idle = 1500 * time.Millisecond
	live := openJournal(t, rs.Client(), yesporedis.JournalOptions{ClaimIdle: 300 * time.Millisecond})
	dead := openJournal(t, rs.Client(), yesporedis.JournalOptions{ClaimIdle: 300 * time.Millisecond})
	other := openJournal(t, rs.Client(), yesporedis.JournalOptions{ClaimIdle: idle})
	_, err := live.Append(ctx, recs(journalTokens(5, "live")...))
	require.NoError(t, err)
	left, err := dead.Append(ctx, recs(journalTokens(5, "dead")...))
	require.NoError(t, err)
	require.NoError(t, dead.Close()) // no more refreshes: as if it died

	var got []yespo.JournalEntry
	waitFor(t, "the dead replica's entries", func() bool {
		es, err := other.Reclaim(ctx, 100)
		require.NoError(t, err)
		got = append(got, es...)
		return len(got) >= 5
	})
	assert.ElementsMatch(t, left, got, "exactly the dead replica's entries")

	// The live one refreshed its entries all along; give it two more
	// ClaimIdles to show it keeps them.
	for deadline := time.Now().Add(2 * idle); time.Now().Before(deadline); time.Sleep(idle / 10) {
		es, err := other.Reclaim(ctx, 100)
		require.NoError(t, err)
		require.Empty(t, es, "a live replica's entries taken")
	}
}

// TestJournalSameConsumerRestarts: a process that comes back under the same
// Consumer name gets its entries back at once, whatever ClaimIdle.
func TestJournalSameConsumerRestarts(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	first := openJournal(t, rs.Client(), yesporedis.JournalOptions{Consumer: "pod-0"})
	entries, err := first.Append(ctx, recs(journalTokens(4, "p")...))
	require.NoError(t, err)
	require.NoError(t, first.Remove(ctx, []string{entries[1].ID}))
	require.NoError(t, first.Close())

	again := openJournal(t, rs.Client(), yesporedis.JournalOptions{Consumer: "pod-0"})
	got, err := again.Reclaim(ctx, 100)
	require.NoError(t, err)
	assert.Equal(t, []yespo.JournalEntry{entries[0], entries[2], entries[3]}, got)
	got, err = again.Reclaim(ctx, 100)
	require.NoError(t, err)
	assert.Empty(t, got, "each entry handed out once")
}

// TestJournalFormats: an entry of a newer format (a newer replica's, in a
// rolling deploy) is left alone with a Warn record; an entry no consumer
// was given is reclaimed.
func TestJournalFormats(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	var logs logBuffer
	j := openJournal(t, rs.Client(), yesporedis.JournalOptions{ClaimIdle: time.Millisecond, Logger: logs.logger()})
	admin := rs.Client()
	newer, err := admin.XAdd(ctx, &redis.XAddArgs{Stream: "{yespo:journal}", Values: []string{"v", "2", "blob", "?"}}).Result()
	require.NoError(t, err)
	_, err = admin.XAdd(ctx, &redis.XAddArgs{Stream: "{yespo:journal}", Values: []string{
		"v", "1", "added", "1700000000000", "token", `{"token":"t1","email":"a@b.c"}`}}).Result()
	require.NoError(t, err)

	got, err := j.Reclaim(ctx, 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, yespo.Token{Token: "t1", Email: "a@b.c"}, got[0].Token)
	assert.Equal(t, int64(1700000000000), got[0].Added.UnixMilli())
	assert.Contains(t, logs.String(), "cannot read", "the newer entry is reported")
	n, err := admin.XLen(ctx, "{yespo:journal}").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(2), n, "the newer entry stays")
	_ = newer
}

// TestJournalGroupCommit: concurrent Appends share script calls.
func TestJournalGroupCommit(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	admin := rs.Client()
	j := openJournal(t, rs.Client(), yesporedis.JournalOptions{})
	require.NoError(t, admin.ConfigResetStat(ctx).Err())
	const callers, each = 64, 20
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				_, err := j.Append(ctx, recs(yespo.Token{Token: fmt.Sprintf("g%d-%d", c, i), ContactID: 1}))
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	scripts := scriptCalls(t, admin)
	t.Logf("%d Appends in %d script calls", callers*each, scripts)
	assert.Less(t, scripts, int64(callers*each/2), "script calls for %d Appends", callers*each)
	st, err := j.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, callers*each, st.Depth)
}

// TestJournalSettings: Open warns when Redis may lose what it acknowledged,
// and not when it is set up for a journal.
func TestJournalSettings(t *testing.T) {
	for _, durable := range []bool{false, true} {
		var opts []redistest.Option
		if durable {
			opts = append(opts, redistest.Durable())
		}
		rs := redistest.Start(t, opts...)
		var logs logBuffer
		openJournal(t, rs.Client(), yesporedis.JournalOptions{Logger: logs.logger()})
		if durable {
			assert.Empty(t, logs.String())
			continue
		}
		assert.Contains(t, logs.String(), "appendonly", "a Redis without persistence")
		require.NoError(t, rs.Client().ConfigSet(context.Background(), "maxmemory-policy", "allkeys-lru").Err())
		logs = logBuffer{}
		openJournal(t, rs.Client(), yesporedis.JournalOptions{Logger: logs.logger()})
		assert.Contains(t, logs.String(), "noeviction")
	}
}

// TestJournalRedisDown: with Redis gone, Append fails with the cause, at
// once for a refused connection and within Timeout for one that hangs.
func TestJournalRedisDown(t *testing.T) {
	rs := redistest.Start(t)
	j := openJournal(t, redis.NewClient(&redis.Options{Addr: rs.Addr, MaxRetries: -1}), yesporedis.JournalOptions{Timeout: time.Second})
	rs.Kill()
	_, err := j.Append(context.Background(), recs(journalTokens(1, "x")...))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "connection refused")
	assert.True(t, strings.HasPrefix(err.Error(), "yesporedis: journal"), err.Error())
	_, err = j.Reclaim(context.Background(), 1)
	assert.Error(t, err)
	_, err = j.Stats(context.Background())
	assert.Error(t, err)
}

// TestJournalRedisRestart: Appends go on while Redis (appendonly yes,
// appendfsync always) is killed and restarted; every Append that returned
// nil is in the stream afterwards.
func TestJournalRedisRestart(t *testing.T) {
	rs := redistest.Start(t, redistest.Durable())
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	j := openJournal(t, rdb, yesporedis.JournalOptions{Timeout: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu       sync.Mutex
		accepted []string
		failed   int
		wg       sync.WaitGroup
	)
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				es, err := j.Append(ctx, recs(yespo.Token{Token: fmt.Sprintf("w%d-%d", w, i), ContactID: 7}))
				mu.Lock()
				if err == nil {
					accepted = append(accepted, es[0].ID)
				} else {
					failed++
				}
				mu.Unlock()
			}
		})
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(accepted) }
	waitFor(t, "Appends before the crash", func() bool { return count() > 200 })
	rs.Kill()
	rs.Restart()
	n := count()
	waitFor(t, "Appends after the restart", func() bool { return count() > n+200 })
	cancel()
	wg.Wait()

	msgs, err := rdb.XRange(context.Background(), "{yespo:journal}", "-", "+").Result()
	require.NoError(t, err)
	have := map[string]bool{}
	for _, m := range msgs {
		have[m.ID] = true
	}
	lost := 0
	for _, id := range accepted {
		if !have[id] {
			lost++
		}
	}
	t.Logf("%d Appends accepted, %d failed during the restart, %d in the stream", len(accepted), failed, len(msgs))
	assert.Zero(t, lost, "accepted entries missing after the restart")
}

// TestJournalAbandonedAppend: an Append whose ctx ends while Redis is
// busy with its script returns ctx's error; the entries Redis then kept
// are handed out by this process's next Reclaim, not left held by nobody.
func TestJournalAbandonedAppend(t *testing.T) {
	rs := redistest.Start(t)
	admin := rs.Client()
	j := openJournal(t, rs.Client(), yesporedis.JournalOptions{})
	bg := context.Background()
	require.NoError(t, admin.Do(bg, "CLIENT", "PAUSE", "500", "WRITE").Err())
	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	_, err := j.Append(ctx, recs(journalTokens(2, "gone")...))
	require.ErrorIs(t, err, context.DeadlineExceeded)

	var got []yespo.JournalEntry
	waitFor(t, "the abandoned entries", func() bool {
		es, err := j.Reclaim(bg, 10)
		require.NoError(t, err)
		got = append(got, es...)
		return len(got) >= 2
	})
	assert.Equal(t, journalTokens(2, "gone"), []yespo.Token{got[0].Token, got[1].Token})
	es, err := j.Reclaim(bg, 10)
	require.NoError(t, err)
	assert.Empty(t, es, "handed out once")
}

// TestJournalStateLost: a Redis restarted without persistence lost the
// journal; the next Append says so once and starts afresh, and Open's
// check had warned about it.
func TestJournalStateLost(t *testing.T) {
	rs := redistest.Start(t)
	var logs logBuffer
	j := openJournal(t, rs.Client(), yesporedis.JournalOptions{Logger: logs.logger()})
	bg := context.Background()
	_, err := j.Append(bg, recs(journalTokens(1, "before")...))
	require.NoError(t, err)
	assert.Contains(t, logs.String(), "without appendonly")
	rs.Kill()
	rs.Restart()
	var entries []yespo.JournalEntry
	waitFor(t, "an Append on the new Redis", func() bool {
		entries, err = j.Append(bg, recs(journalTokens(1, "after")...))
		return err == nil
	})
	assert.Contains(t, logs.String(), "its state in Redis is gone")
	st, err := j.Stats(bg)
	require.NoError(t, err)
	assert.Equal(t, 1, st.Depth, "the new journal holds what was appended since")
	require.NoError(t, j.Remove(bg, []string{entries[0].ID}))
}

// TestJournalClosed: Append fails after Close, and before Open.
func TestJournalClosed(t *testing.T) {
	rs := redistest.Start(t)
	j, err := yesporedis.NewJournal(rs.Client(), yesporedis.JournalOptions{Logger: quiet})
	require.NoError(t, err)
	_, err = j.Append(context.Background(), recs(journalTokens(1, "x")...))
	assert.ErrorContains(t, err, "before Open")
	require.NoError(t, j.Open(context.Background(), testTarget))
	require.NoError(t, j.Close())
	require.NoError(t, j.Close(), "twice")
	_, err = j.Append(context.Background(), recs(journalTokens(1, "x")...))
	assert.ErrorContains(t, err, "closed")
	_, err = yesporedis.NewJournal(nil, yesporedis.JournalOptions{})
	assert.Error(t, err)
}

// TestJournalRemoveFails: entries whose removal Redis did not take are
// not held any more: they go idle and come back through Reclaim, to be
// sent and removed again, so the stream stays bounded.
func TestJournalRemoveFails(t *testing.T) {
	rs := redistest.Start(t, redistest.Durable())
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	j := openJournal(t, rdb, yesporedis.JournalOptions{ClaimIdle: 100 * time.Millisecond, Timeout: time.Second})
	bg := context.Background()
	entries, err := j.Append(bg, recs(journalTokens(2, "rm")...))
	require.NoError(t, err)
	rs.Kill()
	require.Error(t, j.Remove(bg, []string{entries[0].ID, entries[1].ID}))
	rs.Restart()
	var got []yespo.JournalEntry
	waitFor(t, "the entries Remove could not remove", func() bool {
		es, err := j.Reclaim(bg, 10)
		if err == nil {
			got = append(got, es...)
		}
		return len(got) >= 2
	})
	assert.Equal(t, []string{entries[0].ID, entries[1].ID}, []string{got[0].ID, got[1].ID})
}

// TestBatcherAddRedisDown: a Batcher on the Redis journal refuses a token
// it cannot keep: with Redis gone, Add returns an error that says so, within
// the journal's Timeout; with Redis back, Adds are kept again.
func TestBatcherAddRedisDown(t *testing.T) {
	rs := redistest.Start(t, redistest.Durable())
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	j, err := yesporedis.NewJournal(rdb, yesporedis.JournalOptions{Timeout: time.Second, Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	b, err := srv.Client().NewBatcher(app, yespo.BatcherOptions{Journal: j, FlushInterval: 5 * time.Millisecond})
	require.NoError(t, err)
	bg := context.Background()
	require.NoError(t, b.AddAndWait(bg, yespo.Token{Token: "t1", Email: "a@example.com"}))

	rs.Kill()
	err = b.Add(bg, yespo.Token{Token: "t2", Email: "b@example.com"})
	require.Error(t, err, "a token the journal cannot keep")
	assert.Contains(t, err.Error(), "yesporedis: journal")
	assert.Contains(t, err.Error(), "connection refused")

	rs.Restart()
	waitFor(t, "an Add kept again", func() bool { return b.Add(bg, yespo.Token{Token: "t3", Email: "c@example.com"}) == nil })
	require.NoError(t, b.Close(bg))
	_, ok := srv.ContactByToken(app, "t3")
	assert.True(t, ok, "t3 reached Yespo")
	_, ok = srv.ContactByToken(app, "t2")
	assert.False(t, ok, "t2, refused, was not sent")
}

// recs makes the records Append takes from tokens, without payloads.
func recs(tokens ...yespo.Token) []yespo.JournalRecord {
	out := make([]yespo.JournalRecord, len(tokens))
	for i, t := range tokens {
		out[i] = yespo.JournalRecord{Token: t}
	}
	return out
}

// TestJournalPayload: a record's payload, any bytes, comes back unchanged
// with its token from another process's Reclaim; a record without one
// comes back with none.
func TestJournalPayload(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	first := openJournal(t, rs.Client(), yesporedis.JournalOptions{Consumer: "pod-0"})
	payload := []byte("{\"event\":\"welcome\"}\x00\xff binary")
	entries, err := first.Append(ctx, []yespo.JournalRecord{
		{Token: yespo.Token{Token: "1", ContactID: 1}, Payload: payload},
		{Token: yespo.Token{Token: "2", ContactID: 2}},
	})
	require.NoError(t, err)
	assert.Equal(t, payload, entries[0].Payload)
	require.NoError(t, first.Close())

	again := openJournal(t, rs.Client(), yesporedis.JournalOptions{Consumer: "pod-0"})
	got, err := again.Reclaim(ctx, 100)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, payload, got[0].Payload)
	assert.Equal(t, "1", got[0].Token.Token)
	assert.Nil(t, got[1].Payload)
}
