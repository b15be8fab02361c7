package telegramtest

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Message is one sendMessage the bot made, as the fake recorded it.
type Message struct {
	ChatID         int64
	ID             int // message_id; 0 when Blocked
	Text           string
	ReplyMarkup    string     // the reply_markup parameter as sent, "" when none
	Keyboard       [][]Button // the reply keyboard it shows, nil when none
	RemoveKeyboard bool       // it asked to remove the reply keyboard
	Blocked        bool       // refused with 403: the user blocked the bot
	Time           time.Time  // when the fake got the sendMessage, for reply times measured by a test
}

// Button is one button of a reply keyboard.
type Button struct {
	Text           string
	RequestContact bool // shares the user's own phone number when pressed
}

// chat is what the fake knows of a chat: it exists once someone wrote in it.
type chat struct {
	typ     string
	blocked bool
	lastID  int // message ids are per chat, shared by both directions
	sent    []Message
}

func (c *chat) nextMessageID() int {
	c.lastID++
	return c.lastID
}

// chatOf returns the chat for c, creating it; s.mu must be held.
func (s *Server) chatOf(c apiChat) *chat {
	ch, ok := s.chats[c.ID]
	if !ok {
		ch = &chat{typ: c.Type}
		s.chats[c.ID] = ch
	}
	return ch
}

func (s *Server) setBlocked(chatID int64, blocked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatOf(apiChat{ID: chatID, Type: "private"}).blocked = blocked
}

// Messages returns the messages the bot sent to chatID, in order, blocked
// attempts included; nil when there are none.
func (s *Server) Messages(chatID int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.chats[chatID]; ok {
		return append([]Message(nil), c.sent...)
	}
	return nil
}

// WaitMessages waits until the bot has sent chatID at least n messages
// (blocked attempts included) and returns them all. It fails when ctx ends
// first, with what was sent so far in the error.
func (s *Server) WaitMessages(ctx context.Context, chatID int64, n int) ([]Message, error) {
	var sent []Message
	err := s.waitUntil(ctx, func() bool {
		sent = nil
		if c, ok := s.chats[chatID]; ok {
			sent = append(sent, c.sent...)
		}
		return len(sent) >= n
	})
	if err != nil {
		return sent, fmt.Errorf("chat %d got %d of %d messages: %w (got %+v)", chatID, len(sent), n, err, sent)
	}
	return sent, nil
}

// WaitSent waits until the bot has sent n messages in all, to any chats
// (blocked attempts included), and fails with ctx's error, saying how many
// it got, if ctx ends first. A test of many users waits with it once rather
// than once per user.
func (s *Server) WaitSent(ctx context.Context, n int) error {
	got := 0
	err := s.waitUntil(ctx, func() bool {
		got = s.sent
		return got >= n
	})
	if err != nil {
		return fmt.Errorf("the bot sent %d of %d messages: %w", got, n, err)
	}
	return nil
}

// replyMarkup is the part of reply_markup the fake understands.
type replyMarkup struct {
	Keyboard [][]struct {
		Text           string `json:"text"`
		RequestContact bool   `json:"request_contact"`
	} `json:"keyboard"`
	RemoveKeyboard bool `json:"remove_keyboard"`
}

// LimitNextSends makes the next n sendMessage calls fail as Telegram does
// when a bot sends faster than it allows (about 30 messages a second to
// different chats): 429 "Too Many Requests: retry after N" with
// parameters.retry_after N, in whole seconds. Those calls send nothing.
func (s *Server) LimitNextSends(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limitSends, s.retryAfter = n, max(1, int((retryAfter+time.Second-1)/time.Second))
}

// WithSendLimit makes sendMessage behave like Telegram's limit on a bot's
// messages: at most perSecond calls in any one second, across all chats
// (Telegram allows about 30). Beyond it a call fails with 429 "Too Many
// Requests: retry after N" and parameters.retry_after N, in whole seconds
// until a call would pass again, and sends nothing. 0, the default, is no
// limit.
func WithSendLimit(perSecond int) Option { return func(s *Server) { s.sendLimit = max(perSecond, 0) } }

// limited reports whether this sendMessage is refused with 429, by
// LimitNextSends or by WithSendLimit, and with which retry_after; a call
// that passes counts towards the limit.
func (s *Server) limited() (bool, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limitSends > 0 {
		s.limitSends--
		return true, s.retryAfter
	}
	if s.sendLimit == 0 {
		return false, 0
	}
	now := s.now()
	i := 0
	for i < len(s.sendTimes) && now.Sub(s.sendTimes[i]) >= time.Second {
		i++
	}
	s.sendTimes = s.sendTimes[i:]
	if len(s.sendTimes) >= s.sendLimit {
		free := s.sendTimes[len(s.sendTimes)-s.sendLimit].Add(time.Second).Sub(now)
		return true, max(1, int((free+time.Second-1)/time.Second))
	}
	s.sendTimes = append(s.sendTimes, now)
	return false, 0
}

func (s *Server) sendMessage(w http.ResponseWriter, p params) {
	if limited, secs := s.limited(); limited {
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error_code": http.StatusTooManyRequests,
			"description": "Too Many Requests: retry after " + strconv.Itoa(secs), "parameters": map[string]int{"retry_after": secs}})
		return
	}
	chatID, err := strconv.ParseInt(p["chat_id"], 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, "Bad Request: chat not found")
		return
	}
	if p["text"] == "" {
		fail(w, http.StatusBadRequest, "Bad Request: message text is empty")
		return
	}
	var markup replyMarkup
	if _, err := p.object("reply_markup", &markup); err != nil {
		fail(w, http.StatusBadRequest, "Bad Request: "+err.Error())
		return
	}
	m := Message{ChatID: chatID, Text: p["text"], ReplyMarkup: p["reply_markup"], RemoveKeyboard: markup.RemoveKeyboard}
	for _, row := range markup.Keyboard {
		var buttons []Button
		for _, b := range row {
			buttons = append(buttons, Button{Text: b.Text, RequestContact: b.RequestContact})
		}
		m.Keyboard = append(m.Keyboard, buttons)
	}
	s.record(w, m)
}

// record stores m and answers: 400 for an unknown chat, 403 for a blocked
// one, else the sent message.
func (s *Server) record(w http.ResponseWriter, m Message) {
	s.mu.Lock()
	c, known := s.chats[m.ChatID]
	if !known {
		s.mu.Unlock()
		fail(w, http.StatusBadRequest, "Bad Request: chat not found")
		return
	}
	m.Blocked, m.Time = c.blocked, time.Now()
	s.sent++
	if !m.Blocked {
		m.ID = c.nextMessageID()
	}
	c.sent = append(c.sent, m)
	s.notify()
	chatType := c.typ
	s.mu.Unlock()
	if m.Blocked {
		fail(w, http.StatusForbidden, "Forbidden: bot was blocked by the user")
		return
	}
	from := s.botUser()
	ok(w, apiMessage{MessageID: m.ID, From: &from, Date: time.Now().Unix(), Chat: apiChat{ID: m.ChatID, Type: chatType}, Text: m.Text})
}
