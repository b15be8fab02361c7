package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envelope is the Bot API answer, read the way a client reads it.
type envelope struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

// call makes one Bot API call with ctx and decodes the envelope; status is
// the HTTP status.
func call(ctx context.Context, t *testing.T, s *Server, token, method, contentType string, body io.Reader) (int, envelope) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/bot"+token+"/"+method, body)
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var env envelope
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&env))
	return resp.StatusCode, env
}

func get(t *testing.T, s *Server, methodAndQuery string) (int, envelope) {
	return call(context.Background(), t, s, s.Token, methodAndQuery, "", nil)
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestEnvelopeAndToken(t *testing.T) {
	s := NewServer(WithUsername("TestBot"))
	defer s.Close()

	status, env := get(t, s, "getMe")
	require.Equal(t, http.StatusOK, status)
	assert.True(t, env.OK)
	assert.JSONEq(t, `{"id":4242424242,"is_bot":true,"first_name":"Yespo Demo","username":"TestBot"}`, string(env.Result))

	status, env = call(context.Background(), t, s, "1:wrong", "getMe", "", nil)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, envelope{ErrorCode: 401, Description: "Unauthorized"}, env)

	status, env = get(t, s, "sendPhoto")
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, envelope{ErrorCode: 404, Description: "Not Found"}, env)
}

// The same sendMessage in each of the four encodings the Bot API accepts
// lands as the same message.
func TestParametersInEveryEncoding(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.NewUser(7, "Ann").Send("hi")
	markup := `{"keyboard":[[{"text":"Share","request_contact":true}]],"one_time_keyboard":true}`
	form := url.Values{"chat_id": {"7"}, "text": {"hello"}, "reply_markup": {markup}}

	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	for k, v := range form {
		require.NoError(t, mw.WriteField(k, v[0]))
	}
	require.NoError(t, mw.Close())

	encodings := []struct {
		name, method, contentType, body string
	}{
		{"query", "sendMessage?" + form.Encode(), "", ""},
		{"urlencoded", "sendMessage", "application/x-www-form-urlencoded", form.Encode()},
		{"multipart", "sendMessage", mw.FormDataContentType(), mp.String()},
		{"json", "sendMessage", "application/json", `{"chat_id":7,"text":"hello","reply_markup":` + markup + `}`},
	}
	for i, e := range encodings {
		status, env := call(context.Background(), t, s, s.Token, e.method, e.contentType, strings.NewReader(e.body))
		require.Equal(t, http.StatusOK, status, e.name)
		assert.JSONEq(t, `"hello"`, jsonField(t, env.Result, "text"), e.name)
		got := s.Messages(7)
		require.Len(t, got, i+1, e.name)
		assert.Equal(t, [][]Button{{{Text: "Share", RequestContact: true}}}, got[i].Keyboard, e.name)
		assert.JSONEq(t, markup, got[i].ReplyMarkup, e.name)
	}
}

func jsonField(t *testing.T, raw json.RawMessage, field string) string {
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &m))
	return string(m[field])
}

func TestSendMessageFailures(t *testing.T) {
	s := NewServer()
	defer s.Close()
	ann := s.NewUser(7, "Ann")

	status, env := get(t, s, "sendMessage?chat_id=7&text=hi")
	assert.Equal(t, http.StatusBadRequest, status, "nobody wrote from chat 7 yet")
	assert.Equal(t, "Bad Request: chat not found", env.Description)

	ann.Send("hi")
	status, env = get(t, s, "sendMessage?chat_id=7")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "Bad Request: message text is empty", env.Description)

	ann.Block()
	status, env = get(t, s, "sendMessage?chat_id=7&text=one")
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, envelope{ErrorCode: 403, Description: "Forbidden: bot was blocked by the user"}, env)

	ann.Unblock()
	status, _ = get(t, s, "sendMessage?chat_id=7&text=two")
	assert.Equal(t, http.StatusOK, status)
	msgs := ann.Messages()
	for i := range msgs {
		assert.WithinDuration(t, time.Now(), msgs[i].Time, 5*time.Second, "when the fake got it")
		msgs[i].Time = time.Time{}
	}
	assert.Equal(t, []Message{
		{ChatID: 7, Text: "one", Blocked: true},
		{ChatID: 7, ID: 2, Text: "two"}, // id 1 is Ann's "hi"
	}, msgs)
}

func updateIDs(t *testing.T, env envelope) []int64 {
	t.Helper()
	require.True(t, env.OK, env.Description)
	var us []update
	require.NoError(t, json.Unmarshal(env.Result, &us))
	ids := []int64{}
	for _, u := range us {
		ids = append(ids, u.UpdateID)
	}
	return ids
}

