package yespo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespotest"
)

// welcome is a valid event: a type, a key, and params of several kinds.
func welcome() yespo.Event {
	return yespo.Event{
		TypeKey:  "telegram_subscribed",
		KeyValue: "cust-42",
		Params: []yespo.EventParam{
			{Name: "telegramChatId", Value: "123456789"},
			{Name: "firstName", Value: "Ann <b>"},
			{Name: "items", Value: []map[string]any{{"sku": "A1", "qty": 2}}},
		},
	}
}

// Each rule of Generate event, on its own: the error names the field and
// the rule, matches ErrInvalidEvent and ErrInvalidInput, and nothing is
// sent.
func TestEventValidation(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	param := func(name string, v any) []yespo.EventParam { return []yespo.EventParam{{Name: name, Value: v}} }
	cases := map[string]struct {
		mutate      func(*yespo.Event)
		field, want string // want: a part of the reason; "" = valid
	}{
		"valid":                            {func(*yespo.Event) {}, "", ""},
		"type key missing":                 {func(e *yespo.Event) { e.TypeKey = "" }, "eventTypeKey", "is required"},
		"type key blank":                   {func(e *yespo.Event) { e.TypeKey = "  " }, "eventTypeKey", "blank"},
		"type key at 100":                  {func(e *yespo.Event) { e.TypeKey = long(100) }, "", ""},
		"type key over 100":                {func(e *yespo.Event) { e.TypeKey = long(101) }, "eventTypeKey", "at most 100 characters, got 101"},
		"type key 100 Cyrillic letters":    {func(e *yespo.Event) { e.TypeKey = strings.Repeat("ж", 100) }, "", ""},
		"type key emoji count twice":       {func(e *yespo.Event) { e.TypeKey = long(99) + "🙂" }, "eventTypeKey", "got 101"},
		"type key typographic apostr.":     {func(e *yespo.Event) { e.TypeKey = "user’s_signup" }, "eventTypeKey", "'’'"},
		"type key backtick":                {func(e *yespo.Event) { e.TypeKey = "a`b" }, "eventTypeKey", "'`'"},
		"type key space inside is fine":    {func(e *yespo.Event) { e.TypeKey = "new subscriber" }, "", ""},
		"type key surrounding space":       {func(e *yespo.Event) { e.TypeKey = "signup " }, "eventTypeKey", "surrounding white space"},
		"type key control":                 {func(e *yespo.Event) { e.TypeKey = "a\nb" }, "eventTypeKey", "control"},
		"type key bad UTF-8":               {func(e *yespo.Event) { e.TypeKey = "a\xffb" }, "eventTypeKey", "UTF-8"},
		"key value at 300":                 {func(e *yespo.Event) { e.KeyValue = long(300) }, "", ""},
		"key value over 300":               {func(e *yespo.Event) { e.KeyValue = long(301) }, "keyValue", "at most 300 characters, got 301"},
		"key value forbidden":              {func(e *yespo.Event) { e.KeyValue = "a,b" }, "keyValue", "','"},
		"key value blank":                  {func(e *yespo.Event) { e.KeyValue = " " }, "keyValue", "blank"},
		"key value email is fine":          {func(e *yespo.Event) { e.KeyValue = "ann@example.com" }, "", ""},
		"param name blank":                 {func(e *yespo.Event) { e.Params[0].Name = "" }, "params[0].name", "must not be blank"},
		"param value not JSON":             {func(e *yespo.Event) { e.Params[1].Value = math.NaN() }, "params[1].value", "cannot be encoded as JSON"},
		"param raw value not JSON":         {func(e *yespo.Event) { e.Params[1].Value = json.RawMessage("{") }, "params[1].value", "cannot be encoded as JSON"},
		"param nil value is null":          {func(e *yespo.Event) { e.Params[1].Value = nil }, "", ""},
		"no key, no identifier":            {func(e *yespo.Event) { e.KeyValue = "" }, "params", "must hold a contact identifier"},
		"no key, email":                    {func(e *yespo.Event) { e.KeyValue, e.Params = "", param("email", "a@example.com") }, "", ""},
		"no key, contactId number":         {func(e *yespo.Event) { e.KeyValue, e.Params = "", param("contactId", 42) }, "", ""},
		"no key, pushToken":                {func(e *yespo.Event) { e.KeyValue, e.Params = "", param("pushToken", "123") }, "", ""},
		"no key, phone":                    {func(e *yespo.Event) { e.KeyValue, e.Params = "", param("phone", "+380501234567") }, "", ""},
		"no key, externalCustomerId":       {func(e *yespo.Event) { e.KeyValue, e.Params = "", param("externalCustomerId", "c-1") }, "", ""},
		"no key, externalCustomerId null":  {func(e *yespo.Event) { e.KeyValue, e.Params = "", param("externalCustomerId", "NULL") }, "params", "(externalCustomerId) has no usable value"},
		"no key, externalCustomerId blank": {func(e *yespo.Event) { e.KeyValue, e.Params = "", param("externalCustomerId", " ") }, "params", "has no usable value"},
		"no key, email JSON null":          {func(e *yespo.Event) { e.KeyValue, e.Params = "", param("email", nil) }, "params", "has no usable value"},
		"no key, email an object":          {func(e *yespo.Event) { e.KeyValue, e.Params = "", param("email", map[string]string{}) }, "params", "has no usable value"},
		"no key, misspelt identifier":      {func(e *yespo.Event) { e.KeyValue, e.Params = "", param("Email", "a@example.com") }, "params", `named "Email": write it "email"`},
		"body at 20 KB":                    {func(e *yespo.Event) { e.Params = param("p", strings.Repeat("x", 20_000-bodyLen(t, "p"))) }, "", ""},
		"body over 20 KB":                  {func(e *yespo.Event) { e.Params = param("p", strings.Repeat("x", 20_001-bodyLen(t, "p"))) }, "event", "encodes to 20001 bytes"},
	}
	srv := newServer(t)
	srv.mux.HandleFunc("POST /v2/event", answer(http.StatusOK, `"OK"`))
	c := srv.client(t)
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ev := welcome()
			tc.mutate(&ev)
			err := ev.Validate()
			sendErr := c.SendEvent(context.Background(), ev)
			if tc.want == "" {
				assert.NoError(t, err)
				assert.NoError(t, sendErr)
				return
			}
			require.Error(t, err)
			assert.Equal(t, err.Error(), sendErr.Error(), "SendEvent refuses what Validate does")
			assert.ErrorIs(t, err, yespo.ErrInvalidEvent)
			assert.ErrorIs(t, err, yespo.ErrInvalidInput)
			var ve *yespo.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Field)
			assert.Contains(t, ve.Reason, tc.want)
			assert.Equal(t, "yespo: invalid "+tc.field+": "+ve.Reason, err.Error(), "one problem, one line")
		})
	}
	for _, r := range strings.Fields(yespoForbidden) {
		assert.ErrorContains(t, yespo.ValidateEventTypeKey("a"+r+"b"), "must not contain", "%s in a type key", r)
		assert.ErrorContains(t, yespo.ValidateEventKeyValue("a"+r+"b"), "must not contain", "%s in a key value", r)
	}
	require.Len(t, strings.Fields(yespoForbidden), 14)
	sent := 0
	for _, r := range srv.requests() {
		if r.Path == "/v2/event" {
			sent++
		}
	}
	valid := 0
	for _, tc := range cases {
		if tc.want == "" {
			valid++
		}
	}
	assert.Equal(t, valid, sent, "only valid events were sent")
}

