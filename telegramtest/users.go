package telegramtest

import (
	"context"
	"regexp"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// User is a scripted Telegram user. Its private chat with the bot has the
// user's id as chat id, as on Telegram.
type User struct {
	ID        int64
	FirstName string
	srv       *Server
}

// Contact is a contact card shared in a message. UserID is the Telegram user
// it belongs to, 0 for a card from the phone book of someone not on Telegram.
type Contact struct {
	PhoneNumber string
	FirstName   string
	UserID      int64
}

// NewUser returns a user with this id and first name. It sends nothing.
func (s *Server) NewUser(id int64, firstName string) *User {
	return &User{ID: id, FirstName: firstName, srv: s}
}

// Send sends text to the bot in the private chat, with a bot_command entity
// for every /command in it, and returns the update_id.
func (u *User) Send(text string) int64 {
	return u.srv.message(u.privateChat(), u, func(m *apiMessage) {
		m.Text = text
		m.Entities = commandEntities(text)
	})
}

// ShareContact shares the user's own contact with phone, as the
// request_contact button does (Telegram may send the number without "+").
// It returns the update_id.
func (u *User) ShareContact(phone string) int64 {
	return u.ShareContactOf(Contact{PhoneNumber: phone, FirstName: u.FirstName, UserID: u.ID})
}

// ShareContactOf shares c, which may be someone else's card, in the private
// chat, and returns the update_id.
func (u *User) ShareContactOf(c Contact) int64 {
	return u.srv.message(u.privateChat(), u, func(m *apiMessage) {
		m.Contact = &apiContact{PhoneNumber: c.PhoneNumber, FirstName: c.FirstName, UserID: c.UserID}
	})
}

// SendInGroup sends text in the group chat groupID (a negative id, by
// Telegram's convention), with command entities, and returns the update_id.
func (u *User) SendInGroup(groupID int64, text string) int64 {
	return u.srv.message(apiChat{ID: groupID, Type: "group", Title: "Group"}, u, func(m *apiMessage) {
		m.Text = text
		m.Entities = commandEntities(text)
	})
}

// Block makes every later sendMessage to the user's chat fail with 403
// "Forbidden: bot was blocked by the user". The user can still be scripted
// to send: that plays an update sent just before blocking the bot.
func (u *User) Block() { u.srv.setBlocked(u.ID, true) }

// Unblock lets messages reach the user again.
func (u *User) Unblock() { u.srv.setBlocked(u.ID, false) }

// Messages returns what the bot sent to the user, blocked attempts included.
func (u *User) Messages() []Message { return u.srv.Messages(u.ID) }

// WaitMessages waits until the bot has sent the user at least n messages
// (blocked attempts included) and returns them all; see Server.WaitMessages.
func (u *User) WaitMessages(ctx context.Context, n int) ([]Message, error) {
	return u.srv.WaitMessages(ctx, u.ID, n)
}

// PostToChannel posts text in the channel chatID, where the bot is an
// administrator, and returns the update_id (a channel_post update).
func (s *Server) PostToChannel(chatID int64, text string) int64 {
	c := apiChat{ID: chatID, Type: "channel", Title: "Channel"}
	s.mu.Lock()
	id := s.chatOf(c).nextMessageID()
	s.mu.Unlock()
	return s.push(update{ChannelPost: &apiMessage{
		MessageID: id, Date: time.Now().Unix(), Chat: c, Text: text, Entities: commandEntities(text),
	}})
}

func (u *User) privateChat() apiChat {
	return apiChat{ID: u.ID, Type: "private", FirstName: u.FirstName}
}

// message pushes a message update from u in chat c, filled by fill.
func (s *Server) message(c apiChat, u *User, fill func(*apiMessage)) int64 {
	s.mu.Lock()
	id := s.chatOf(c).nextMessageID()
	s.mu.Unlock()
	m := &apiMessage{MessageID: id, From: &apiUser{ID: u.ID, FirstName: u.FirstName}, Date: time.Now().Unix(), Chat: c}
	fill(m)
	return s.push(update{Message: m})
}

// commandRE is a bot command as Telegram marks it: "/" and up to 32 letters,
// digits or underscores, optionally addressed to a bot with "@username".
var commandRE = regexp.MustCompile(`^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?$`)

// commandEntities marks every whitespace-separated word of text that is a
// command, with offsets and lengths in UTF-16 code units as Telegram counts.
func commandEntities(text string) []apiEntity {
	var es []apiEntity
	for start := 0; start < len(text); {
		r, size := utf8.DecodeRuneInString(text[start:])
		if unicode.IsSpace(r) {
			start += size
			continue
		}
		end := start
		for end < len(text) {
			r, size := utf8.DecodeRuneInString(text[end:])
			if unicode.IsSpace(r) {
				break
			}
			end += size
		}
		if word := text[start:end]; commandRE.MatchString(word) {
			es = append(es, apiEntity{Type: "bot_command", Offset: utf16Len(text[:start]), Length: utf16Len(word)})
		}
		start = end
	}
	return es
}

func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }
