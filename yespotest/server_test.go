package yespotest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespotest"
)

var ctx = context.Background()

// both runs f for each Matching mode.
func both(t *testing.T, f func(t *testing.T, m yespotest.Matching)) {
	for _, m := range []yespotest.Matching{yespotest.MatchAnyIdentifier, yespotest.MatchPrimaryOnly} {
		t.Run(m.String(), func(t *testing.T) { f(t, m) })
	}
}

func newFake(t *testing.T, opts ...yespotest.Option) (*yespotest.Server, string, *yespo.Client) {
	t.Helper()
	srv := yespotest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv, srv.NewApp(), srv.Client()
}

func tokensOf(c yespotest.Contact) []string {
	var out []string
	for _, t := range c.Tokens {
		out = append(out, t.Token)
	}
	return out
}

func TestNewContactGetsAllIdentifiers(t *testing.T) {
	both(t, func(t *testing.T, m yespotest.Matching) {
		srv, app, c := newFake(t, yespotest.WithMatching(m))
		require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{
			{Token: "1", ExternalCustomerID: "crm-1", Phone: "+380501111111", Email: "a@example.com"},
		}))
		got := srv.Contacts()
		require.Len(t, got, 1)
		assert.NotZero(t, got[0].ID, "server-assigned ID")
		assert.Equal(t, "crm-1", got[0].ExternalCustomerID)
		assert.Equal(t, "+380501111111", got[0].Phone)
		assert.Equal(t, "a@example.com", got[0].Email)
		assert.Equal(t, []yespotest.ContactToken{{AppUUID: app, Token: "1"}}, got[0].Tokens)
	})
}

func TestFoundContactOnlyGainsTheToken(t *testing.T) {
	both(t, func(t *testing.T, m yespotest.Matching) {
		srv, app, c := newFake(t, yespotest.WithMatching(m))
		seed := srv.AddContact(yespotest.Contact{Phone: "+380502222222"})
		// Primary identifier is the phone: both wordings find the contact.
		require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: "2", Phone: "+380502222222", Email: "new@example.com"}}))
		got := srv.Contacts()
		require.Len(t, got, 1)
		assert.Equal(t, seed.ID, got[0].ID)
		assert.Empty(t, got[0].Email, "an existing contact's identifiers are never created")
		assert.Equal(t, []string{"2"}, tokensOf(got[0]))
	})
}

// The wordings differ when the primary identifier is new but a lower one
// matches.
func TestMatchingModesDiffer(t *testing.T) {
	for m, wantContacts := range map[yespotest.Matching]int{yespotest.MatchAnyIdentifier: 1, yespotest.MatchPrimaryOnly: 2} {
		srv, app, c := newFake(t, yespotest.WithMatching(m))
		srv.AddContact(yespotest.Contact{Email: "ann@example.com"})
		require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: "7", ExternalCustomerID: "crm-new", Email: "ann@example.com"}}))
		got := srv.Contacts()
		assert.Len(t, got, wantContacts, m.String())
		holder, ok := srv.ContactByToken(app, "7")
		require.True(t, ok)
		if m == yespotest.MatchAnyIdentifier {
			assert.Equal(t, got[0].ID, holder.ID, "docs wording: the email finds Ann")
			assert.Empty(t, holder.ExternalCustomerID, "and her identifiers stay as they were")
		} else {
			assert.Equal(t, "crm-new", holder.ExternalCustomerID, "site wording: a new contact for the new primary identifier")
		}
	}
}

func TestPriorityOrder(t *testing.T) {
	both(t, func(t *testing.T, m yespotest.Matching) {
		srv, app, c := newFake(t, yespotest.WithMatching(m))
		byID := srv.AddContact(yespotest.Contact{})
		byExt := srv.AddContact(yespotest.Contact{ExternalCustomerID: "crm-9"})
		byPhone := srv.AddContact(yespotest.Contact{Phone: "+380503333333"})
		byEmail := srv.AddContact(yespotest.Contact{Email: "e@example.com"})
		tokens := []yespo.Token{
			{Token: "a", ContactID: byID.ID, ExternalCustomerID: "crm-9", Phone: "+380503333333", Email: "e@example.com"},
			{Token: "b", ExternalCustomerID: "crm-9", Phone: "+380503333333", Email: "e@example.com"},
			{Token: "c", Phone: "+380503333333", Email: "e@example.com"},
			{Token: "d", Email: "e@example.com"},
		}
		require.NoError(t, c.AddAppTokens(ctx, app, tokens))
		for token, want := range map[string]int64{"a": byID.ID, "b": byExt.ID, "c": byPhone.ID, "d": byEmail.ID} {
			got, ok := srv.ContactByToken(app, token)
			require.True(t, ok, token)
			assert.Equal(t, want, got.ID, "token %s", token)
		}
		assert.Len(t, srv.Contacts(), 4, "no contact created")
	})
}

