package yespotest

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/yespo-go/yespo"
)

// Event is one event the fake accepted on Generate event (v2), in the
// order they arrived. Each param's Value is the json.RawMessage that was
// sent.
type Event struct {
	yespo.Event
	// Time is when the request arrived, as in Request.Time. An event sent
	// once its token's 2xx came back arrives after TokenAddedAt.
	Time time.Time
}

// Events returns a deep copy of every event the server accepted, in
// arrival order; none with WithoutHistory. Events refused (400, a fault,
// 429) are not in it; Requests has every request.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.events)
	for i := range out {
		out[i].Params = slices.Clone(out[i].Params)
		for j, p := range out[i].Params {
			if raw, ok := p.Value.(json.RawMessage); ok {
				out[i].Params[j].Value = slices.Clone(raw)
			}
		}
	}
	return out
}

// TokenAddedAt returns when the server first stored token for appUUID,
// just before it answered that request's 2xx, and false if it never did
// (or with WithoutHistory). With Events' times it tells whether an event
// about a subscriber reached Yespo before the subscriber's token had: an
// event whose Time is before TokenAddedAt was sent without waiting for the
// token's 2xx.
func (s *Server) TokenAddedAt(appUUID, token string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.added[tokenKey{appUUID, token}]
	return at, ok
}

// event answers Generate event (v2) with Yespo's documented rules; see the
// package documentation.
func (s *Server) event(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	if len(raw) > yespo.MaxEventBody {
		plain(w, http.StatusBadRequest, "Request body must be at most 20 KB")
		return
	}
	var ev yespo.Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		plain(w, http.StatusBadRequest, "Invalid JSON: "+err.Error())
		return
	}
	if msg := eventProblem(ev); msg != "" {
		plain(w, http.StatusBadRequest, msg)
		return
	}
	if !s.cfg.forget {
		s.mu.Lock()
		s.events = append(s.events, Event{Event: ev, Time: arrival(w)})
		s.mu.Unlock()
	}
	jsonString(w, "OK")
}

// eventProblem is the server's own check of the documented rules, written
// apart from the client's so that the two do not share a mistake.
func eventProblem(ev yespo.Event) string {
	if ev.TypeKey == "" {
		return "eventTypeKey must be specified"
	}
	if msg := eventKeyProblem("eventTypeKey", ev.TypeKey, 100); msg != "" {
		return msg
	}
	if ev.KeyValue != "" {
		return eventKeyProblem("keyValue", ev.KeyValue, 300)
	}
	for _, p := range ev.Params {
		if identifiesContact(p) {
			return ""
		}
	}
	return "Contact identifier must be specified: keyValue, or a param contactId, externalCustomerId, email, phone or pushToken"
}

// eventKeyProblem checks eventTypeKey or keyValue: at most limit
// characters (UTF-16 units, the strictest count) and none of the forbidden
// ones.
func eventKeyProblem(field, s string, limit int) string {
	if n := len(utf16.Encode([]rune(s))); n > limit {
		return field + " must be at most " + strconv.Itoa(limit) + " characters"
	}
	if i := strings.IndexAny(s, "<;’\\/|\"`'^?!,>"); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return field + " contains a forbidden character: " + string(r)
	}
	return ""
}

// identifiesContact reports whether p names the event's contact: an
// identifier's name with a number or a string that is not blank — nor
// "null" for externalCustomerId, which Yespo ignores then.
func identifiesContact(p yespo.EventParam) bool {
	switch p.Name {
	case "contactId", "externalCustomerId", "email", "phone", "pushToken":
	default:
		return false
	}
	raw, _ := p.Value.(json.RawMessage)
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	switch v := v.(type) {
	case float64:
		return true
	case string:
		v = strings.TrimSpace(v)
		return v != "" && !(p.Name == "externalCustomerId" && strings.EqualFold(v, "null"))
	}
	return false
}

// arrival returns when the gate let the request in.
func arrival(w http.ResponseWriter) time.Time {
	if rec, ok := w.(*recorder); ok {
		return rec.arrived
	}
	return time.Now()
}
