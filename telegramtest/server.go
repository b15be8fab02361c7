// Package telegramtest is an in-process fake of the Telegram Bot API, for
// testing a bot end to end without Telegram or network — the way yespotest
// stands in for Yespo.
//
//	tg := telegramtest.NewServer()
//	defer tg.Close()
//	b, err := bot.New(tg.Token, bot.WithServerURL(tg.URL)) // go-telegram/bot, or any client
//	ann := tg.NewUser(1001, "Ann")
//	ann.Send("/start crm-42")                  // an update with a bot_command entity
//	msgs, err := ann.WaitMessages(ctx, 1)      // what the bot answered
//
// # What it models
//
// Requests to URL + "/bot" + Token + "/" + method, by GET or POST, with the
// parameters in the query, or in a urlencoded, multipart or JSON body.
// Answers use the Bot API envelope: {"ok":true,"result":…} or
// {"ok":false,"error_code":…,"description":…}. Another token gets 401
// "Unauthorized", an unknown method 404 "Not Found".
//
// The methods are getMe; getUpdates as a long poll (it waits for an update up
// to the timeout asked for, capped by WithPollCap, honours offset and limit,
// and ends when the client goes away); sendMessage, which records every
// message, answers 400 "Bad Request: chat not found" for a chat that never
// wrote to the bot and 403 "Forbidden: bot was blocked by the user" for a
// chat blocked with User.Block; and setWebhook, deleteWebhook and
// getWebhookInfo.
//
// Like Telegram, the fake holds every update until it is confirmed: by the
// offset of a later getUpdates (so a bot that took updates and crashed gets
// them again), or by a 2xx from the webhook. While a webhook is set,
// getUpdates answers 409 and the pending updates are POSTed to the webhook
// instead, with its secret token in the X-Telegram-Bot-Api-Secret-Token
// header: at most max_connections at once (setWebhook's, 40 by default), one
// chat's updates one at a time and in order. A delivery that gets no 2xx,
// or no answer within WithWebhookTimeout, is re-sent after a growing delay,
// a few times (WithWebhookRetry) before the update is dropped; Deliveries
// and Dropped tell a test what happened, WaitConfirmed waits for it.
//
// WithSendLimit plays Telegram's limit on sendMessage (about 30 a second
// across chats): 429 with retry_after beyond it.
//
// Every message the bot sends is kept with the time the fake got it
// (Message.Time), so that a test can measure how long users waited for an
// answer; WaitSent waits for a number of messages in all chats at once, for
// tests of thousands of users (a burst of /start from a campaign) where a
// wait per user would cost more than the bot under test.
//
// # What it does not model
//
// Other methods, media, edits, Telegram's limit of one message a second per
// chat (LimitNextSends plays a 429 on demand), and the order of updates
// between two users scripted concurrently.
package telegramtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultToken is the bot token a Server accepts unless WithToken says
// otherwise. Its "4242424242" part is the bot's user id. It has the format
// of a token from @BotFather (digits, ":", then 35 of A-Z a-z 0-9 _ -),
// which some libraries check before any request (telego does).
const DefaultToken = "4242424242:TEST-telegramtest-token-0123456789a"

// Server is a fake Telegram Bot API on 127.0.0.1, started by NewServer.
type Server struct {
	URL      string // for bot.WithServerURL: no trailing slash
	Token    string // the bot token it accepts
	Username string // the bot's username, as getMe reports it

	hs       *httptest.Server
	pollCap  time.Duration
	hookHTTP *http.Client

	// The webhook's deliveries: see dispatch.
	hookCtx      context.Context
	hookStop     context.CancelFunc
	hookWG       sync.WaitGroup
	hookAttempts int
	hookDelay    time.Duration

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced on every change, to wake waiters
	lastUpdate int64
	queue      []*pending // unconfirmed updates, in order
	polling    int        // getUpdates calls waiting now
	chats      map[int64]*chat
	sent       int              // messages recorded, in all chats
	limitSends int              // sendMessage calls still to refuse with 429
	retryAfter int              // their retry_after, in seconds
	sendLimit  int              // sendMessage calls allowed per second across chats; 0: no limit
	sendTimes  []time.Time      // the sends of the last second, when sendLimit is set
	now        func() time.Time // the send limit's clock, a fake one in its test
	requests   []Request
	webhook    WebhookInfo
	deliveries []Delivery
	dropped    []int64
}

