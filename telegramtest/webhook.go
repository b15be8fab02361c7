package telegramtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Delivery is one POST of an update to the webhook, as the fake made it.
type Delivery struct {
	UpdateID int64
	Attempt  int       // 1 for the first delivery of the update, 2 for its first re-send…
	Status   int       // the HTTP status answered; 0 when there was no answer
	Err      string    // why it failed; "" for a 2xx
	Start    time.Time // when the POST began
	End      time.Time // when it ended: answered, failed or timed out
}

// WithWebhookTimeout sets how long a webhook delivery may wait for its
// answer before it counts as failed and is re-sent: 60 s by default, about
// what Telegram waits.
func WithWebhookTimeout(d time.Duration) Option {
	return func(s *Server) { s.hookHTTP.Timeout = d }
}

// WithWebhookRetry sets how often a webhook delivery that got no 2xx is
// tried in all before the update is dropped (at least 1; 8 by default), and
// the wait before the first re-send (100 ms by default), which doubles
// with each one up to 5 s.
func WithWebhookRetry(attempts int, delay time.Duration) Option {
	return func(s *Server) { s.hookAttempts, s.hookDelay = max(attempts, 1), delay }
}

// maxHookDelay caps the wait between two deliveries of one update.
const maxHookDelay = 5 * time.Second

// Deliveries returns every webhook delivery ended so far, in the order
// they ended.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// Dropped returns the ids of the updates dropped after their last failed
// webhook delivery.
func (s *Server) Dropped() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.dropped)
}

// dispatch delivers the pending updates to the webhook while one is set,
// like Telegram: at most MaxConnections at once, one chat's updates one at
// a time and in order, a failed one re-sent after a growing delay. It runs
// until the server closes.
func (s *Server) dispatch() {
	defer s.hookWG.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		next := s.startDeliveries()
		changed := s.changed
		s.mu.Unlock()
		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
		select {
		case <-changed:
		case <-timer.C:
		case <-s.hookCtx.Done():
			return
		}
	}
}

// startDeliveries starts every delivery the rules allow now and returns
// when the next re-send is due, zero if none is waiting; s.mu must be held.
func (s *Server) startDeliveries() time.Time {
	hook := s.webhook
	if hook.URL == "" {
		return time.Time{}
	}
	var next time.Time
	now := time.Now()
	inFlight := 0
	for _, p := range s.queue {
		if p.inFlight {
			inFlight++
		}
	}
	busy := map[int64]bool{} // chats with an earlier update not yet confirmed
	for _, p := range s.queue {
		if inFlight >= hook.MaxConnections {
			break
		}
		if busy[p.chat] && p.chat != 0 {
			continue
		}
		busy[p.chat] = true
		switch {
		case p.inFlight:
		case now.Before(p.retryAt):
			if next.IsZero() || p.retryAt.Before(next) {
				next = p.retryAt
			}
		default:
			p.inFlight = true
			inFlight++
			s.hookWG.Add(1)
			go s.deliver(hook, p)
		}
	}
	return next
}

// deliver POSTs p to the webhook like Telegram: JSON, with the secret token.
// A 2xx confirms it; anything else, or no answer within the timeout, is
// recorded and re-sent later, until the attempts are spent.
func (s *Server) deliver(hook WebhookInfo, p *pending) {
	defer s.hookWG.Done()
	d := Delivery{UpdateID: p.UpdateID, Attempt: p.attempts + 1, Start: time.Now()}
	body, _ := json.Marshal(p.update) // plain structs: cannot fail
	req, err := http.NewRequestWithContext(s.hookCtx, http.MethodPost, hook.URL, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		if hook.SecretToken != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", hook.SecretToken)
		}
		var resp *http.Response
		if resp, err = s.hookHTTP.Do(req); err == nil {
			resp.Body.Close()
			d.Status = resp.StatusCode
			if resp.StatusCode/100 != 2 {
				err = fmt.Errorf("wrong response from the webhook: %s", resp.Status)
			}
		}
	}
	d.End = time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	p.inFlight = false
	if err != nil {
		d.Err = err.Error()
		s.webhook.LastError = d.Err
		p.attempts++
		p.retryAt = d.End.Add(min(s.hookDelay<<(p.attempts-1), maxHookDelay))
	}
	s.deliveries = append(s.deliveries, d)
	if err == nil || p.attempts >= s.hookAttempts {
		if err != nil {
			s.dropped = append(s.dropped, p.UpdateID)
		}
		if i := slices.Index(s.queue, p); i >= 0 {
			s.queue = slices.Delete(s.queue, i, i+1)
		}
	}
	s.notify()
}