func TestUnknownContactIDFallsThrough(t *testing.T) {
	both(t, func(t *testing.T, m yespotest.Matching) {
		srv, app, c := newFake(t, yespotest.WithMatching(m))
		existing := srv.AddContact(yespotest.Contact{Phone: "+380504444444"})
		require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: "x", ContactID: 999, Phone: "+380504444444"}}))
		got, ok := srv.ContactByToken(app, "x")
		require.True(t, ok)
		assert.Equal(t, existing.ID, got.ID)
		require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: "y", ContactID: 998}}))
		fresh, ok := srv.ContactByToken(app, "y")
		require.True(t, ok)
		assert.NotEqual(t, int64(998), fresh.ID, "a new contact gets the server's ID, not the unknown one")
	})
}

func TestTokensAccumulate(t *testing.T) {
	both(t, func(t *testing.T, m yespotest.Matching) {
		srv, app, c := newFake(t, yespotest.WithMatching(m))
		for _, tok := range []string{"1", "1", "2", "1"} {
			require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: tok, Email: "same@example.com"}}))
		}
		got := srv.Contacts()
		require.Len(t, got, 1)
		assert.Equal(t, []string{"1", "2"}, tokensOf(got[0]), "same token once, another beside it")
	})
}

func TestPhoneAndEmailMatchNormalised(t *testing.T) {
	both(t, func(t *testing.T, m yespotest.Matching) {
		srv, app, c := newFake(t, yespotest.WithMatching(m))
		seed := srv.AddContact(yespotest.Contact{Phone: "+38 (050) 555-55-55", Email: "Ann@Example.COM"})
		require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: "p", Phone: "380505555555"}}))
		require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: "e", Email: "Ann@example.com"}}))
		for _, tok := range []string{"p", "e"} {
			got, ok := srv.ContactByToken(app, tok)
			require.True(t, ok)
			assert.Equal(t, seed.ID, got.ID, tok)
		}
	})
}

func TestMuteUnmuteAndContactID(t *testing.T) {
	srv, app, c := newFake(t)
	require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: "m", Phone: "+380506666666"}}))

	before := time.Now()
	require.NoError(t, c.MuteAppToken(ctx, app, "m", time.Hour))
	got, _ := srv.ContactByToken(app, "m")
	assert.WithinRange(t, got.Tokens[0].MutedUntil, before.Add(time.Hour), time.Now().Add(time.Hour))

	require.NoError(t, c.MuteAppToken(ctx, app, "m", 0))
	got, _ = srv.ContactByToken(app, "m")
	assert.Equal(t, time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), got.Tokens[0].MutedUntil)
	assert.True(t, got.Tokens[0].MutedUntilUnmuted())

	require.NoError(t, c.UnmuteAppToken(ctx, app, "m"))
	got, _ = srv.ContactByToken(app, "m")
	assert.True(t, got.Tokens[0].MutedUntil.IsZero())
	assert.False(t, got.Tokens[0].MutedUntilUnmuted())

	id, err := c.ContactIDByToken(ctx, app, "m")
	require.NoError(t, err)
	assert.Equal(t, got.ID, id)

	_, err = c.ContactIDByToken(ctx, app, "nobody")
	assert.ErrorIs(t, err, yespo.ErrNotFound)
	assert.ErrorIs(t, c.MuteAppToken(ctx, app, "nobody", time.Hour), yespo.ErrNotFound)
}