// yespoForbidden are the characters Yespo's documentation forbids in
// eventTypeKey and keyValue, as it lists them.
const yespoForbidden = "< ; ’ \\ / | \" ` ' ^ ? ! , >"

// bodyLen is the length of a body with one param named name whose value is
// the empty string: the overhead around the value.
func bodyLen(t *testing.T, name string) int {
	b, err := json.Marshal(map[string]any{
		"eventTypeKey": "telegram_subscribed", "keyValue": "cust-42",
		"params": []map[string]string{{"name": name, "value": ""}},
	})
	require.NoError(t, err)
	return len(b)
}

// Every problem is reported at once, in field order.
func TestEventValidationJoinsProblems(t *testing.T) {
	err := yespo.Event{TypeKey: "a?", KeyValue: "b!", Params: []yespo.EventParam{{Name: " ", Value: 1}}}.Validate()
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, 3, err.Error())
	assert.True(t, strings.HasPrefix(lines[0], "yespo: invalid eventTypeKey: "), lines[0])
	assert.True(t, strings.HasPrefix(lines[1], "yespo: invalid keyValue: "), lines[1])
	assert.True(t, strings.HasPrefix(lines[2], "yespo: invalid params[0].name: "), lines[2])
}

// The body as Yespo gets it: the documented fields, params in order, each
// value as JSON without HTML escaping, "params" an array even when empty.
func TestSendEventBody(t *testing.T) {
	srv := newServer(t)
	srv.mux.HandleFunc("POST /v2/event", answer(http.StatusOK, `"OK"`))
	c := srv.client(t)
	require.NoError(t, c.SendEvent(context.Background(), welcome()))
	require.NoError(t, c.SendEvent(context.Background(), yespo.Event{TypeKey: "ping", KeyValue: "k"}))
	reqs := srv.requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "/v2/event", reqs[0].Path)
	assert.Equal(t, "application/json; charset=UTF-8", reqs[0].Header.Get("Content-Type"))
	assert.Equal(t, testKey, reqs[0].Pass)
	assert.Equal(t, `{"eventTypeKey":"telegram_subscribed","keyValue":"cust-42","params":[`+
		`{"name":"telegramChatId","value":"123456789"},{"name":"firstName","value":"Ann <b>"},`+
		`{"name":"items","value":[{"qty":2,"sku":"A1"}]}]}`, string(reqs[0].Body))
	assert.Equal(t, `{"eventTypeKey":"ping","keyValue":"k","params":[]}`, string(reqs[1].Body))
}

