package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/go-telegram/bot"

	"github.com/yespo-go/yespo/telegramupdates"
)

// serveWebhook registers publicURL with Telegram and serves the updates it
// posts on ln until ctx ends; then it stops taking requests and waits for the
// handlers in flight. The webhook stays registered, so that a restarted or
// replacing instance keeps receiving updates. An update is answered 200 only
// once its effect is durable, 500 when it could not be kept, so that
// Telegram sends it again.
func (a *app) serveWebhook(ctx context.Context, ln net.Listener, publicURL string) error {
	defer a.close()
	ln = limitListener(ln, a.cfg.maxConns+spareConns)
	defer ln.Close()
	if _, err := a.tg.SetWebhook(ctx, &bot.SetWebhookParams{URL: publicURL, SecretToken: a.hookSecret,
		MaxConnections: a.cfg.maxConns}); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: a clean stop too
		}
		return fmt.Errorf("telegram setWebhook %s: %w", publicURL, err)
	}
	mux := http.NewServeMux()
	a.adminRoutes(mux)
	mux.Handle("/", a.webhookHandler())
	srv := a.boundedServer(mux)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	a.log.Info("bot started: webhook", "bot", "@"+a.username, "listen", ln.Addr().String(), "url", publicURL,
		"yespo", a.cfg.yespoURL, "app", a.cfg.appUUID, "max_connections", a.cfg.maxConns)

	var err error
	select {
	case <-ctx.Done():
	case err = <-served: // the listener failed
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), hookAnswerTimeout+5*time.Second)
	defer cancel()
	if errShut := srv.Shutdown(shutdown); errShut != nil && err == nil {
		err = errShut
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// The bounds of the webhook listener: all that a stranger can hold.
const (
	defaultMaxConns = 40 // Telegram's default max_connections
	spareConns      = 24 // connections beyond Telegram's: health checks, metrics, strangers refused with 401
	maxUpdate       = 1 << 20
	// hookAnswerTimeout bounds the wait for an update's effect to be durable
	// before the answer: well under the ~60 s Telegram waits, after which it
	// would send the update again.
	hookAnswerTimeout = 45 * time.Second
)

// boundedServer is the webhook's http.Server with every timeout set: a
// connection that sends its headers or body slowly, or idles, is cut.
func (a *app) boundedServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second, // an update is at most maxUpdate: Telegram sends it at once
		WriteTimeout:      hookAnswerTimeout + 10*time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(newQuietHandler(a.log.Handler()), slog.LevelWarn),
	}
}

// webhookHandler takes Telegram's POSTs through telegramupdates.Webhook:
// the secret token first, before the body is read (401 for a wrong or
// missing one, and the stranger's connection is closed at once), then the
// update, which runs in its chat's order; the answer waits for its effect
// to be durable: 200, or 500 so that Telegram sends it again.
func (a *app) webhookHandler() http.Handler {
	bad := newLogBudget(a.log, "webhook: refused requests", 10*time.Second)
	return &telegramupdates.Webhook{
		Secret:         a.hookSecret,
		Handler:        a.handleRaw,
		MaxBody:        maxUpdate,
		MaxInFlight:    maxHandlers,
		HandlerTimeout: hookAnswerTimeout,
		OnRefused:      func(r *http.Request, why string) { bad.note(why, r) },
		OnFailed: func(u telegramupdates.Update, err error) {
			a.log.Warn("webhook: update not kept; answering 500 so that Telegram sends it again", "update", u.ID, "err", err)
		},
	}
}

// webhookSecret is the secret token every process of one bot registers
// and checks: TELEGRAM_WEBHOOK_SECRET, or one derived from the bot token,
// so that replicas agree without sharing more than the token.
func webhookSecret(cfg config) string {
	if cfg.webhookSecret != "" {
		return cfg.webhookSecret
	}
	mac := hmac.New(sha256.New, []byte(cfg.telegramToken))
	mac.Write([]byte("yespo-go telegram-bot webhook secret v1"))
	return hex.EncodeToString(mac.Sum(nil))
}

var secretRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func validWebhookSecret(s string) bool { return secretRE.MatchString(s) }

// limitListener accepts at most n connections at once: the others wait in
// the kernel's backlog, costing the process no file, until one closes (like
// golang.org/x/net/netutil.LimitListener).
func limitListener(ln net.Listener, n int) net.Listener {
	return &limitedListener{Listener: ln, slots: make(chan struct{}, n), done: make(chan struct{})}
}

type limitedListener struct {
	net.Listener
	slots     chan struct{}
	closeOnce sync.Once
	done      chan struct{}
}

func (l *limitedListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
}

func (l *limitedListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// logBudget logs refused requests at most once per period, with how many
// there were: a flood of them costs a line per period, not a line each.
type logBudget struct {
	log    *slog.Logger
	msg    string
	period time.Duration

	mu      sync.Mutex
	next    time.Time
	dropped int
}

func newLogBudget(log *slog.Logger, msg string, period time.Duration) *logBudget {
	return &logBudget{log: log, msg: msg, period: period}
}

// note logs why (cut to 200 bytes) and r's remote address, or counts it
// when a line went out less than a period ago.
func (b *logBudget) note(why string, r *http.Request) {
	b.mu.Lock()
	now := time.Now()
	if now.Before(b.next) {
		b.dropped++
		b.mu.Unlock()
		return
	}
	dropped := b.dropped
	b.dropped, b.next = 0, now.Add(b.period)
	b.mu.Unlock()
	if len(why) > 200 {
		why = why[:200] + "…"
	}
	b.log.Warn(b.msg, "why", why, "remote", r.RemoteAddr, "more_since_last_line", dropped)
}

// quietHandler passes at most one record a second of the http.Server's own
// log (accept errors, TLS handshakes of strangers), dropping the rest.
type quietHandler struct {
	slog.Handler
	mu   *sync.Mutex
	next *time.Time
}

func newQuietHandler(h slog.Handler) slog.Handler {
	return quietHandler{Handler: h, mu: &sync.Mutex{}, next: &time.Time{}}
}

func (q quietHandler) Handle(ctx context.Context, r slog.Record) error {
	q.mu.Lock()
	if r.Time.Before(*q.next) {
		q.mu.Unlock()
		return nil
	}
	*q.next = r.Time.Add(time.Second)
	q.mu.Unlock()
	return q.Handler.Handle(ctx, r)
}
