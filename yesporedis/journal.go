package yesporedis

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/yespo-go/yespo"
)

var _ yespo.Journal = (*Journal)(nil)

// JournalOptions configures a Journal; zero fields take the defaults.
type JournalOptions struct {
	// Key names the journal: one per app. The stream is "{Key}" and the
	// record of its target "{Key}:target" (the braces keep both in one
	// slot of a Redis Cluster). Default "yespo:journal".
	Key string
	// Group is the consumer group every replica reads in. Default "yespo".
	Group string
	// Consumer is this process's name in the group; every live process
	// needs its own. A name that stays the same across restarts (a pod's
	// name) gets its entries back at once after a crash; a new one gets
	// them after ClaimIdle. Default: host name, process id and a random
	// suffix.
	Consumer string
	// ClaimIdle is how long an entry must have gone unrefreshed before
	// another process's Reclaim takes it: a process refreshes the entries
	// it holds every ClaimIdle/3, so only a dead (or cut off) process's
	// entries go that long. Keep it well above the time Redis may be out of
	// reach: a process that cannot refresh for longer sees its entries sent
	// by others too (twice, never lost). Default 30 s.
	ClaimIdle time.Duration
	// Timeout bounds every call to Redis, whatever ctx allows. Default 5 s.
	Timeout time.Duration
	// Logger gets one Warn record when a setting of Redis puts accepted
	// tokens at risk (see doc.go), when the journal's state in Redis
	// vanished, and when Open re-binds an empty journal to another target.
	// Default slog.Default().
	Logger *slog.Logger
}

// The defaults of JournalOptions.
const (
	defaultJournalKey       = "yespo:journal"
	defaultJournalGroup     = "yespo"
	defaultJournalClaimIdle = 30 * time.Second
	defaultJournalTimeout   = 5 * time.Second
	// entryFormat is the version of the entry format written by this code.
	// A replica meets entries of a newer format during a rolling deploy: it
	// leaves them to the replicas that know it.
	entryFormat = "1"
	// maxAppendTokens bounds one script call of the group commit.
	maxAppendTokens = 1000
)

// Journal is a yespo.Journal on a Redis stream, shared by every replica of
// a bot: each replica is a consumer of one group, owns the entries it
// appended, and takes over those a dead replica left once they have been
// idle ClaimIdle. Create it with NewJournal, hand it to
// yespo.BatcherOptions.Journal and Close it after the Batcher. See doc.go
// for what "stable" means here and the Redis settings it relies on.
type Journal struct {
	rdb    redis.UniversalClient
	opts   JournalOptions
	stream string
	target string
	queue  chan *appendReq // the group commit's

	mu       sync.Mutex
	opened   *yespo.JournalTarget
	held     map[string]struct{} // entries this process returned and has not removed: refreshed
	orphans  []string            // entries appended for a caller that had gone: Reclaim hands them out
	ownDone  bool                // Reclaim has seen all of this consumer's earlier entries
	ownFrom  string              // where that scan goes on
	claimAt  string              // XAUTOCLAIM's cursor
	warned   map[string]bool     // Warn records logged once
	stop     chan struct{}       // closed by Close
	loops    sync.WaitGroup
	closeErr error
	closed   bool
}

// NewJournal returns a Journal on the Redis behind rdb. It does not talk to
// Redis: Open does, and checks its settings. It returns an error when rdb
// is nil or an option is out of range.
func NewJournal(rdb redis.UniversalClient, opts JournalOptions) (*Journal, error) {
	if rdb == nil {
		return nil, errors.New("yesporedis: NewJournal: rdb is nil")
	}
	if opts.ClaimIdle < 0 || opts.Timeout < 0 {
		return nil, fmt.Errorf("yesporedis: NewJournal: ClaimIdle (%v) and Timeout (%v) must not be negative", opts.ClaimIdle, opts.Timeout)
	}
	opts.Key = cmp.Or(opts.Key, defaultJournalKey)
	opts.Group = cmp.Or(opts.Group, defaultJournalGroup)
	opts.ClaimIdle = cmp.Or(opts.ClaimIdle, defaultJournalClaimIdle)
	opts.Timeout = cmp.Or(opts.Timeout, defaultJournalTimeout)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Consumer == "" {
		opts.Consumer = defaultConsumer()
	}
	return &Journal{
		rdb: rdb, opts: opts,
		stream: "{" + opts.Key + "}", target: "{" + opts.Key + "}:target",
		queue: make(chan *appendReq, 1024),
		held:  map[string]struct{}{}, ownFrom: "0", claimAt: "0-0",
		warned: map[string]bool{}, stop: make(chan struct{}),
	}, nil
}

// defaultConsumer is unique to this process: host, pid, and 4 random bytes
// in case two containers share both.
func defaultConsumer() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return cmp.Or(host, "host") + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b)
}

// Consumer returns this process's name in the consumer group.
func (j *Journal) Consumer() string { return j.opts.Consumer }

// Open binds the journal to target: it creates the stream and the group if
// need be, records target in a new journal, and checks Redis's settings
// (a Warn record if they put tokens at risk, or cannot be read). A journal
// of another app or base URL whose stream holds no entry is re-bound to
// target, with one Warn record naming both; from then on the Appends of a
// process still bound to the old target fail with an error matching
// yespo.ErrJournalTarget. One that holds entries is refused with an error
// matching yespo.ErrJournalTarget that names both targets, how many tokens
// it holds, and what to do: run against their target to deliver them, or
// delete the stream's key to drop them. It returns the Redis error when
// Redis cannot be reached. Opening again with the same target is a no-op.
func (j *Journal) Open(ctx context.Context, target yespo.JournalTarget) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return errors.New("yesporedis: journal: Open after Close")
	}
	if j.opened != nil {
		if *j.opened != target {
			return fmt.Errorf("%w: %s was opened for app %s at %s, not app %s at %s", yespo.ErrJournalTarget,
				j.stream, j.opened.AppUUID, j.opened.BaseURL, target.AppUUID, target.BaseURL)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, j.opts.Timeout)
	defer cancel()
	if err := j.bind(ctx, target); err != nil {
		return err
	}
	j.checkSettings(ctx)
	j.opened = &target
	j.loops.Add(2)
	go j.commitLoop()
	go j.refreshLoop()
	return nil
}

// Close stops the journal's background work (the group commit and the
// refresh of held entries). Entries this process still holds are then
// taken over by other replicas, or by the next run, after ClaimIdle. It
// does not close rdb. Appends after Close fail.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return j.closeErr
	}
	j.closed = true
	close(j.stop)
	j.mu.Unlock()
	j.loops.Wait()
	return nil
}

// warnOnce logs msg once per journal.
func (j *Journal) warnOnce(msg string, args ...any) {
	if j.warned[msg] {
		return
	}
	j.warned[msg] = true
	j.opts.Logger.Warn(msg, append([]any{"journal", j.stream}, args...)...)
}