func TestGetUpdatesOffsetAndLimit(t *testing.T) {
	s := NewServer()
	defer s.Close()
	ann := s.NewUser(7, "Ann")
	for range 3 {
		ann.Send("hi")
	}
	_, env := get(t, s, "getUpdates")
	assert.Equal(t, []int64{1, 2, 3}, updateIDs(t, env))
	_, env = get(t, s, "getUpdates?offset=2&limit=1")
	assert.Equal(t, []int64{2}, updateIDs(t, env))
	_, env = get(t, s, "getUpdates?offset=0")
	assert.Equal(t, []int64{2, 3}, updateIDs(t, env), "offset=2 confirmed update 1")
	_, env = get(t, s, "getUpdates?offset=4")
	assert.Equal(t, []int64{}, updateIDs(t, env))
}

func TestGetUpdatesWaitsForAnUpdate(t *testing.T) {
	s := NewServer(WithPollCap(time.Minute))
	defer s.Close()
	ctx := timeout(t)
	got := make(chan []int64, 1)
	go func() {
		_, env := call(ctx, t, s, s.Token, "getUpdates?timeout=50", "", nil)
		got <- updateIDs(t, env)
	}()
	require.NoError(t, s.WaitPolling(ctx))
	s.NewUser(7, "Ann").Send("/start")
	select {
	case ids := <-got:
		assert.Equal(t, []int64{1}, ids)
	case <-ctx.Done():
		t.Fatal("the long poll did not return the update")
	}
}

func TestGetUpdatesTimesOutEmpty(t *testing.T) {
	s := NewServer(WithPollCap(20 * time.Millisecond))
	defer s.Close()
	start := time.Now()
	_, env := get(t, s, "getUpdates?timeout=50")
	assert.Equal(t, []int64{}, updateIDs(t, env))
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond, "it waited for the cap")
}

// A poll ends when its client goes away, so Close does not hang on it.
func TestGetUpdatesEndsWhenClientLeaves(t *testing.T) {
	s := NewServer(WithPollCap(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/bot"+s.Token+"/getUpdates?timeout=3600", nil)
		_, err := http.DefaultClient.Do(req)
		done <- err
	}()
	require.NoError(t, s.WaitPolling(timeout(t)))
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs: the poll did not end with its client")
	}
	assert.Equal(t, []Request{{Method: "getUpdates", Params: map[string]string{"timeout": "3600"}}}, s.Requests())
}

func TestCommandEntities(t *testing.T) {
	cases := map[string][]apiEntity{
		"/start crm-42":         {{"bot_command", 0, 6}},
		"please /mute 2h":       {{"bot_command", 7, 5}},
		"/start@YespoDemoBot x": {{"bot_command", 0, 19}},
		"😀 /unmute":             {{"bot_command", 3, 7}}, // the emoji is 2 UTF-16 units
		"/mute /unmute":         {{"bot_command", 0, 5}, {"bot_command", 6, 7}},
		"a/b /":                 nil,
		"/start!":               nil,
		"":                      nil,
	}
	for text, want := range cases {
		assert.Equal(t, want, commandEntities(text), text)
	}
}

func TestMessageUpdateShape(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.NewUser(7, "Ann").ShareContactOf(Contact{PhoneNumber: "15550100002", FirstName: "Bob", UserID: 8})
	s.NewUser(7, "Ann").SendInGroup(-100, "/start")
	s.PostToChannel(-200, "news")
	_, env := get(t, s, "getUpdates")
	var us []map[string]any
	require.NoError(t, json.Unmarshal(env.Result, &us))
	require.Len(t, us, 3)
	msg := us[0]["message"].(map[string]any)
	assert.Equal(t, map[string]any{"id": 7.0, "type": "private", "first_name": "Ann"}, msg["chat"])
	assert.Equal(t, map[string]any{"id": 7.0, "is_bot": false, "first_name": "Ann"}, msg["from"])
	assert.Equal(t, map[string]any{"phone_number": "15550100002", "first_name": "Bob", "user_id": 8.0}, msg["contact"])
	group := us[1]["message"].(map[string]any)
	assert.Equal(t, "group", group["chat"].(map[string]any)["type"])
	post := us[2]["channel_post"].(map[string]any)
	assert.Equal(t, "channel", post["chat"].(map[string]any)["type"])
	assert.Nil(t, post["from"], "channel posts have no sender")
}

// hookRequest is what the fake POSTed to a webhook.
type hookRequest struct {
	path, secret string
	update       map[string]any
}

