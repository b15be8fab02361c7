package telegramupdates

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// Webhook is the http.Handler for the URL given to setWebhook. Set Secret
// and Handler; the zero value of every other field is its default. It
// answers a delivery 200 only once Handler returned nil for its update, and
// 500 otherwise (an error, HandlerTimeout passed), so that Telegram sends it
// again.
//
// A request without the secret costs nothing but its headers: it is
// answered 401 with "Connection: close" and its body is never read — the
// connection's read is ended at once, where net/http would otherwise go on
// reading up to 256 KB of the unread body after the answer, which a slow
// sender could stretch to the server's ReadTimeout. Bound the connections
// with the server (Telegram opens at most setWebhook's max_connections,
// 40 by default) and set its ReadHeaderTimeout and ReadTimeout.
type Webhook struct {
	// Secret is setWebhook's secret_token (1–256 of A-Z a-z 0-9 _ -), which
	// Telegram sends in X-Telegram-Bot-Api-Secret-Token; it is compared in
	// constant time. An empty Secret refuses every request.
	Secret  string
	Handler Handler // required
	// MaxBody caps an update's size: 1 MiB when zero. A larger one gets
	// 400, like any body that is not an update.
	MaxBody int64
	// MaxInFlight bounds the Handler calls running at once: 64 when zero.
	// Further updates wait, one chat's in the order they came.
	MaxInFlight int
	// HandlerTimeout bounds the wait for an update's Handler, queueing
	// included, and the Handler's context: 45 s when zero, well within the
	// ~60 s after which Telegram gives up on an answer and sends again.
	HandlerTimeout time.Duration
	// OnRefused hears of each request refused before its Handler: why says
	// what was wrong ("invalid webhook secret token", "not a POST",
	// "undecodable update: …"), never with the secret or the body.
	OnRefused func(r *http.Request, why string)
	// OnFailed hears of each update answered 500, with the Handler's error.
	OnFailed func(u Update, err error)

	once sync.Once
	d    *dispatcher
}

// Defaults of the Webhook's fields.
const (
	defaultMaxBody            = 1 << 20
	defaultWebhookWait        = 45 * time.Second
	secretHeader              = "X-Telegram-Bot-Api-Secret-Token"
	defaultWebhookMaxInFlight = 64
)

// errNotInTime is a Handler that did not return within HandlerTimeout.
var errNotInTime = errors.New("telegramupdates: the handler did not finish within HandlerTimeout")

// ServeHTTP takes one delivery: the method and the secret first, before
// the body is read, then the update, whose answer waits for its Handler.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(func() {
		h.d = newDispatcher(h.Handler, or(h.MaxInFlight, defaultWebhookMaxInFlight), or(h.HandlerTimeout, defaultWebhookWait))
	})
	switch {
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		h.refuse(w, r, http.StatusMethodNotAllowed, "not a POST")
		return
	case h.Secret == "" || h.Handler == nil:
		h.refuse(w, r, http.StatusUnauthorized, "no secret or handler set: every request is refused")
		return
	case subtle.ConstantTimeCompare([]byte(r.Header.Get(secretHeader)), []byte(h.Secret)) != 1:
		h.refuse(w, r, http.StatusUnauthorized, "invalid webhook secret token")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, or(h.MaxBody, defaultMaxBody)))
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			h.note(r, "undecodable update: larger than MaxBody")
			http.Error(w, "not an update", http.StatusBadRequest)
			return
		}
		h.note(r, "reading the update: "+err.Error())
		return // the connection broke or timed out: nobody to answer
	}
	u, err := Parse(body)
	if err != nil {
		h.note(r, "undecodable update: "+err.Error()) // the error, never the body
		http.Error(w, "not an update", http.StatusBadRequest)
		return
	}
	if err := h.handle(r.Context(), u); err != nil {
		if h.OnFailed != nil {
			h.OnFailed(u, err)
		}
		http.Error(w, "update not handled, send it again", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handle runs u's Handler behind its chat's earlier updates and returns its
// outcome, or errNotInTime after HandlerTimeout. A request that goes away
// first takes its update out of the queue if it has not started.
func (h *Webhook) handle(ctx context.Context, u Update) error {
	ctx, cancel := context.WithTimeout(ctx, or(h.HandlerTimeout, defaultWebhookWait))
	defer cancel()
	done := make(chan error, 1)
	h.d.submit(ctx, ctx, u, func(err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return errNotInTime
		}
		return ctx.Err()
	}
}

// refuse answers a stranger's request without reading its body: the read
// deadline in the past makes net/http's read of the leftover body, after
// the answer, fail at once, so the connection closes as soon as the answer
// is out instead of holding its slot while the sender trickles bytes.
func (h *Webhook) refuse(w http.ResponseWriter, r *http.Request, status int, why string) {
	h.note(r, why)
	_ = http.NewResponseController(w).SetReadDeadline(time.Unix(1, 0)) // fails only where there is no connection to hold
	w.Header().Set("Connection", "close")
	http.Error(w, http.StatusText(status), status)
}

func (h *Webhook) note(r *http.Request, why string) {
	if h.OnRefused != nil {
		h.OnRefused(r, why)
	}
}
