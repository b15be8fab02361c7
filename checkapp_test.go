package yespo_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespotest"
)

// TestCheckApp: one request tells a working key and app from every way the
// configuration or the network can be wrong, with the errors other calls use.
func TestCheckApp(t *testing.T) {
	ctx := context.Background()
	srv := yespotest.NewServer()
	defer srv.Close()
	app := srv.NewApp()

	t.Run("key and app fine", func(t *testing.T) {
		before := len(srv.Requests())
		require.NoError(t, srv.Client().CheckApp(ctx, app))
		reqs := srv.Requests()[before:]
		require.Len(t, reqs, 1, "one request")
		assert.Equal(t, http.MethodGet, reqs[0].Method)
		assert.Contains(t, reqs[0].Path, "v1/contact/token/"+app+"/")
	})
	t.Run("a contact holds the probe's token: fine too", func(t *testing.T) {
		other := srv.NewApp()
		require.NoError(t, srv.Client().AddAppTokens(ctx, other, []yespo.Token{{Token: yespo.CheckAppToken, Email: "a@b.co"}}))
		require.NoError(t, srv.Client().CheckApp(ctx, other))
	})
	t.Run("unknown app", func(t *testing.T) {
		err := srv.Client().CheckApp(ctx, "0f8fad5b-d9cb-469f-a165-70867728950e")
		assert.ErrorIs(t, err, yespo.ErrAppNotFound)
		assert.ErrorIs(t, err, yespo.ErrNotFound)
	})
	t.Run("wrong key", func(t *testing.T) {
		c, err := yespo.NewClient("not-the-key", yespo.WithBaseURL(srv.URL))
		require.NoError(t, err)
		err = c.CheckApp(ctx, app)
		assert.ErrorIs(t, err, yespo.ErrUnauthorized)
	})
	t.Run("key without the lookup right", func(t *testing.T) {
		srv.FailNext(1, yespotest.Fault{Status: http.StatusForbidden, Body: "Access denied"})
		err := srv.Client().CheckApp(ctx, app)
		assert.ErrorIs(t, err, yespo.ErrForbidden)
		assert.Contains(t, err.Error(), `lacks the right for "Get contact ID by token"`)
	})
	t.Run("malformed app: no request", func(t *testing.T) {
		before := len(srv.Requests())
		assert.ErrorIs(t, srv.Client().CheckApp(ctx, "not-a-uuid"), yespo.ErrInvalidInput)
		assert.Len(t, srv.Requests(), before)
	})
	t.Run("outage", func(t *testing.T) {
		srv.FailNext(10, yespotest.Fault{Status: http.StatusServiceUnavailable})
		assert.ErrorIs(t, srv.Client().CheckApp(ctx, app), yespo.ErrServer)
	})
	t.Run("base URL without /api/", func(t *testing.T) {
		web := httptest.NewServer(http.NotFoundHandler()) // a web server's 404 for every path
		defer web.Close()
		c, err := yespo.NewClient("key", yespo.WithBaseURL(web.URL+"/"))
		require.NoError(t, err)
		err = c.CheckApp(ctx, app)
		assert.ErrorIs(t, err, yespo.ErrNotFound)
		assert.NotErrorIs(t, err, yespo.ErrAppNotFound)
	})
	t.Run("no answer", func(t *testing.T) {
		gone := httptest.NewServer(http.NotFoundHandler())
		gone.Close()
		c, err := yespo.NewClient("key", yespo.WithBaseURL(gone.URL+"/api/"), yespo.WithRetry(1, time.Millisecond, time.Millisecond))
		require.NoError(t, err)
		err = c.CheckApp(ctx, app)
		require.Error(t, err)
		var apiErr *yespo.APIError
		assert.False(t, errors.As(err, &apiErr), "a transport error, not an answer: %v", err)
	})
}

// TestForbiddenNamesTheMissingRight: a key that passed CheckApp but lacks
// the right for adding tokens fails its first batch with ErrForbidden, in
// words that name that method.
func TestForbiddenNamesTheMissingRight(t *testing.T) {
	ctx := context.Background()
	srv := yespotest.NewServer()
	defer srv.Close()
	app := srv.NewApp()
	c := srv.Client()
	require.NoError(t, c.CheckApp(ctx, app))

	srv.FailNext(1, yespotest.Fault{Status: http.StatusForbidden, Body: "Access denied"})
	results := make(chan yespo.BatchResult, 1)
	b, err := c.NewBatcher(app, yespo.BatcherOptions{OnBatch: func(r yespo.BatchResult) { results <- r }})
	require.NoError(t, err)
	go func() { _ = b.Add(ctx, yespo.Token{Token: "42", Email: "a@b.co"}) }()
	var r yespo.BatchResult
	select {
	case r = <-results:
	case <-time.After(30 * time.Second):
		t.Fatal("no batch settled")
	}
	require.ErrorIs(t, r.Err, yespo.ErrForbidden)
	assert.Contains(t, r.Err.Error(), `403 Forbidden: Access denied; the API key lacks the right for "Add application tokens"`)
	closeCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = b.Close(closeCtx)

	for path, name := range map[string]string{"mute": "Mute a token", "unmute": "Unmute a token"} {
		srv.FailNext(1, yespotest.Fault{Status: http.StatusForbidden})
		if path == "mute" {
			err = c.MuteAppToken(ctx, app, "42", 0)
		} else {
			err = c.UnmuteAppToken(ctx, app, "42")
		}
		assert.ErrorIs(t, err, yespo.ErrForbidden)
		assert.Contains(t, err.Error(), `lacks the right for "`+name+`"`)
	}
}
