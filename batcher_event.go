package yespo

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/yespo-go/yespo/internal/engine"
)

// EventResult is what became of one follow-up event (see
// Batcher.AddWithEvent): sent, or failed with Err.
type EventResult struct {
	Token Token // the token the event followed
	Event Event // as added; its param values as json.RawMessage
	Err   error // nil when Yespo accepted the event
}

// AddWithEvent queues t like Add, with ev to send once Yespo has accepted
// t: a welcome, a promo code, the start of a series (see SendEvent). ev is
// never sent before Yespo's 2xx for t — a workflow that sends through
// Telegram finds the channel only then — and, with a Journal, it is kept
// with t, all its params, until Yespo accepted or refused it for good, so
// that a crash between the two sends t again (a no-op for Yespo), then
// ev. Delivery is at least once. Events go out concurrently on the
// event budget (350 a second, apart from the tokens' 200; see Budget), are
// held through an outage or a refused key like tokens, and are counted in
// BatcherStats (EventsSent, EventsFailed, EventsHeld); each settled event
// reaches OnEvent. A t equal to a pending token is not sent twice, but
// its event is sent: one per call. Flush and Close wait for the events of
// the tokens they wait for.
//
// It fails, before anything is queued, with an error matching
// ErrInvalidInput for an invalid t, and matching ErrInvalidEvent as well
// for an invalid ev (see Event); otherwise as Add.
func (b *Batcher) AddWithEvent(ctx context.Context, t Token, ev Event) error {
	if err := admit(ctx, t); err != nil {
		return err
	}
	body, err := ev.encode()
	if err != nil {
		return err
	}
	_, err = b.eng.Add(ctx, t, body)
	return err
}

// followUp is an event on its way: the journal entry that keeps it with
// its token, the token, and the event's request body.
type followUp struct {
	n     uint64 // unique: an in-memory journal's entries may share an id
	id    string // the entry in the Batcher's journal
	token Token
	body  string // a string, so that followUp is comparable
}

// newEvents starts the engine of the follow-up events: one event a
// request, on the event budget, on the token engine's journal through
// handOver. It owns the entries the token engine hands it (FollowUp) and
// removes each once its event is settled.
func (b *Batcher) newEvents(tokens engine.Journal[Token]) (*engine.Engine[followUp], error) {
	cfg := engine.Config[followUp]{
		MaxBatch: 1, MaxPending: b.opts.MaxPending, Concurrency: b.opts.Concurrency,
		FlushInterval: minFlushInterval, MaxOutage: b.opts.MaxOutage,
		Durable:  b.durable,
		Journal:  handOver{tokens},
		Send:     b.sendEvent,
		Classify: b.classifyEvent,
		Pause:    func(error) bool { return false }, // the event budget is paced, not paused
		GaveUp:   gaveUpError,
		Logger:   b.c.logger,
		Noun:     "follow-up events",
	}
	if on := b.opts.OnEvent; on != nil {
		cfg.OnResult = func(r engine.Result[followUp]) {
			for _, f := range r.Items {
				var ev Event
				_ = json.Unmarshal([]byte(f.body), &ev) // encode wrote it
				on(EventResult{Token: f.token, Event: ev, Err: r.Err})
			}
		}
	}
	return engine.New(cfg)
}

// handOver queues the follow-ups of the tokens Yespo accepted. An entry it
// cannot queue — a Close gave up while the events were full — stays in a
// durable journal, for the next Batcher to send its token and then its
// event, or, without one, counts as failed (BatcherStats.EventsFailed; it
// never reached the events' dispatcher, so OnEvent does not hear of it).
func (b *Batcher) handOver(entries []engine.Entry[Token]) {
	for _, en := range entries {
		f := followUp{n: b.followed.Add(1), id: en.ID, token: en.Item, body: string(en.Payload)}
		if _, err := b.events.Add(b.eventsCtx, f, nil); err != nil {
			b.lostEvents.Add(1)
		}
	}
}

// sendEvent sends one follow-up event as the Batcher's own caller on the
// event budget.
func (b *Batcher) sendEvent(ctx context.Context, fs []followUp, sending func()) error {
	return b.c.sendEvent(ctx, []byte(fs[0].body), &caller{
		party:       &b.eventParty,
		attempted:   b.observe,
		sending:     sending,
		holdsOutage: true,
	})
}

// classifyEvent says what a failed event means: a 400 refuses it for good
// (there is nothing to split); an outage of the event budget, or a 429,
// holds it; a 401, 403 or 404 holds it for the operator to fix.
func (b *Batcher) classifyEvent(err error) engine.Verdict {
	var apiErr *APIError
	switch {
	case refusedForGood(err):
		return engine.Refused
	case transient(err) && b.c.event.Down(),
		errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests:
		return engine.Outage
	case errors.Is(err, ErrUnauthorized), errors.Is(err, ErrForbidden), errors.Is(err, ErrNotFound):
		return engine.Operator
	}
	return engine.Transient
}

// handOver is the follow-up events' journal: their entries are the token
// engine's, appended with their tokens, so Append only names them and
// Remove removes them there. Reclaim finds nothing: an entry an earlier run
// left comes back through the token engine, its token first.
type handOver struct{ tokens engine.Journal[Token] }

func (h handOver) Append(_ context.Context, rs []engine.Record[followUp]) ([]engine.Entry[followUp], error) {
	out := make([]engine.Entry[followUp], len(rs))
	now := time.Now()
	for i, r := range rs {
		out[i] = engine.Entry[followUp]{ID: r.Item.id, Item: r.Item, Added: now}
	}
	return out, nil
}

func (h handOver) Remove(ctx context.Context, ids []string) error { return h.tokens.Remove(ctx, ids) }

func (handOver) Reclaim(context.Context, int) ([]engine.Entry[followUp], error) { return nil, nil }

func (handOver) Stats(context.Context) (engine.JournalStats, error) {
	return engine.JournalStats{}, nil
}
