package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-telegram/bot"
	"golang.org/x/time/rate"
)

// outbox sends the bot's replies behind Telegram's limit on a bot's
// messages (about 30 a second across chats), so that a burst's replies
// queue here instead of holding up the confirmation of the updates that
// caused them. One chat's replies go out in order (a lane per chat, by
// hash); a 429 pauses every lane for as long as Telegram asks.
type outbox struct {
	tg      *bot.Bot
	log     *slog.Logger
	limiter *rate.Limiter
	lanes   []*lane
	ctx     context.Context // ends when the outbox gives up on what it holds
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	pauseMu    sync.Mutex
	pauseUntil time.Time

	sent, failed, limited atomic.Int64 // for the metrics
	queued                atomic.Int64
}

// lane is one sender's queue.
type lane struct {
	mu      sync.Mutex
	queue   []outgoing
	wake    chan struct{} // has room for one signal: the sender looks at the queue again
	closing bool
}

// outgoing is one reply and who waits for it to be settled.
type outgoing struct {
	params *bot.SendMessageParams
	done   func()
}

// outboxLanes is how many replies may be in flight to Telegram at once.
const outboxLanes = 32

// defaultSendRate stays under Telegram's ~30 messages a second, with no
// burst: any one second then holds at most 30 sends.
const defaultSendRate = 28

func newOutbox(tg *bot.Bot, log *slog.Logger, perSecond float64) *outbox {
	o := &outbox{tg: tg, log: log, limiter: rate.NewLimiter(rate.Limit(perSecond), 1)}
	if perSecond <= 0 {
		o.limiter = rate.NewLimiter(rate.Inf, 1)
	}
	o.ctx, o.cancel = context.WithCancel(context.Background())
	for range outboxLanes {
		l := &lane{wake: make(chan struct{}, 1)}
		o.lanes = append(o.lanes, l)
		o.wg.Add(1)
		go o.run(l)
	}
	return o
}

// send queues a reply; done is called once it is sent or given up.
func (o *outbox) send(params *bot.SendMessageParams, done func()) {
	chat, _ := params.ChatID.(int64)
	l := o.lanes[uint64(chat)%outboxLanes]
	l.mu.Lock()
	l.queue = append(l.queue, outgoing{params, done})
	l.mu.Unlock()
	o.queued.Add(1)
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// run sends l's replies in order until the outbox closes and l is empty.
func (o *outbox) run(l *lane) {
	defer o.wg.Done()
	for {
		l.mu.Lock()
		if len(l.queue) == 0 {
			closing := l.closing
			l.mu.Unlock()
			if closing {
				return
			}
			<-l.wake
			continue
		}
		m := l.queue[0]
		l.queue = l.queue[1:]
		l.mu.Unlock()
		o.deliver(m.params)
		o.queued.Add(-1)
		m.done()
	}
}

// deliver sends one reply at the pace, waiting out any 429, while the
// outbox lasts. Failures are logged, never fatal: in particular a user who
// blocked the bot (403) is skipped.
func (o *outbox) deliver(params *bot.SendMessageParams) {
	for {
		if !o.waitTurn() {
			o.failed.Add(1)
			o.log.Error("reply not delivered: the bot stopped before Telegram took it", "chat", params.ChatID)
			return
		}
		ctx, cancel := context.WithTimeout(o.ctx, sendTimeout)
		_, err := o.tg.SendMessage(ctx, params)
		cancel()
		var tooFast *bot.TooManyRequestsError
		switch {
		case errors.As(err, &tooFast):
			o.limited.Add(1)
			o.pause(time.Duration(max(tooFast.RetryAfter, 1)) * time.Second)
			continue
		case errors.Is(err, bot.ErrorForbidden):
			o.failed.Add(1)
			o.log.Warn("reply not delivered: the user blocked the bot", "chat", params.ChatID)
		case err != nil:
			o.failed.Add(1)
			o.log.Error("reply not delivered", "chat", params.ChatID, "err", err)
		default:
			o.sent.Add(1)
		}
		return
	}
}

// sendTimeout bounds one sendMessage.
const sendTimeout = 30 * time.Second

// waitTurn waits out a pause Telegram asked for, then the pace; false when
// the outbox gave up first.
func (o *outbox) waitTurn() bool {
	o.pauseMu.Lock()
	until := o.pauseUntil
	o.pauseMu.Unlock()
	if d := time.Until(until); d > 0 && !sleep(o.ctx, d) {
		return false
	}
	return o.limiter.Wait(o.ctx) == nil
}

func (o *outbox) pause(d time.Duration) {
	o.pauseMu.Lock()
	defer o.pauseMu.Unlock()
	if until := time.Now().Add(d); until.After(o.pauseUntil) {
		o.pauseUntil = until
	}
}

// close sends what is queued, within ctx, then gives up on the rest
// (logged per reply) and stops the senders.
func (o *outbox) close(ctx context.Context) {
	for _, l := range o.lanes {
		l.mu.Lock()
		l.closing = true
		l.mu.Unlock()
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	stop := context.AfterFunc(ctx, o.cancel)
	defer stop()
	o.wg.Wait()
	o.cancel()
}
