package yespo_test

// Written from README.md and `go doc -all` only, as a new user would.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
)

const (
	newUserAPIKey     = "test-api-key-123"
	newUserAppOK      = "0f8fad5b-d9cb-469f-a165-70867728950e" // registered app
	newUserAppUnknown = "7c9e6679-7425-40de-944b-e07fc1f90ae7" // "Not registered application"
	newUserAppBusy    = "3f2504e0-4f89-41d3-9a0c-0305e82c3301" // answers 429 Retry-After: 120
)

// newUserRequest is what the fake Yespo saw.
type newUserRequest struct {
	Method   string
	Path     string
	User     string
	Password string
	HasAuth  bool
	CType    string
	Body     []byte
}

// newUserFakeYespo plays the Yespo apps/tokens API at /api/v1/apps/{uuid}/tokens
// (DefaultBaseURL is "https://yespo.io/api/" and the godoc names the endpoint
// "POST v1/apps/{appUUID}/tokens", relative to that root).
type newUserFakeYespo struct {
	mu       sync.Mutex
	requests []newUserRequest
}

func (f *newUserFakeYespo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	user, pass, ok := r.BasicAuth()
	f.mu.Lock()
	f.requests = append(f.requests, newUserRequest{
		Method: r.Method, Path: r.URL.Path, User: user, Password: pass, HasAuth: ok,
		CType: r.Header.Get("Content-Type"), Body: body,
	})
	f.mu.Unlock()

	if !ok || pass != newUserAPIKey {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	switch r.URL.Path {
	case "/api/v1/apps/" + newUserAppOK + "/tokens":
		w.WriteHeader(http.StatusOK)
	case "/api/v1/apps/" + newUserAppBusy + "/tokens":
		w.Header().Set("Retry-After", "120")
		http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
	case "/api/v1/apps/" + newUserAppUnknown + "/tokens":
		http.Error(w, "Not registered application", http.StatusNotFound)
	default:
		http.Error(w, "no such endpoint in the fake: "+r.URL.Path, http.StatusTeapot)
	}
}

func (f *newUserFakeYespo) taken() []newUserRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.requests
	f.requests = nil
	return out
}

func newUserSetup(t *testing.T, apiKey string) (*yespo.Client, *newUserFakeYespo) {
	t.Helper()
	fake := &newUserFakeYespo{}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	client, err := yespo.NewClient(apiKey, yespo.WithBaseURL(srv.URL+"/api/"))
	require.NoError(t, err)
	return client, fake
}

func newUserTokens() []yespo.Token {
	return []yespo.Token{{
		Token:              yespo.TelegramToken(123456789),
		ExternalCustomerID: "customer-42",
	}}
}

func TestNewUserAddAppTokensSuccess(t *testing.T) {
	client, fake := newUserSetup(t, newUserAPIKey)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	require.Equal(t, "123456789", yespo.TelegramToken(123456789))

	err := client.AddAppTokens(ctx, newUserAppOK, newUserTokens())
	require.NoError(t, err)

	reqs := fake.taken()
	require.Len(t, reqs, 1, "one call, one request")
	got := reqs[0]
	require.Equal(t, http.MethodPost, got.Method)
	require.Equal(t, "/api/v1/apps/"+newUserAppOK+"/tokens", got.Path)
	require.True(t, got.HasAuth, "Basic auth expected")
	require.Equal(t, newUserAPIKey, got.Password, "API key is the Basic-auth password")
	require.True(t, strings.HasPrefix(got.CType, "application/json"), "Content-Type %q", got.CType)

	// The body: {"tokens":[...]} of Token objects. The docs never show the
	// wire format; a bare array was the first guess and was wrong.
	require.JSONEq(t, `{"tokens":[{"token":"123456789","externalCustomerId":"customer-42"}]}`, string(got.Body))
	var decoded struct {
		Tokens []yespo.Token `json:"tokens"`
	}
	require.NoError(t, json.Unmarshal(got.Body, &decoded))
	require.Equal(t, newUserTokens(), decoded.Tokens)
	t.Logf("Basic-auth user %q, Content-Type %q", got.User, got.CType)
}

func TestNewUserAddAppTokensErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("404 not registered application", func(t *testing.T) {
		client, fake := newUserSetup(t, newUserAPIKey)
		err := client.AddAppTokens(ctx, newUserAppUnknown, newUserTokens())
		require.Error(t, err)
		require.ErrorIs(t, err, yespo.ErrNotFound)
		require.NotErrorIs(t, err, yespo.ErrUnauthorized)
		var apiErr *yespo.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusNotFound, apiErr.StatusCode)
		require.Contains(t, apiErr.Message, "Not registered application")
		t.Logf("err=%q Path=%q Attempts=%d", err.Error(), apiErr.Path, apiErr.Attempts)
		require.Len(t, fake.taken(), 1, "404 is final, not retried")
	})

	t.Run("401 wrong API key", func(t *testing.T) {
		client, fake := newUserSetup(t, "wrong-key")
		err := client.AddAppTokens(ctx, newUserAppOK, newUserTokens())
		require.Error(t, err)
		require.ErrorIs(t, err, yespo.ErrUnauthorized)
		require.NotErrorIs(t, err, yespo.ErrNotFound)
		var apiErr *yespo.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
		require.NotContains(t, err.Error(), "wrong-key", "key must not leak into errors")
		reqs := fake.taken()
		require.Len(t, reqs, 1, "401 is final, not retried")
		require.Equal(t, "wrong-key", reqs[0].Password)
	})

	t.Run("429 Retry-After 120", func(t *testing.T) {
		client, fake := newUserSetup(t, newUserAPIKey)
		start := time.Now()
		err := client.AddAppTokens(ctx, newUserAppBusy, newUserTokens())
		elapsed := time.Since(start)
		t.Logf("429 call took %v", elapsed)

		require.Error(t, err)
		require.ErrorIs(t, err, yespo.ErrRateLimited)
		var apiErr *yespo.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusTooManyRequests, apiErr.StatusCode)
		require.Equal(t, 120*time.Second, apiErr.RetryAfter)
		t.Logf("err=%q Attempts=%d", err.Error(), apiErr.Attempts)
		require.Less(t, elapsed, 2*time.Second, "a 120 s Retry-After is beyond the 5 s max wait: must return at once")
		require.Len(t, fake.taken(), 1, "Retry-After longer than max wait ends retries at once")
	})
}
