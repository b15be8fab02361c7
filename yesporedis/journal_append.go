package yesporedis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/yespo-go/yespo"
)

// appendScript adds one entry per token (ARGV[7:]) and reads them at once
// for this consumer, so that they are in its pending list from the moment
// they exist: if every writer appends this way, no entry is ever left
// undelivered, and an entry nobody refreshes is one a dead process held.
// Entries some other writer left undelivered come back as extras. It
// refuses when the target record is gone (a Redis that lost its data): the
// caller binds again, and says so, before trying again; and when the
// record names another target than this writer's (ARGV[5], ARGV[6]): the
// journal, empty, was re-bound by a process of another target, whose
// replicas must never send this one's tokens.
var appendScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[2])
if not cur then
  return redis.error_reply('NOTARGET the journal target record is missing')
end
local ok, rec = pcall(cjson.decode, cur)
if not ok or type(rec) ~= 'table' or rec['app_uuid'] ~= ARGV[5] or rec['base_url'] ~= ARGV[6] then
  return redis.error_reply('WRONGTARGET ' .. cur)
end
local group, consumer, format, added = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ids, mine = {}, {}
for i = 7, #ARGV do
  local id = redis.call('XADD', KEYS[1], '*', 'v', format, 'added', added, 'token', ARGV[i])
  ids[#ids + 1] = id
  mine[id] = true
end
local extras, left = {}, #ids
while left > 0 do
  local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', left + 100, 'STREAMS', KEYS[1], '>')
  if not r or #r[1][2] == 0 then break end
  for _, e in ipairs(r[1][2]) do
    if mine[e[1]] then left = left - 1 else extras[#extras + 1] = e[1] end
  end
end
return {ids, extras}
`)

// entryJSON is an entry's "token" field: the token's fields, and the
// payload beside them only when there is one, so that entries without one
// stay as format 1 wrote them (a reader of 0.3 reads a payload's entry as
// its token alone).
type entryJSON struct {
	yespo.Token
	Payload []byte `json:"payload,omitempty"`
}

// appendReq is one Append waiting for the group commit.
type appendReq struct {
	ctx  context.Context
	enc  []string
	done chan struct{} // closed when ids or err is set

	mu   sync.Mutex
	gone bool // the caller returned without a result
	ids  []string
	at   time.Time
	err  error
}

// errJournalClosed is what Append returns after Close.
var errJournalClosed = errors.New("yesporedis: journal closed")

// Append stores tokens as entries of the stream, owned by this process,
// and returns once Redis acknowledged them; concurrent Appends share one
// script call (group commit). It returns an error, and no entry, when
// Redis cannot be reached or refuses (out of memory, read-only replica),
// when ctx ends first, or after Close: a token it did not return is not
// kept for sure. One that Redis kept although Append failed (an answer
// lost on the way back) is handed out again by Reclaim: sent twice at
// worst, never lost.
func (j *Journal) Append(ctx context.Context, records []yespo.JournalRecord) ([]yespo.JournalEntry, error) {
	if len(records) == 0 {
		return nil, nil
	}
	if !j.isOpen() {
		return nil, errors.New("yesporedis: journal: Append before Open")
	}
	req := &appendReq{ctx: ctx, done: make(chan struct{})}
	for _, r := range records {
		b, err := json.Marshal(entryJSON{r.Token, r.Payload})
		if err != nil {
			return nil, fmt.Errorf("yesporedis: journal: encoding a token: %w", err)
		}
		req.enc = append(req.enc, string(b))
	}
	select {
	case j.queue <- req:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-j.stop:
		return nil, errJournalClosed
	}
	select {
	case <-req.done:
	case <-ctx.Done():
	case <-j.stop:
	}
	req.mu.Lock()
	defer req.mu.Unlock()
	select {
	case <-req.done:
	default: // the commit, if any, hands the entries to Reclaim
		req.gone = true
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, errJournalClosed
	}
	if req.err != nil {
		return nil, req.err
	}
	entries := make([]yespo.JournalEntry, len(records))
	for i, r := range records {
		entries[i] = yespo.JournalEntry{ID: req.ids[i], Token: r.Token, Payload: r.Payload, Added: req.at}
	}
	return entries, nil
}

func (j *Journal) isOpen() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.opened != nil
}

// commitLoop runs the group commit: it takes whatever Appends are queued,
// up to maxAppendTokens, and stores them in one script call, until Close.
func (j *Journal) commitLoop() {
	defer j.loops.Done()
	for {
		var batch []*appendReq
		select {
		case r := <-j.queue:
			batch = append(batch, r)
		case <-j.stop:
			j.failQueued()
			return
		}
		n := len(batch[0].enc)
	more:
		for n < maxAppendTokens {
			select {
			case r := <-j.queue:
				batch = append(batch, r)
				n += len(r.enc)
			default:
				break more
			}
		}
		j.commit(batch)
	}
}

// failQueued ends the Appends still queued at Close.
func (j *Journal) failQueued() {
	for {
		select {
		case r := <-j.queue:
			j.settle(r, nil, time.Time{}, errJournalClosed)
		default:
			return
		}
	}
}

// appendHead is the number of the append script's ARGV before the tokens.
const appendHead = 6

// commit stores the tokens of the Appends whose callers still wait, in one
// script call, and hands each its entries.
func (j *Journal) commit(batch []*appendReq) {
	var live []*appendReq
	j.mu.Lock()
	target := *j.opened
	j.mu.Unlock()
	args := []any{j.opts.Group, j.opts.Consumer, entryFormat, 0, target.AppUUID, target.BaseURL}
	for _, r := range batch {
		if r.ctx.Err() != nil {
			j.settle(r, nil, time.Time{}, r.ctx.Err())
			continue
		}
		live = append(live, r)
		for _, e := range r.enc {
			args = append(args, e)
		}
	}
	if len(live) == 0 {
		return
	}
	at := time.UnixMilli(time.Now().UnixMilli()) // as Reclaim will read it back
	args[3] = strconv.FormatInt(at.UnixMilli(), 10)
	ids, extras, err := j.runAppend(args)
	if err == nil && len(ids) != len(args)-appendHead {
		err = fmt.Errorf("the append script returned %d ids for %d tokens", len(ids), len(args)-appendHead)
	}
	if rec, ok := strings.CutPrefix(fmt.Sprint(err), "WRONGTARGET "); ok && err != nil {
		err = fmt.Errorf("%w: %s was re-bound, empty, to another target by another process (%s); this process's tokens for app %s at %s are not kept: run it against that target or give it a journal of its own",
			yespo.ErrJournalTarget, j.stream, rec, target.AppUUID, target.BaseURL)
	} else if err != nil {
		err = fmt.Errorf("yesporedis: journal %s: append: %w", j.stream, err)
	}
	j.mu.Lock()
	j.orphans = append(j.orphans, extras...)
	j.mu.Unlock()
	for _, r := range live {
		var mine []string
		if err == nil {
			mine, ids = ids[:len(r.enc)], ids[len(r.enc):]
		}
		j.settle(r, mine, at, err)
	}
}

// settle hands r its result, or, if its caller has gone, its entries to
// Reclaim: an entry Append did not return must not stay held.
func (j *Journal) settle(r *appendReq, ids []string, at time.Time, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	j.mu.Lock()
	if r.gone {
		j.orphans = append(j.orphans, ids...)
	} else {
		for _, id := range ids {
			j.held[id] = struct{}{}
		}
	}
	j.mu.Unlock()
	r.ids, r.at, r.err = ids, at, err
	close(r.done)
}

// runAppend runs the script, binding the journal again first if Redis lost
// its state.
func (j *Journal) runAppend(args []any) (ids, extras []string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), j.opts.Timeout)
	defer cancel()
	keys := []string{j.stream, j.target}
	v, err := appendScript.Run(ctx, j.rdb, keys, args...).Slice()
	if err != nil && strings.HasPrefix(err.Error(), "NOTARGET") {
		j.mu.Lock()
		target := *j.opened
		j.opts.Logger.Warn("yesporedis: journal: its state in Redis is gone (Redis restarted without persistence, or the keys were deleted): what it held is lost; starting afresh",
			"journal", j.stream)
		j.mu.Unlock()
		if err = j.bind(ctx, target); err == nil {
			v, err = appendScript.Run(ctx, j.rdb, keys, args...).Slice()
		}
	}
	if err != nil {
		return nil, nil, err
	}
	if len(v) != 2 {
		return nil, nil, fmt.Errorf("the append script answered %v", v)
	}
	return strs(v[0]), strs(v[1]), nil
}

// strs converts a script's array of strings.
func strs(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, x := range a {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
