package yespotest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/yespo-go/yespo"
)

// routes mounts the endpoints of the core client below /api/.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/apps/{app}/tokens", s.addTokens)
	mux.HandleFunc("POST /api/v1/apps/{app}/token/mute", s.mute)
	mux.HandleFunc("POST /api/v1/apps/{app}/token/unmute", s.unmute)
	mux.HandleFunc("GET /api/v1/contact/token/{app}/{token}/contactId", s.contactID)
	mux.HandleFunc("POST /api/v2/event", s.event)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		plain(w, http.StatusNotFound, "Not found")
	})
	return s.gate(mux)
}

// recorder files the status in Requests as the header is written, before
// any byte reaches the client, so that a client never sees its answer
// before Requests does.
type recorder struct {
	http.ResponseWriter
	s       *Server
	i       int // index in s.requests, or -1
	written bool
	arrived time.Time // as in Request.Time
}

func (r *recorder) WriteHeader(code int) {
	if !r.written && r.i >= 0 { // i < 0: WithoutHistory keeps no Requests
		r.s.mu.Lock()
		r.s.requests[r.i].Status = code
		r.s.mu.Unlock()
	}
	r.written = true
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.written {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

// MaxBody is the largest request body the fake accepts; a larger one is
// answered 413. Yespo documents no limit: this one keeps a test's memory
// bounded while holding far more tokens than any sensible request.
const MaxBody = 32 << 20

// gate does what comes before any endpoint, in order: record the request,
// wait out the latency, play an injected fault, enforce the rate limit,
// refuse an oversized body, check the API key.
func (s *Server) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
		tooLarge := len(body) > MaxBody
		body = body[:min(len(body), MaxBody)]
		r.Body = io.NopCloser(bytes.NewReader(body))
		now := time.Now()
		s.mu.Lock()
		rec := &recorder{ResponseWriter: w, s: s, i: -1, arrived: now}
		if !s.cfg.forget {
			rec.i = len(s.requests)
			s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.EscapedPath(), Body: body, Time: now})
		}
		b := budgetOf(r.URL.Path)
		fault, faulty := s.faults.next(b == yespo.BudgetEvent)
		allowed, wait := s.windows[b].allow(s.cfg.limit(b), now)
		s.mu.Unlock()

		if !sleep(r, s.cfg.latency) {
			return
		}
		switch {
		case faulty && s.play(rec, r, fault):
		case !allowed:
			rec.Header().Set("Retry-After", retryAfterSeconds(wait))
			plain(rec, http.StatusTooManyRequests, "Too many requests")
		case tooLarge:
			rec.Header().Set("Connection", "close") // the rest of the body is not read
			plain(rec, http.StatusRequestEntityTooLarge, "Request body too large: the limit is "+strconv.Itoa(MaxBody>>20)+" MiB")
		case !s.authorized(r):
			rec.Header().Set("WWW-Authenticate", `Basic realm="yespo"`)
			plain(rec, http.StatusUnauthorized, "Unauthorized")
		default:
			next.ServeHTTP(rec, r)
		}
	})
}

// sleep waits d, or until the client goes away; it reports whether to answer.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// play acts out f; it reports whether f answered (or dropped) the request.
// A pure Delay then lets the request through.
func (s *Server) play(w *recorder, r *http.Request, f Fault) bool {
	if !sleep(r, f.Delay) {
		return true
	}
	switch {
	case f.Drop:
		if conn, _, err := http.NewResponseController(w.ResponseWriter).Hijack(); err == nil {
			_ = conn.Close()
		}
		return true
	case f.Status != 0:
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", retryAfterSeconds(f.RetryAfter))
		}
		plain(w, f.Status, f.Body)
		return true
	}
	return false
}

func (s *Server) authorized(r *http.Request) bool {
	_, pass, ok := r.BasicAuth()
	return ok && pass == s.APIKey
}

// app checks the {app} path value: 400 "Wrong app uuid" when malformed, 404
// "Not registered application" when unknown. It reports whether to go on.
func (s *Server) app(w http.ResponseWriter, r *http.Request) (string, bool) {
	app := r.PathValue("app")
	if yespo.ValidateAppUUID(app) != nil {
		plain(w, http.StatusBadRequest, "Wrong app uuid")
		return "", false
	}
	s.mu.Lock()
	known := s.apps[app]
	s.mu.Unlock()
	if !known {
		plain(w, http.StatusNotFound, "Not registered application")
		return "", false
	}
	return app, true
}

