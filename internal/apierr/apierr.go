// Package apierr words a Yespo answer outside 2xx: the text of an
// *APIError, which right a 403 lacks, and whether a 404 comes from the API
// at all.
package apierr

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/yespo-go/yespo/internal/redact"
	"github.com/yespo-go/yespo/internal/retry"
)

// EventPath is Generate event (v2), relative to the base URL.
const EventPath = "v2/event"

// Answer is what an error text is made of.
type Answer struct {
	Method, Path string
	Status       int
	Message      string
	Body         []byte
	ContentType  string
	RetryAfter   time.Duration
	Attempts     int
}

// Text reads like "yespo: POST v1/apps/<uuid>/tokens: 404 Not Found: Not
// registered application", followed by the retry hint and attempt count
// when they say something, a 403's missing right, and, for a 404 that does
// not come from the API, advice to check that the base URL ends as
// defaultBase does.
func (a Answer) Text(defaultBase string) string {
	var b strings.Builder
	b.WriteString("yespo: " + a.Method + " " + a.Path + ": " + strconv.Itoa(a.Status))
	if text := http.StatusText(a.Status); text != "" {
		b.WriteString(" " + text)
	}
	if a.Message != "" {
		b.WriteString(": " + a.Message)
	}
	var notes []string
	if a.RetryAfter > 0 {
		notes = append(notes, "retry after "+a.RetryAfter.String())
	}
	if a.Attempts > 1 {
		notes = append(notes, strconv.Itoa(a.Attempts)+" attempts")
	}
	if len(notes) > 0 {
		b.WriteString(" (" + strings.Join(notes, ", ") + ")")
	}
	if a.Status == http.StatusForbidden {
		b.WriteString(RightHint(a.Method, a.Path))
	}
	if a.NotFromYespo() {
		b.WriteString(`; this 404 does not look like the Yespo API's: check that the base URL ends in "/api/", as in ` + defaultBase)
	}
	return b.String()
}

// AppNotRegistered reports whether msg is Yespo's documented answer for an
// app UUID the account has not connected.
func AppNotRegistered(msg string) bool {
	return strings.Contains(strings.ToLower(msg), "not registered application")
}

// NotFromYespo reports whether a 404 looks like a web server's or a
// router's rather than the Yespo API's: what a base URL without its "/api/"
// part gets. An HTML page or a router's stock text counts for every
// endpoint. An empty body or a bare "Not found" counts only for the apps
// endpoints, whose one documented 404 is "Not registered application", and
// for Generate event, which has none:
// ContactIDByToken answers 404 for an unknown token in words Yespo does not
// document, which may well be those.
func (a Answer) NotFromYespo() bool {
	if a.Status != http.StatusNotFound || AppNotRegistered(a.Message) {
		return false
	}
	body := bytes.TrimSpace(a.Body)
	if bytes.HasPrefix(body, []byte("<")) || strings.Contains(strings.ToLower(a.ContentType), "html") {
		return true
	}
	msg := strings.ToLower(strings.Trim(a.Message, " .!"))
	switch {
	case msg == "404 page not found", // Go's ServeMux
		strings.HasPrefix(msg, "cannot get /"), strings.HasPrefix(msg, "cannot post /"): // Express
		return true
	case strings.HasPrefix(a.Path, "v1/apps/"), a.Path == EventPath: // no documented 404 for an event
		return msg == "" || msg == "not found" || msg == "404 not found" || msg == "404"
	}
	return false
}

// methodNames are Yespo's names for the methods whose right a key may lack,
// by the start of the path after "v1/apps/{uuid}/" or "v1/" (see RightHint).
var methodNames = []struct{ suffix, name string }{
	{"/tokens", "Add application tokens"},
	{"/token/mute", "Mute a token"},
	{"/token/unmute", "Unmute a token"},
	{"/contactId", "Get contact ID by token"},
	{"v2/event", "Generate event"},
}

// RightHint says, for a 403, which method's right the key lacks: Yespo
// grants rights per method, and a key that passed CheckApp may still lack
// the right for adding tokens.
func RightHint(method, path string) string {
	name := method + " " + path
	for _, m := range methodNames {
		if strings.HasSuffix(path, m.suffix) {
			name = `"` + m.name + `"`
			break
		}
	}
	return "; the API key lacks the right for " + name +
		" (Yespo grants rights per method: Settings, API, edit the key)"
}

// Read words a non-2xx answer from a bounded read of its body: Message,
// Body, Header and RetryAfter, each scrubbed by s in its final form (the
// message after decoding, the body as sent, each header value). Message is
// cut at maxMessage bytes and Body at maxBody. It reads a little past
// maxBody, so that a key straddling it is still found and scrubbed; a body
// cut short by a broken connection still tells something. It leaves the
// body open.
func Read(resp *http.Response, s redact.Scrubber, maxBody, maxMessage int) Scrubbed {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, int64(maxBody+s.Margin())))
	out := Scrubbed{
		Message: redact.Clean(s.Text(redact.RawMessage(raw, resp.Header.Get("Content-Type"))), maxMessage),
		Body:    s.Body(raw, maxBody),
		Header:  s.Header(resp.Header),
	}
	if d, ok := retry.ServerWait(resp.StatusCode, resp.Header, time.Now()); ok {
		out.RetryAfter = d
	}
	return out
}

// Scrubbed is what Read takes from an answer.
type Scrubbed struct {
	Message    string
	Body       []byte
	Header     http.Header
	RetryAfter time.Duration
}

// Call names a call in an error: "yespo: POST v1/x", with " (3 attempts)"
// when there was more than one.
func Call(method, path string, attempts int) string {
	text := "yespo: " + method + " " + path
	if attempts > 1 {
		text += " (" + strconv.Itoa(attempts) + " attempts)"
	}
	return text
}