func TestWebhook(t *testing.T) {
	s := NewServer(WithWebhookRetry(2, time.Millisecond))
	defer s.Close()
	got := make(chan hookRequest, 1)
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := hookRequest{path: r.URL.Path, secret: r.Header.Get("X-Telegram-Bot-Api-Secret-Token")}
		_ = json.NewDecoder(r.Body).Decode(&h.update)
		got <- h
	}))
	defer bot.Close()

	_, env := get(t, s, "setWebhook?url="+url.QueryEscape(bot.URL+"/tg")+"&secret_token=s3cret")
	require.True(t, env.OK)
	assert.Equal(t, 40, s.Webhook().MaxConnections, "Telegram's default")
	status, env := get(t, s, "getUpdates")
	assert.Equal(t, http.StatusConflict, status)
	assert.Contains(t, env.Description, "webhook is active")

	id := s.NewUser(7, "Ann").Send("/start")
	h := <-got
	assert.Equal(t, "/tg", h.path)
	assert.Equal(t, "s3cret", h.secret)
	assert.Equal(t, 1.0, h.update["update_id"])
	assert.Equal(t, "/start", h.update["message"].(map[string]any)["text"])
	require.NoError(t, s.WaitConfirmed(timeout(t), id))
	assert.Empty(t, s.Webhook().LastError)
	assert.Zero(t, s.PendingUpdates())

	bot.Close()
	id = s.NewUser(7, "Ann").Send("again")
	require.NoError(t, s.WaitConfirmed(timeout(t), id))
	assert.Contains(t, s.Webhook().LastError, "connect", "a failed delivery is reported")
	assert.Equal(t, []int64{id}, s.Dropped(), "dropped after its two attempts")

	arrived, release := make(chan struct{}), make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(arrived)
		<-release
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer hang.Close()
	_, env = get(t, s, "setWebhook?url="+url.QueryEscape(hang.URL))
	require.True(t, env.OK)
	id = s.NewUser(7, "Ann").Send("kept")
	<-arrived
	_, env = get(t, s, "deleteWebhook")
	require.True(t, env.OK)
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, s.WaitConfirmed(ctx, id), context.DeadlineExceeded)
	status, env = get(t, s, "getUpdates")
	assert.Equal(t, http.StatusOK, status, "polling works again")
	assert.Equal(t, []int64{id}, updateIDs(t, env), "an undelivered update waits for getUpdates")
}

// An update stays in getUpdates until a later call's offset confirms it: a
// bot that took it and crashed gets it again.
func TestGetUpdatesKeepsAnUpdateUntilConfirmed(t *testing.T) {
	s := NewServer()
	defer s.Close()
	first := s.NewUser(7, "Ann").Send("one")
	second := s.NewUser(7, "Ann").Send("two")
	for range 2 {
		_, env := get(t, s, "getUpdates")
		assert.Equal(t, []int64{first, second}, updateIDs(t, env))
	}
	assert.Equal(t, 2, s.PendingUpdates())
	_, env := get(t, s, "getUpdates?offset="+strconv.FormatInt(second, 10))
	assert.Equal(t, []int64{second}, updateIDs(t, env))
	require.NoError(t, s.WaitConfirmed(timeout(t), first))
	assert.Equal(t, 1, s.PendingUpdates())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, s.WaitConfirmed(ctx, second), context.DeadlineExceeded)
}

// A delivery that gets no 2xx is re-sent until one does; one that gets no
// answer within the timeout too.
func TestWebhookResendsUntil2xx(t *testing.T) {
	for name, fail := range map[string]func(w http.ResponseWriter, r *http.Request){
		"5xx": func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) },
		"timeout": func(_ http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body) // the server notices the client leave only after the body
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := NewServer(WithWebhookRetry(8, time.Millisecond), WithWebhookTimeout(100*time.Millisecond))
			defer s.Close()
			var mu sync.Mutex
			calls := 0
			bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				calls++
				n := calls
				mu.Unlock()
				if n <= 2 {
					fail(w, r)
				}
			}))
			defer bot.Close()
			_, env := get(t, s, "setWebhook?url="+url.QueryEscape(bot.URL))
			require.True(t, env.OK)
			id := s.NewUser(7, "Ann").Send("/start")
			require.NoError(t, s.WaitConfirmed(timeout(t), id))
			ds := s.Deliveries()
			require.Len(t, ds, 3)
			for i, d := range ds {
				assert.Equal(t, id, d.UpdateID)
				assert.Equal(t, i+1, d.Attempt)
			}
			assert.NotEmpty(t, ds[0].Err)
			assert.Equal(t, http.StatusOK, ds[2].Status)
			assert.Empty(t, ds[2].Err)
			assert.Empty(t, s.Dropped())
		})
	}
}