// An Event survives a JSON round trip — a journal's payload — and encodes
// to the same body, a number beyond float64's precision included.
func TestEventJSONRoundTrip(t *testing.T) {
	ev := welcome()
	ev.Params = append(ev.Params, yespo.EventParam{Name: "big", Value: json.RawMessage("12345678901234567890123")})
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	var back yespo.Event
	require.NoError(t, json.Unmarshal(raw, &back))
	assert.Equal(t, json.RawMessage("12345678901234567890123"), back.Params[3].Value)
	assert.JSONEq(t, `"Ann <b>"`, string(back.Params[1].Value.(json.RawMessage)))

	srv := newServer(t)
	srv.mux.HandleFunc("POST /v2/event", answer(http.StatusOK, `"OK"`))
	c := srv.client(t)
	require.NoError(t, c.SendEvent(context.Background(), ev))
	require.NoError(t, c.SendEvent(context.Background(), back))
	reqs := srv.requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, string(reqs[0].Body), string(reqs[1].Body))

	// json.Marshal's \u003c escapes are undone on the wire, and nothing
	// else: an escaped backslash before "u003c" is the text \u003c.
	escaped := json.RawMessage(`{"a\u003e":"x\\u003c \u0026 \u00e9 \"\u003c"}`)
	require.NoError(t, c.SendEvent(context.Background(), yespo.Event{TypeKey: "t", KeyValue: "k",
		Params: []yespo.EventParam{{Name: "v", Value: escaped}}}))
	reqs = srv.requests()
	assert.Equal(t, `{"eventTypeKey":"t","keyValue":"k","params":[{"name":"v","value":{"a>":"x\\u003c & \u00e9 \"<"}}]}`,
		string(reqs[2].Body))

	var absent yespo.EventParam
	require.NoError(t, json.Unmarshal([]byte(`{"name":"x"}`), &absent))
	assert.Nil(t, absent.Value, "an absent value is null")
}