// addTokens files every token, or none: a request with one bad token is
// answered 400 and changes nothing.
func (s *Server) addTokens(w http.ResponseWriter, r *http.Request) {
	app, ok := s.app(w, r)
	if !ok {
		return
	}
	var req struct {
		Tokens []yespo.Token `json:"tokens"`
	}
	if !decode(w, r, &req) {
		return
	}
	if len(req.Tokens) == 0 {
		plain(w, http.StatusBadRequest, "Token(s) must be specified")
		return
	}
	for _, t := range req.Tokens {
		if msg := tokenProblem(t); msg != "" {
			plain(w, http.StatusBadRequest, msg)
			return
		}
	}
	if !s.cfg.forget {
		s.mu.Lock()
		now := time.Now()
		for _, t := range req.Tokens {
			s.book.addToken(app, t, s.cfg.matching)
			if k := (tokenKey{app, t.Token}); s.added[k].IsZero() {
				s.added[k] = now
			}
		}
		s.mu.Unlock()
	}
	jsonString(w, "OK")
}

// tokenProblem is the server's own check: the documented texts where there
// are some, and the rules the client enforces, so that raw requests meet them.
func tokenProblem(t yespo.Token) string {
	switch {
	case t.Token == "":
		return "Token must be specified"
	case t.ContactID == 0 && t.ExternalCustomerID == "" && t.Phone == "" && t.Email == "":
		return "Contact identifier must be specified"
	case t.Validate() != nil:
		return "Invalid token: " + strings.ReplaceAll(t.Validate().Error(), "\n", "; ")
	}
	return ""
}

func (s *Server) mute(w http.ResponseWriter, r *http.Request) {
	app, ok := s.app(w, r)
	if !ok {
		return
	}
	var req struct {
		Token    string           `json:"token"`
		Duration *json.RawMessage `json:"duration"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Token == "" {
		plain(w, http.StatusBadRequest, "Token must be specified")
		return
	}
	until := mutedForever
	if req.Duration != nil {
		secs, err := strconv.ParseInt(string(*req.Duration), 10, 64)
		if err != nil || secs < int64(yespo.MinMute/time.Second) || secs > int64(yespo.MaxMute/time.Second) {
			plain(w, http.StatusBadRequest, "Duration must be positive int")
			return
		}
		until = time.Now().Add(time.Duration(secs) * time.Second)
	}
	s.setMute(w, app, req.Token, until)
}

func (s *Server) unmute(w http.ResponseWriter, r *http.Request) {
	app, ok := s.app(w, r)
	if !ok {
		return
	}
	var req struct {
		Token string `json:"token"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Token == "" {
		plain(w, http.StatusBadRequest, "Token must be specified")
		return
	}
	s.setMute(w, app, req.Token, time.Time{})
}

// setMute answers 404 "Token not found" when no contact holds the token:
// Yespo does not document this case, and a loud answer catches a bot that
// mutes before it registers.
func (s *Server) setMute(w http.ResponseWriter, app, token string, until time.Time) {
	s.mu.Lock()
	found := s.book.setMute(app, token, until) || s.cfg.forget
	s.mu.Unlock()
	if !found {
		plain(w, http.StatusNotFound, "Token not found")
		return
	}
	jsonString(w, "OK")
}

func (s *Server) contactID(w http.ResponseWriter, r *http.Request) {
	app, ok := s.app(w, r)
	if !ok {
		return
	}
	c, found := s.ContactByToken(app, r.PathValue("token"))
	if !found {
		plain(w, http.StatusNotFound, "Contact not found")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"id":`+formatID(c.ID)+`}`)
}

// decode reads a JSON body into v, answering 400 when it is not JSON.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		plain(w, http.StatusBadRequest, "Invalid JSON: "+err.Error())
		return false
	}
	return true
}

// plain answers with a text body, as Yespo's errors come.
func plain(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

// jsonString answers 200 with a JSON string, as Yespo documents its success.
func jsonString(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "application/json")
	b, _ := json.Marshal(s)
	_, _ = w.Write(b)
}

func isForbidden(reason string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(reason)), "forbidden")
}