// Request is one Bot API call as the fake saw it.
type Request struct {
	Method string            // e.g. "sendMessage"
	Params map[string]string // as sent; JSON values other than strings as JSON text
	Status int               // the HTTP status answered; 0 when the client went away
}

// Option configures a Server in NewServer.
type Option func(*Server)

// WithToken sets the bot token the server accepts; the part before ":" is
// the bot's user id if it is a number.
func WithToken(token string) Option { return func(s *Server) { s.Token = token } }

// WithUsername sets the bot's username, "YespoDemoBot" by default.
func WithUsername(name string) Option { return func(s *Server) { s.Username = name } }

// WithPollCap caps how long getUpdates waits for an update, whatever timeout
// the client asks for; the default is one second. Waiters wake as soon as an
// update arrives, so the cap only matters when nothing happens.
func WithPollCap(d time.Duration) Option { return func(s *Server) { s.pollCap = d } }

// NewServer starts a fake Bot API on 127.0.0.1. Close it when done. Like
// httptest.NewServer, it panics if it cannot listen.
func NewServer(opts ...Option) *Server {
	s := &Server{
		Token:    DefaultToken,
		Username: "YespoDemoBot",
		pollCap:  time.Second,
		hookHTTP: &http.Client{Timeout: time.Minute},
		changed:  make(chan struct{}),
		chats:    map[int64]*chat{},
		now:      time.Now,

		hookAttempts: 8,
		hookDelay:    100 * time.Millisecond,
	}
	for _, o := range opts {
		o(s)
	}
	s.hookCtx, s.hookStop = context.WithCancel(context.Background())
	s.hs = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.hs.URL
	s.hookWG.Add(1)
	go s.dispatch()
	return s
}

// Close shuts the server down: it stops delivering to the webhook, cutting
// deliveries in flight short, and waits for requests in flight, which a long
// poll ends as soon as its client goes away.
func (s *Server) Close() {
	s.hookStop()
	s.hookWG.Wait()
	s.hs.Close()
}

// Requests returns every call the server answered, in the order answered.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// botUser is the bot itself, as getMe and the "from" of its messages show it.
func (s *Server) botUser() apiUser {
	id, _ := strconv.ParseInt(strings.SplitN(s.Token, ":", 2)[0], 10, 64)
	return apiUser{ID: id, IsBot: true, FirstName: "Yespo Demo", Username: s.Username}
}

// notify wakes every waiter; s.mu must be held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitPolling waits until a getUpdates call is waiting for updates — the bot
// is up and listening — and fails with ctx's error if ctx ends first.
func (s *Server) WaitPolling(ctx context.Context) error {
	return s.waitUntil(ctx, func() bool { return s.polling > 0 })
}

// waitUntil waits until cond, called with s.mu held, is true, waking on every
// change; it fails with ctx's error if ctx ends first.
func (s *Server) waitUntil(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		done, changed := cond(), s.changed
		s.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// serveHTTP checks the token, parses the parameters, runs the method and
// records the call.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	sw := &statusWriter{ResponseWriter: w}
	p, err := parseParams(r)
	switch {
	case !ok || !ok2:
		fail(sw, http.StatusNotFound, "Not Found")
	case token != s.Token:
		fail(sw, http.StatusUnauthorized, "Unauthorized")
	case err != nil:
		fail(sw, http.StatusBadRequest, "Bad Request: "+err.Error())
	default:
		s.call(sw, r, method, p)
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: method, Params: p, Status: sw.status})
	s.mu.Unlock()
}

func (s *Server) call(w http.ResponseWriter, r *http.Request, method string, p params) {
	switch strings.ToLower(method) { // Telegram's method names are case-insensitive
	case "getme":
		ok(w, s.botUser())
	case "getupdates":
		s.getUpdates(w, r, p)
	case "sendmessage":
		s.sendMessage(w, p)
	case "setwebhook":
		s.setWebhook(w, p)
	case "deletewebhook":
		s.deleteWebhook(w, p)
	case "getwebhookinfo":
		s.getWebhookInfo(w)
	default:
		fail(w, http.StatusNotFound, "Not Found")
	}
}

// ok writes the success envelope.
func ok(w http.ResponseWriter, result any) {
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "result": result})
}

// fail writes the error envelope, with the status as error_code.
func fail(w http.ResponseWriter, status int, description string) {
	writeJSON(w, status, map[string]any{"ok": false, "error_code": status, "description": description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do then
}

// statusWriter remembers the status written, for Requests.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}