// Each answer as SendEvent reports it: the server's words on a 400 at the
// first attempt; 429, 5xx and a reset connection retried; 401 and 403
// naming the right to generate events; 404 as ErrNotFound with the base URL
// advice.
func TestSendEventAnswers(t *testing.T) {
	cases := map[string]struct {
		handler  http.HandlerFunc
		is       error // nil: success
		attempts int
		says     string
	}{
		"200":            {answer(200, `"OK"`), nil, 1, ""},
		"204":            {answer(204, ""), nil, 1, ""},
		"400":            {answer(400, `{"message":"Invalid params: firstName"}`), yespo.ErrBadRequest, 1, "400 Bad Request: Invalid params: firstName"},
		"429 then 200":   {sequence(answer(429, "Too many requests"), answer(200, `"OK"`)), nil, 2, ""},
		"503 then 200":   {sequence(answer(503, "down"), answer(200, `"OK"`)), nil, 2, ""},
		"reset then 200": {sequence(reset, answer(200, `"OK"`)), nil, 2, ""},
		"503 always":     {answer(503, "down"), yespo.ErrServer, 4, "(4 attempts)"},
		"401":            {answer(401, "Unauthorized"), yespo.ErrUnauthorized, 1, "wrong or revoked, or lacks the right to generate events"},
		"403":            {answer(403, "Forbidden"), yespo.ErrForbidden, 1, `403 Forbidden: Forbidden; the API key lacks the right for "Generate event"`},
		"404":            {answer(404, "Not found"), yespo.ErrNotFound, 1, `check that the base URL ends in "/api/"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t)
			srv.mux.HandleFunc("POST /v2/event", tc.handler)
			err := srv.client(t).SendEvent(context.Background(), welcome())
			assert.Len(t, srv.requests(), tc.attempts, "attempts")
			if tc.is == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tc.is)
			var ae *yespo.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, "v2/event", ae.Path)
			assert.Contains(t, err.Error(), tc.says)
		})
	}
}

// SendEvent against the fake over a real socket, at a far server's
// latency: the fake records the event with its params as sent, and
// refuses by its own reading of the rules what the client would not send.
func TestSendEventToFake(t *testing.T) {
	srv := yespotest.NewServer(yespotest.WithLatency(20 * time.Millisecond))
	defer srv.Close()
	app := srv.NewApp()
	c := srv.Client()
	ctx := context.Background()
	require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: "123456789", ExternalCustomerID: "cust-42"}}))
	before := time.Now()
	require.NoError(t, c.SendEvent(ctx, welcome()))

	events := srv.Events()
	require.Len(t, events, 1)
	got := events[0]
	assert.Equal(t, "telegram_subscribed", got.TypeKey)
	assert.Equal(t, "cust-42", got.KeyValue)
	require.Len(t, got.Params, 3)
	assert.Equal(t, yespo.EventParam{Name: "telegramChatId", Value: json.RawMessage(`"123456789"`)}, got.Params[0])
	assert.JSONEq(t, `[{"sku":"A1","qty":2}]`, string(got.Params[2].Value.(json.RawMessage)))
	assert.False(t, got.Time.Before(before), "the time it arrived")
	added, ok := srv.TokenAddedAt(app, "123456789")
	require.True(t, ok)
	assert.True(t, got.Time.After(added), "sent after the token's 2xx, it arrived after the token was stored")

	// What the client refuses, the fake refuses too, in its own words.
	for _, body := range []string{
		`{"eventTypeKey":"a?b","keyValue":"k","params":[]}`,
		`{"eventTypeKey":"a","keyValue":"` + strings.Repeat("k", 301) + `","params":[]}`,
		`{"eventTypeKey":"a","params":[{"name":"externalCustomerId","value":"null"}]}`,
		`{"keyValue":"k","params":[]}`,
	} {
		status, text := rawPost(t, srv, body)
		assert.Equal(t, http.StatusBadRequest, status, body)
		assert.NotEmpty(t, text)
	}
	assert.Len(t, srv.Events(), 1, "refused events are not recorded")
}

// rawPost sends body to the fake's v2/event as is, with its key.
func rawPost(t *testing.T, srv *yespotest.Server, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"v2/event", strings.NewReader(body))
	require.NoError(t, err)
	req.SetBasicAuth("u", srv.APIKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// A 401 or 403 from the fake's faults reaches the caller with the right's
// name, and errors.As still finds the *APIError.
func TestSendEventFaultsFromFake(t *testing.T) {
	srv := yespotest.NewServer()
	defer srv.Close()
	c := srv.Client()
	srv.FailNextEvents(1, yespotest.Fault{Status: http.StatusForbidden, Body: "Access denied"})
	err := c.SendEvent(context.Background(), welcome())
	assert.ErrorIs(t, err, yespo.ErrForbidden)
	var ae *yespo.APIError
	require.True(t, errors.As(err, &ae))
	assert.Equal(t, "Access denied", ae.Message)
	assert.Contains(t, err.Error(), `right for "Generate event"`)
	require.NoError(t, c.SendEvent(context.Background(), welcome()), "the fault was used up")
}

// The sentinel key, echoed by the server in every form, never shows in
// SendEvent's errors — the 401/403 hint included — nor in its log records.
func TestSendEventNoKeyInErrorsOrLogs(t *testing.T) {
	echo := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Echo", r.Header.Get("Authorization"))
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"message":"key %s, header %s"}`, sentinel, r.Header.Get("Authorization"))
		}
	}
	for _, status := range []int{400, 401, 403, 404, 503} {
		s := newServer(t)
		s.mux.HandleFunc("POST /v2/event", echo(status))
		var logs bytes.Buffer
		logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c, err := yespo.NewClient(sentinel, yespo.WithBaseURL(s.baseURL()), yespo.WithLogger(logger),
			yespo.WithRetry(2, time.Millisecond, 2*time.Millisecond))
		require.NoError(t, err)
		err = c.SendEvent(context.Background(), welcome())
		require.Error(t, err, status)
		for _, out := range printed(err) {
			assert.Empty(t, leaks(out), "%d: %s", status, out)
		}
		var ae *yespo.APIError
		require.ErrorAs(t, err, &ae)
		assert.Empty(t, leaks(string(ae.Body)+ae.Message+fmt.Sprint(ae.Header)), status)
		assert.Contains(t, ae.Message, "[REDACTED]", "%d: the echo is still visible", status)
		assert.Empty(t, leaks(logs.String()), status)
	}
	// A validation error has no key to show.
	c, err := yespo.NewClient(sentinel)
	require.NoError(t, err)
	err = c.SendEvent(context.Background(), yespo.Event{TypeKey: "?"})
	for _, out := range printed(err) {
		assert.Empty(t, leaks(out), out)
	}
}
