package telegramtest

import (
	"context"
	"net/http"
	"slices"
	"time"
)

// The Bot API objects the fake sends, with the Bot API's field names. They
// are its own rather than a client library's, so that a client that decodes
// them differently from Telegram fails here too.
type (
	update struct {
		UpdateID    int64       `json:"update_id"`
		Message     *apiMessage `json:"message,omitempty"`
		ChannelPost *apiMessage `json:"channel_post,omitempty"`
	}
	apiMessage struct {
		MessageID int         `json:"message_id"`
		From      *apiUser    `json:"from,omitempty"`
		Date      int64       `json:"date"`
		Chat      apiChat     `json:"chat"`
		Text      string      `json:"text,omitempty"`
		Entities  []apiEntity `json:"entities,omitempty"`
		Contact   *apiContact `json:"contact,omitempty"`
	}
	apiUser struct {
		ID        int64  `json:"id"`
		IsBot     bool   `json:"is_bot"`
		FirstName string `json:"first_name"`
		Username  string `json:"username,omitempty"`
	}
	apiChat struct {
		ID        int64  `json:"id"`
		Type      string `json:"type"`
		Title     string `json:"title,omitempty"`
		FirstName string `json:"first_name,omitempty"`
	}
	apiEntity struct {
		Type   string `json:"type"`
		Offset int    `json:"offset"` // in UTF-16 code units, as Telegram counts
		Length int    `json:"length"`
	}
	apiContact struct {
		PhoneNumber string `json:"phone_number"`
		FirstName   string `json:"first_name"`
		UserID      int64  `json:"user_id,omitempty"`
	}
)

// WebhookInfo is the webhook the bot set, as getWebhookInfo reports it.
type WebhookInfo struct {
	URL            string // empty when no webhook is set
	SecretToken    string // what the fake sends in X-Telegram-Bot-Api-Secret-Token
	MaxConnections int    // deliveries in flight at most: setWebhook's max_connections, 40 by default
	LastError      string // the last failed delivery, if any
}

// Webhook returns the webhook currently set, if any.
func (s *Server) Webhook() WebhookInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhook
}

// WaitWebhook waits until the bot has set a webhook and returns it; it
// fails with ctx's error if ctx ends first.
func (s *Server) WaitWebhook(ctx context.Context) (WebhookInfo, error) {
	var hook WebhookInfo
	err := s.waitUntil(ctx, func() bool {
		hook = s.webhook
		return hook.URL != ""
	})
	return hook, err
}

// pending is an update Telegram still holds: not yet confirmed by a
// getUpdates offset or a webhook's 2xx.
type pending struct {
	update
	chat     int64     // the chat it happened in, for the per-chat order of deliveries
	inFlight bool      // a webhook delivery is under way
	attempts int       // webhook deliveries that failed
	retryAt  time.Time // no new delivery before
}

// push numbers a new update and queues it until it is confirmed: by a later
// getUpdates offset, or by a webhook's 2xx. It returns the update_id.
func (s *Server) push(u update) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastUpdate++
	u.UpdateID = s.lastUpdate
	p := &pending{update: u}
	for _, m := range []*apiMessage{u.Message, u.ChannelPost} {
		if m != nil {
			p.chat = m.Chat.ID
		}
	}
	s.queue = append(s.queue, p)
	s.notify()
	return u.UpdateID
}

// PendingUpdates returns how many updates the fake holds that nobody has
// confirmed yet, as getWebhookInfo's pending_update_count.
func (s *Server) PendingUpdates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// WaitConfirmed waits until every update up to updateID has been confirmed
// (a later getUpdates offset, or a webhook's 2xx) or dropped after its last
// failed delivery, and fails with ctx's error if ctx ends first.
func (s *Server) WaitConfirmed(ctx context.Context, updateID int64) error {
	return s.waitUntil(ctx, func() bool { return len(s.queue) == 0 || s.queue[0].UpdateID > updateID })
}

// getUpdates answers the updates from offset on, waiting for one up to the
// timeout asked for (capped by pollCap) unless the client goes away first.
// Like Telegram, an offset confirms, and forgets, every update before it.
func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request, p params) {
	offset, err1 := p.int64("offset", 0)
	limit, err2 := p.int64("limit", 100)
	timeout, err3 := p.int64("timeout", 0)
	if err := firstErr(err1, err2, err3); err != nil {
		fail(w, http.StatusBadRequest, "Bad Request: "+err.Error())
		return
	}
	limit = min(max(limit, 1), 100)
	expire := time.NewTimer(min(time.Duration(timeout)*time.Second, s.pollCap))
	defer expire.Stop()
	s.countPoller(+1)
	defer s.countPoller(-1)
	for {
		batch, hooked, changed := s.takeUpdates(offset, int(limit))
		switch {
		case hooked:
			fail(w, http.StatusConflict, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
			return
		case len(batch) > 0 || timeout <= 0:
			ok(w, batch)
			return
		}
		select {
		case <-changed:
		case <-expire.C:
			ok(w, []update{})
			return
		case <-r.Context().Done():
			return
		}
	}
}

// countPoller tracks the getUpdates calls in progress, so that a test can
// wait until the bot is polling.
func (s *Server) countPoller(delta int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.polling += delta
	s.notify()
}

// takeUpdates drops the confirmed updates and returns up to limit pending
// ones, whether a webhook is set, and the channel that signals a change.
func (s *Server) takeUpdates(offset int64, limit int) ([]update, bool, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.webhook.URL != "" {
		return nil, true, s.changed
	}
	confirmed := 0
	for confirmed < len(s.queue) && s.queue[confirmed].UpdateID < offset {
		confirmed++
	}
	if confirmed > 0 {
		s.queue = slices.Delete(s.queue, 0, confirmed)
		s.notify()
	}
	batch := []update{}
	for _, p := range s.queue[:min(limit, len(s.queue))] {
		batch = append(batch, p.update)
	}
	return batch, false, s.changed
}

func (s *Server) setWebhook(w http.ResponseWriter, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	maxConns, err := p.int64("max_connections", 40)
	if err != nil || maxConns < 1 || maxConns > 100 {
		fail(w, http.StatusBadRequest, "Bad Request: max_connections must be from 1 to 100")
		return
	}
	s.webhook = WebhookInfo{URL: p["url"], SecretToken: p["secret_token"], MaxConnections: int(maxConns)}
	if p.bool("drop_pending_updates") {
		s.queue = nil
	}
	s.notify() // a waiting getUpdates now conflicts
	ok(w, true)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhook = WebhookInfo{}
	if p.bool("drop_pending_updates") {
		s.queue = nil
	}
	s.notify()
	ok(w, true)
}

func (s *Server) getWebhookInfo(w http.ResponseWriter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ok(w, map[string]any{
		"url":                    s.webhook.URL,
		"has_custom_certificate": false,
		"pending_update_count":   len(s.queue),
		"last_error_message":     s.webhook.LastError,
		"max_connections":        s.webhook.MaxConnections,
	})
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