// Deliveries run at most max_connections at once, and one chat's one at a
// time and in order, re-sends included.
func TestWebhookConcurrencyAndChatOrder(t *testing.T) {
	const chats, perChat, maxConns = 12, 4, 3
	s := NewServer(WithWebhookRetry(3, time.Millisecond))
	defer s.Close()
	var mu sync.Mutex
	inFlight, most, arrived := 0, 0, 0
	chatBusy := map[float64]bool{}
	seen := map[float64][]float64{} // chat -> update ids, in arrival order
	attempts := map[float64]int{}
	var overlap []string
	gate := make(chan struct{})
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u struct {
			UpdateID float64 `json:"update_id"`
			Message  struct{ Chat struct{ ID float64 } }
		}
		_ = json.NewDecoder(r.Body).Decode(&u)
		chat := u.Message.Chat.ID
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		if chatBusy[chat] {
			overlap = append(overlap, fmt.Sprint(chat))
		}
		chatBusy[chat] = true
		seen[chat] = append(seen[chat], u.UpdateID)
		attempts[u.UpdateID]++
		first := attempts[u.UpdateID] == 1
		if arrived++; arrived == maxConns {
			close(gate)
		}
		mu.Unlock()
		select { // the first ones wait for each other: deliveries do run side by side
		case <-gate:
		case <-time.After(5 * time.Second):
		}
		mu.Lock()
		inFlight--
		chatBusy[chat] = false
		mu.Unlock()
		if first && int(u.UpdateID)%2 == 0 {
			w.WriteHeader(http.StatusInternalServerError) // re-sent, in order still
		}
	}))
	defer bot.Close()
	_, env := get(t, s, "setWebhook?max_connections=3&url="+url.QueryEscape(bot.URL))
	require.True(t, env.OK)
	var last int64
	for range perChat {
		for c := range chats {
			last = s.NewUser(int64(100+c), "U").Send("hi")
		}
	}
	require.NoError(t, s.WaitConfirmed(timeout(t), last))
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, maxConns, most)
	assert.Empty(t, overlap, "two deliveries of one chat at once")
	assert.Empty(t, s.Dropped())
	for chat, ids := range seen {
		assert.True(t, slices.IsSorted(ids), "chat %v got %v", chat, ids)
		assert.Len(t, slices.Compact(slices.Clone(ids)), perChat, "chat %v", chat)
	}
}

// WaitSent counts the messages to every chat, blocked attempts included.
func TestWaitSentCountsAllChats(t *testing.T) {
	s := NewServer()
	defer s.Close()
	ann, bob := s.NewUser(7, "Ann"), s.NewUser(8, "Bob")
	ann.Send("hi")
	bob.Send("hi")
	bob.Block()
	get(t, s, "sendMessage?chat_id=7&text=one")
	get(t, s, "sendMessage?chat_id=8&text=two")

	require.NoError(t, s.WaitSent(timeout(t), 2))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err := s.WaitSent(ctx, 3)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "the bot sent 2 of 3 messages")
}

// LimitNextSends answers as Telegram does to a bot over its rate: 429 with
// retry_after, and nothing sent; the call after them goes through.
func TestLimitNextSends(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.NewUser(7, "Ann").Send("hi")
	s.LimitNextSends(2, 1500*time.Millisecond)
	for range 2 {
		status, env := get(t, s, "sendMessage?chat_id=7&text=one")
		assert.Equal(t, http.StatusTooManyRequests, status)
		assert.Equal(t, "Too Many Requests: retry after 2", env.Description)
		assert.Equal(t, "2", jsonField(t, env.Parameters, "retry_after"))
	}
	assert.Empty(t, s.Messages(7))
	status, _ := get(t, s, "sendMessage?chat_id=7&text=two")
	assert.Equal(t, http.StatusOK, status)
	assert.Len(t, s.Messages(7), 1)
}

// WithSendLimit refuses sends beyond the limit within any one second, with
// the retry_after that lets the next one through, and counts only those
// that passed.
func TestSendLimit(t *testing.T) {
	s := NewServer(WithSendLimit(3))
	defer s.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.mu.Lock()
	s.now = func() time.Time { return now }
	s.mu.Unlock()
	s.NewUser(7, "Ann").Send("hi")
	s.NewUser(8, "Bob").Send("hi")
	send := func(chat string) int {
		status, env := get(t, s, "sendMessage?text=x&chat_id="+chat)
		if status == http.StatusTooManyRequests {
			assert.Equal(t, "Too Many Requests: retry after 1", env.Description)
			assert.Equal(t, "1", jsonField(t, env.Parameters, "retry_after"))
		}
		return status
	}
	assert.Equal(t, http.StatusOK, send("7"))
	now = now.Add(500 * time.Millisecond)
	assert.Equal(t, http.StatusOK, send("8"))
	assert.Equal(t, http.StatusOK, send("7"))
	assert.Equal(t, http.StatusTooManyRequests, send("8"), "across chats")
	now = now.Add(499 * time.Millisecond)
	assert.Equal(t, http.StatusTooManyRequests, send("8"))
	now = now.Add(time.Millisecond)
	assert.Equal(t, http.StatusOK, send("8"), "the first send left the window")
	assert.Equal(t, http.StatusTooManyRequests, send("7"))
	assert.Len(t, s.Messages(7), 2)
	assert.Len(t, s.Messages(8), 2)
}
