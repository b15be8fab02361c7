package yespotest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespotest"
)

// postEvent sends body to the fake's v2/event as is, with key.
func postEvent(t *testing.T, srv *yespotest.Server, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"v2/event", strings.NewReader(body))
	require.NoError(t, err)
	req.SetBasicAuth("any", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(text)
}

// eventJSON builds a body with typeKey, keyValue (left out when empty) and
// params given as name, JSON value pairs.
func eventJSON(typeKey, keyValue string, params ...string) string {
	var ps []string
	for i := 0; i+1 < len(params); i += 2 {
		ps = append(ps, fmt.Sprintf(`{"name":%q,"value":%s}`, params[i], params[i+1]))
	}
	kv := ""
	if keyValue != "" {
		kv = fmt.Sprintf(`,"keyValue":%q`, keyValue)
	}
	return fmt.Sprintf(`{"eventTypeKey":%q%s,"params":[%s]}`, typeKey, kv, strings.Join(ps, ","))
}

// The documented rules of Generate event, each on a raw request: 400 with
// a text naming the rule, or 200 and the event recorded.
func TestEventEndpointRules(t *testing.T) {
	srv := yespotest.NewServer()
	defer srv.Close()
	pad := func(n int) string { return strings.Repeat("a", n) }
	cases := []struct {
		name, body string
		status     int
		says       string
	}{
		{"key value", eventJSON("signup", "ann@example.com"), 200, ""},
		{"type key of 100", eventJSON(pad(100), "k"), 200, ""},
		{"type key of 101", eventJSON(pad(101), "k"), 400, "eventTypeKey must be at most 100 characters"},
		{"emoji count twice", eventJSON(pad(99)+"🙂", "k"), 400, "eventTypeKey must be at most 100"},
		{"no type key", `{"keyValue":"k","params":[]}`, 400, "eventTypeKey must be specified"},
		{"key value of 300", eventJSON("t", pad(300)), 200, ""},
		{"key value of 301", eventJSON("t", pad(301)), 400, "keyValue must be at most 300 characters"},
		{"forbidden in key value", eventJSON("t", "a’b"), 400, "keyValue contains a forbidden character: ’"},
		{"contactId", eventJSON("t", "", "contactId", "42"), 200, ""},
		{"externalCustomerId", eventJSON("t", "", "externalCustomerId", `"c-1"`), 200, ""},
		{"email", eventJSON("t", "", "email", `"a@example.com"`), 200, ""},
		{"phone", eventJSON("t", "", "phone", `"+380501234567"`), 200, ""},
		{"pushToken", eventJSON("t", "", "pushToken", `"123"`), 200, ""},
		{"no identifier", eventJSON("t", "", "firstName", `"Ann"`), 400, "Contact identifier must be specified"},
		{"externalCustomerId empty", eventJSON("t", "", "externalCustomerId", `""`), 400, "Contact identifier"},
		{"externalCustomerId blank", eventJSON("t", "", "externalCustomerId", `"  "`), 400, "Contact identifier"},
		{"externalCustomerId null", eventJSON("t", "", "externalCustomerId", `"null"`), 400, "Contact identifier"},
		{"externalCustomerId JSON null", eventJSON("t", "", "externalCustomerId", `null`), 400, "Contact identifier"},
		{"body of 20 KB", eventJSON("t", "k", "p", `"`+pad(20_000-len(eventJSON("t", "k", "p", `""`)))+`"`), 200, ""},
		{"body over 20 KB", eventJSON("t", "k", "p", `"`+pad(20_001-len(eventJSON("t", "k", "p", `""`)))+`"`), 400, "20 KB"},
		{"not JSON", `{"eventTypeKey":`, 400, "Invalid JSON"},
	}
	for _, r := range strings.Fields("< ; ’ \\ / | \" ` ' ^ ? ! , >") {
		cases = append(cases, struct {
			name, body string
			status     int
			says       string
		}{"forbidden " + r, eventJSON("a"+r+"b", "k"), 400, "eventTypeKey contains a forbidden character: " + r})
	}
	accepted := 0
	for _, tc := range cases {
		status, text := postEvent(t, srv, srv.APIKey, tc.body)
		assert.Equal(t, tc.status, status, "%s: %s", tc.name, text)
		assert.Contains(t, text, tc.says, tc.name)
		if status == 200 {
			accepted++
		}
	}
	assert.Len(t, srv.Events(), accepted, "only accepted events are recorded")
	status, _ := postEvent(t, srv, "wrong-key", eventJSON("t", "k"))
	assert.Equal(t, http.StatusUnauthorized, status)
}

