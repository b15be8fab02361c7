package telegramupdates

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// dispatcher runs the Handler on updates: one chat's one at a time and in
// the order submitted, different chats side by side, at most cap(slots) at
// once. Poller and Webhook each have one.
type dispatcher struct {
	handle  Handler
	slots   chan struct{} // one per Handler running
	timeout time.Duration // bounds one Handler call; 0: no bound
	// retryFor, when positive, has a failing update handled again, after a
	// growing delay, for that long; then giveUp hears of it and the update
	// counts as done. Zero leaves the retry to the caller (Telegram re-sends
	// a webhook request answered 500).
	retryFor time.Duration
	giveUp   func(Update, error)

	mu    sync.Mutex
	chats map[int64][]job // updates queued per chat; a chat with an entry has a goroutine draining it
	wg    sync.WaitGroup
}

// job is one update, the contexts that may end it, and who to tell.
type job struct {
	ctx   context.Context // ends the job if it has not started
	retry context.Context // ends its retries
	u     Update
	done  func(error)
}

func newDispatcher(h Handler, inFlight int, timeout time.Duration) *dispatcher {
	return &dispatcher{handle: h, slots: make(chan struct{}, inFlight), timeout: timeout, chats: map[int64][]job{}}
}

// submit queues u behind the earlier updates of its chat; done is called
// once, with nil when u is done (or given up on), else with why not. If ctx
// ends before u starts, u is not run; if retry ends, u is not retried: done
// gets the error.
func (d *dispatcher) submit(ctx, retry context.Context, u Update, done func(error)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	q, running := d.chats[u.ChatID]
	d.chats[u.ChatID] = append(q, job{ctx, retry, u, done})
	if !running {
		d.wg.Add(1)
		go d.drain(u.ChatID)
	}
}

// drain runs chat's updates in order until its queue is empty.
func (d *dispatcher) drain(chat int64) {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		q := d.chats[chat]
		if len(q) == 0 {
			delete(d.chats, chat)
			d.mu.Unlock()
			return
		}
		j := q[0]
		d.chats[chat] = q[1:]
		d.mu.Unlock()
		j.done(d.runJob(j))
	}
}

// runJob runs j's update, again while it fails and retryFor lasts.
func (d *dispatcher) runJob(j job) error {
	var deadline time.Time
	var backoff time.Duration
	for {
		err := d.once(j)
		if err == nil || d.retryFor <= 0 || j.retry.Err() != nil {
			return err
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(d.retryFor)
		}
		if !time.Now().Before(deadline) {
			if d.giveUp != nil {
				d.giveUp(j.u, err)
			}
			return nil // skipped: done, as far as confirming goes
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second, time.Until(deadline))
		if !sleep(j.retry, backoff) {
			return err
		}
	}
}

// once takes a slot and calls the Handler, on a context that j's does not
// cancel: a Handler already running finishes its work (d.timeout bounds
// it), so that a stop does not cut a durable write in half.
func (d *dispatcher) once(j job) (err error) {
	if err := j.ctx.Err(); err != nil {
		return err
	}
	select {
	case d.slots <- struct{}{}:
	case <-j.ctx.Done():
		return j.ctx.Err()
	}
	defer func() { <-d.slots }()
	ctx := context.WithoutCancel(j.ctx)
	if d.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.timeout)
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("telegramupdates: handler panicked on update %d: %v", j.u.ID, p)
		}
	}()
	return d.handle(ctx, j.u)
}

// wait waits until every update submitted so far is settled.
func (d *dispatcher) wait() { d.wg.Wait() }

// sleep waits d unless ctx ends first, and reports whether it waited.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