func TestDocumentedErrors(t *testing.T) {
	srv, app, c := newFake(t)
	unknown := "11111111-2222-3333-4444-555555555555"
	err := c.AddAppTokens(ctx, unknown, []yespo.Token{{Token: "1", Email: "a@example.com"}})
	assertAPIError(t, err, 404, "Not registered application")

	wrongKey := srv.Client()
	other, err := yespo.NewClient("wrong-key", yespo.WithBaseURL(srv.URL), yespo.WithRetry(0, 0, 0))
	require.NoError(t, err)
	assert.ErrorIs(t, other.AddAppTokens(ctx, app, []yespo.Token{{Token: "1", Email: "a@example.com"}}), yespo.ErrUnauthorized)
	assert.NoError(t, wrongKey.AddAppTokens(ctx, app, []yespo.Token{{Token: "1", Email: "a@example.com"}}))

	// Raw requests, which the client would refuse to send.
	for _, tc := range []struct{ path, body, want string }{
		{"v1/apps/not-a-uuid/tokens", `{"tokens":[{"token":"1","email":"a@example.com"}]}`, "Wrong app uuid"},
		{"v1/apps/" + app + "/tokens", `{"tokens":[]}`, "Token(s) must be specified"},
		{"v1/apps/" + app + "/tokens", `{"tokens":[{"email":"a@example.com"}]}`, "Token must be specified"},
		{"v1/apps/" + app + "/tokens", `{"tokens":[{"token":"1"}]}`, "Contact identifier must be specified"},
		{"v1/apps/" + app + "/tokens", `{"tokens":`, "Invalid JSON"},
		{"v1/apps/" + app + "/token/mute", `{"token":"1","duration":4}`, "Duration must be positive int"},
		{"v1/apps/" + app + "/token/mute", `{"token":"1","duration":31536001}`, "Duration must be positive int"},
		{"v1/apps/" + app + "/token/mute", `{"token":"1","duration":"60"}`, "Duration must be positive int"},
		{"v1/apps/" + app + "/token/unmute", `{}`, "Token must be specified"},
	} {
		status, body := post(t, srv, tc.path, tc.body)
		assert.Equal(t, http.StatusBadRequest, status, tc.path+" "+tc.body)
		assert.Contains(t, body, tc.want, tc.path+" "+tc.body)
	}
	assert.Len(t, srv.Contacts(), 1, "refused requests change nothing")
}

func assertAPIError(t *testing.T, err error, status int, message string) {
	t.Helper()
	var ae *yespo.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, status, ae.StatusCode)
	assert.Equal(t, message, ae.Message)
}

func post(t *testing.T, srv *yespotest.Server, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.SetBasicAuth("any", srv.APIKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestForbiddenFailureRemovesToken(t *testing.T) {
	srv, app, c := newFake(t)
	require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: "blk", Phone: "+380507777777"}, {Token: "ok", Phone: "+380507777777"}}))
	srv.ReportStatus(app, "ok", yespotest.StatusSent, "")
	srv.ReportStatus(app, "blk", yespotest.StatusFailed, "Too Many Requests")
	_, held := srv.ContactByToken(app, "blk")
	assert.True(t, held, "other failures change nothing")

	srv.ReportStatus(app, "blk", yespotest.StatusFailed, "Forbidden: bot was blocked by the user")
	_, held = srv.ContactByToken(app, "blk")
	assert.False(t, held, "a blocked bot loses the token")
	got, _ := srv.ContactByToken(app, "ok")
	assert.Equal(t, []string{"ok"}, tokensOf(got))
	assert.Len(t, srv.Reports(), 3)

	// Back with /start: registered again.
	require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: "blk", Phone: "+380507777777"}}))
	_, held = srv.ContactByToken(app, "blk")
	assert.True(t, held)
}

func TestConcurrentSamePhoneMakesOneContact(t *testing.T) {
	both(t, func(t *testing.T, m yespotest.Matching) {
		srv, app, c := newFake(t, yespotest.WithMatching(m))
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		start := make(chan struct{})
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs <- c.AddAppTokens(ctx, app, []yespo.Token{{Token: fmt.Sprint(i), Phone: "+380508888888"}})
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		got := srv.Contacts()
		require.Len(t, got, 1)
		assert.Len(t, got[0].Tokens, 50)
	})
}

func TestRequestsRecorded(t *testing.T) {
	srv, app, c := newFake(t)
	require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: "a/b", Email: "a@example.com"}}))
	_, _ = c.ContactIDByToken(ctx, app, "a/b")
	reqs := srv.Requests()
	require.Len(t, reqs, 2)
	assert.False(t, reqs[0].Time.IsZero() || reqs[1].Time.Before(reqs[0].Time), "arrival times")
	reqs[0].Time = time.Time{}
	assert.Equal(t, yespotest.Request{Method: "POST", Path: "/api/v1/apps/" + app + "/tokens",
		Body: []byte(`{"tokens":[{"token":"a/b","email":"a@example.com"}]}`), Status: 200}, reqs[0])
	assert.Equal(t, "/api/v1/contact/token/"+app+"/a%2Fb/contactId", reqs[1].Path)
	assert.Equal(t, 200, reqs[1].Status)
}

func TestContactsAreCopies(t *testing.T) {
	srv, app, c := newFake(t)
	require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{{Token: "1", Email: "a@example.com"}}))
	got := srv.Contacts()
	got[0].Tokens[0].Token = "changed"
	got[0].Email = "changed"
	again := srv.Contacts()
	assert.Equal(t, "1", again[0].Tokens[0].Token)
	assert.Equal(t, "a@example.com", again[0].Email)
}