// Events come back in arrival order with their params as sent and the
// time they arrived; TokenAddedAt says when each token was first stored,
// so that a test can tell an event from its token's 2xx.
func TestEventsRecordedWithTime(t *testing.T) {
	srv, app, c := newFake(t)
	_, ok := srv.TokenAddedAt(app, "1")
	assert.False(t, ok, "not stored yet")
	require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: "1", Email: "a@example.com"}}))
	added, ok := srv.TokenAddedAt(app, "1")
	require.True(t, ok)
	ev := yespo.Event{TypeKey: "welcome", Params: []yespo.EventParam{
		{Name: "email", Value: "a@example.com"}, {Name: "n", Value: 12345678901234567},
	}}
	require.NoError(t, c.SendEvent(ctx, ev))
	require.NoError(t, c.SendEvent(ctx, yespo.Event{TypeKey: "second", KeyValue: "k"}))
	require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: "1", Email: "a@example.com"}}))
	again, _ := srv.TokenAddedAt(app, "1")
	assert.Equal(t, added, again, "the first time it was stored")

	got := srv.Events()
	require.Len(t, got, 2)
	assert.Equal(t, "welcome", got[0].TypeKey)
	assert.Equal(t, "second", got[1].TypeKey)
	assert.Equal(t, json.RawMessage("12345678901234567"), got[0].Params[1].Value, "every digit")
	assert.True(t, got[0].Time.After(added))
	assert.False(t, got[1].Time.Before(got[0].Time))

	got[0].Params[0].Value.(json.RawMessage)[1] = 'X'
	got[0].Params[1].Name = "changed"
	fresh := srv.Events()
	assert.Equal(t, json.RawMessage(`"a@example.com"`), fresh[0].Params[0].Value, "Events is a deep copy")
	assert.Equal(t, "n", fresh[0].Params[1].Name)
}

// FailNextEvents faults only Generate event, before the shared FailNext
// queue; the tokens endpoint does not take them.
func TestFailNextEvents(t *testing.T) {
	srv, app, _ := newFake(t)
	c := srv.Client(yespo.WithRetry(0, 0, 0))
	srv.FailNextEvents(2, yespotest.Fault{Status: http.StatusServiceUnavailable, Body: "maintenance"})
	srv.FailNext(1, yespotest.Fault{Status: http.StatusBadGateway})
	ev := yespo.Event{TypeKey: "t", KeyValue: "k"}

	assert.ErrorIs(t, c.SendEvent(ctx, ev), yespo.ErrServer)
	err := c.AddAppTokens(ctx, app, []yespo.Token{{Token: "1", Email: "a@example.com"}})
	var ae *yespo.APIError
	require.True(t, errors.As(err, &ae), "the shared queue's fault: %v", err)
	assert.Equal(t, http.StatusBadGateway, ae.StatusCode)
	require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: "1", Email: "a@example.com"}}), "no event fault taken")
	require.True(t, errors.As(c.SendEvent(ctx, ev), &ae))
	assert.Equal(t, "maintenance", ae.Message)
	require.NoError(t, c.SendEvent(ctx, ev))
}

// Each budget has its own window: 25 events at once against a limit of 20
// get 429s, and tokens at once after them still find the account's 10
// free; lookups, without a limit of their own, are never refused.
func TestRateWindowPerBudget(t *testing.T) {
	srv, app, _ := newFake(t, yespotest.WithRateLimit(10), yespotest.WithBudgetRateLimit(yespo.BudgetEvent, 20))
	c := srv.Client(yespo.WithRetry(0, 0, 0))
	var wg sync.WaitGroup
	var mu sync.Mutex
	limited := 0
	for i := range 25 {
		wg.Go(func() {
			err := c.SendEvent(ctx, yespo.Event{TypeKey: "t", KeyValue: fmt.Sprint(i)})
			if errors.Is(err, yespo.ErrRateLimited) {
				mu.Lock()
				limited++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.GreaterOrEqual(t, limited, 5, "beyond the event budget's 20")
	for i := range 10 {
		require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: fmt.Sprint(i), Email: "a@example.com"}}),
			"the account's window holds no event")
	}
	for range 20 {
		_, err := c.ContactIDByToken(ctx, app, "1")
		require.NoError(t, err, "the lookup's window is its own")
	}
	assert.Panics(t, func() { yespotest.WithBudgetRateLimit(yespo.Budget(0), 1) })
}

// WithoutHistory answers events as usual and keeps none.
func TestEventsWithoutHistory(t *testing.T) {
	srv, app, c := newFake(t, yespotest.WithoutHistory())
	require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: "1", Email: "a@example.com"}}))
	require.NoError(t, c.SendEvent(ctx, yespo.Event{TypeKey: "t", KeyValue: "k"}))
	assert.Empty(t, srv.Events())
	_, ok := srv.TokenAddedAt(app, "1")
	assert.False(t, ok)
	status, _ := postEvent(t, srv, srv.APIKey, `{"eventTypeKey":"t?","keyValue":"k"}`)
	assert.Equal(t, http.StatusBadRequest, status, "still checked")
}
