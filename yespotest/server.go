package yespotest

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/yespo-go/yespo"
)

// Server is a fake Yespo apps API on 127.0.0.1, started by NewServer.
type Server struct {
	URL    string // base URL for yespo.WithBaseURL, ending in "/api/"
	APIKey string // the key it accepts as the Basic password; any other key gets 401

	srv *httptest.Server
	cfg config

	mu       sync.Mutex
	apps     map[string]bool
	book     book
	requests []Request
	reports  []StatusReport
	faults   faults
	windows  map[yespo.Budget]*rateWindow // one per budget, as Yespo counts them
	events   []Event
	added    map[tokenKey]time.Time // when each token was first stored
}

// Request is one request as the fake saw it.
type Request struct {
	Method, Path string    // Path as sent, escaped
	Body         []byte    // at most MaxBody bytes
	Status       int       // what the fake answered; 0 when dropped
	Time         time.Time // when it arrived, for rates measured by a test
}

// StatusReport is one message status given to ReportStatus.
type StatusReport struct {
	AppUUID, Token string
	Status         MessageStatus
	Reason         string
}

// MessageStatus is what a message sent to a token did, as Yespo tracks it for
// Telegram.
type MessageStatus string

// The statuses Yespo tracks for Telegram messages.
const (
	StatusSent    MessageStatus = "SENT"
	StatusFailed  MessageStatus = "FAILED"
	StatusClicked MessageStatus = "CLICKED"
)

// NewServer starts a fake Yespo on 127.0.0.1. Close it when done. Its key is
// the WithAPIKey one, else YESPOTEST_API_KEY from the environment (a secret
// sweep sets one sentinel key for a whole test run), else made up.
func NewServer(opts ...Option) *Server {
	cfg := config{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.apiKey == "" {
		cfg.apiKey = cmp.Or(os.Getenv("YESPOTEST_API_KEY"), "yespotest-"+randomHex(8))
	}
	if !cfg.seeded {
		cfg.seed = int64(mathrand.Uint64() >> 1)
	}
	s := &Server{APIKey: cfg.apiKey, cfg: cfg, apps: map[string]bool{}, book: newBook(), added: map[tokenKey]time.Time{},
		windows: map[yespo.Budget]*rateWindow{yespo.BudgetAccount: {}, yespo.BudgetContactLookup: {}, yespo.BudgetEvent: {}}}
	s.faults.rng = mathrand.New(mathrand.NewPCG(uint64(cfg.seed), 0x9e3779b97f4a7c15))
	s.srv = httptest.NewServer(s.routes())
	s.URL = s.srv.URL + "/api/"
	return s
}

// Close shuts the server down, ending any request in flight.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Client returns a yespo.Client for this server: its URL and key, retry waits
// of a few milliseconds, then opts. With YESPOTEST_LOG=debug in the
// environment the client logs every attempt to stderr. It panics if an option is bad, like
// httptest does on misuse.
func (s *Server) Client(opts ...yespo.Option) *yespo.Client {
	all := []yespo.Option{yespo.WithBaseURL(s.URL), yespo.WithRetry(3, time.Millisecond, 20*time.Millisecond)}
	if os.Getenv("YESPOTEST_LOG") == "debug" {
		all = append(all, yespo.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	all = append(all, opts...)
	c, err := yespo.NewClient(s.APIKey, all...)
	if err != nil {
		panic("yespotest: Client: " + err.Error())
	}
	return c
}

// NewApp registers a new app and returns its UUID.
func (s *Server) NewApp() string {
	b := []byte(randomHex(16))
	uuid := fmt.Sprintf("%s-%s-4%s-a%s-%s", b[0:8], b[8:12], b[13:16], b[17:20], b[20:32])
	if err := s.RegisterApp(uuid); err != nil {
		panic("yespotest: NewApp made a malformed UUID: " + err.Error()) // a bug here, not misuse
	}
	return uuid
}

// RegisterApp registers appUUID, as connecting a bot in Yespo does; requests
// for other apps get 404 "Not registered application". It returns the
// *yespo.ValidationError of yespo.ValidateAppUUID for a malformed UUID, and
// registers nothing then.
func (s *Server) RegisterApp(appUUID string) error {
	if err := yespo.ValidateAppUUID(appUUID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[appUUID] = true
	return nil
}

// AddContact seeds an existing contact, as if created in Yespo before. An ID
// of 0 is assigned; the stored contact is returned. It panics if the ID is
// taken.
func (s *Server) AddContact(c Contact) Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.book.add(c).clone()
}

// Contacts returns a deep copy of every contact, ordered by ID. With
// WithoutHistory only those seeded with AddContact: tokens sent are not
// stored.
func (s *Server) Contacts() []Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Contact, len(s.book.contacts))
	for i, c := range s.book.contacts {
		out[i] = c.clone()
	}
	return out
}

// ContactByToken returns the contact holding token for appUUID (the one
// with the lowest ID, should several hold it), and false when none does.
func (s *Server) ContactByToken(appUUID, token string) (Contact, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.book.holdersOf(appUUID, token); len(h) > 0 {
		return h[0].clone(), true
	}
	return Contact{}, false
}

// Requests returns every request the server got, in order; none with
// WithoutHistory.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.requests)
	for i := range out {
		out[i].Body = slices.Clone(out[i].Body)
	}
	return out
}

// ReportStatus records what a send to token did. StatusFailed with reason
// "Forbidden" (the user blocked the bot) removes the token from every contact
// card, as Yespo does; the bot must register it again on the next /start.
// Other reports change nothing; Reports lists them all.
func (s *Server) ReportStatus(appUUID, token string, status MessageStatus, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reports = append(s.reports, StatusReport{appUUID, token, status, reason})
	if status == StatusFailed && isForbidden(reason) {
		s.book.removeToken(appUUID, token)
	}
}

// Reports returns every ReportStatus call, in order.
func (s *Server) Reports() []StatusReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reports)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
