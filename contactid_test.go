package yespo_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/yespo-go/yespo"
)

func TestContactIDByToken(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("GET /v1/contact/token/{uuid}/{token}/contactId", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("token") {
		case "a/b":
			_, _ = w.Write([]byte(`{"id":42}`))
		case "str":
			_, _ = w.Write([]byte(`{"id":"43"}`))
		case "garbage":
			_, _ = w.Write([]byte(`<html>oops</html>`))
		default:
			http.Error(w, "Not found", http.StatusNotFound)
		}
	})
	c := s.client(t)
	ctx := context.Background()

	id, err := c.ContactIDByToken(ctx, appUUID, "a/b")
	require.NoError(t, err)
	assert.Equal(t, int64(42), id)
	r := s.requests()[0]
	assert.Equal(t, "GET", r.Method)
	assert.Equal(t, "/v1/contact/token/"+appUUID+"/a%2Fb/contactId", r.RawPath, "a token with a slash is one path segment")
	assert.Empty(t, r.Header.Get("Content-Type"), "no body, no Content-Type")

	id, err = c.ContactIDByToken(ctx, appUUID, "str")
	require.NoError(t, err)
	assert.Equal(t, int64(43), id)

	_, err = c.ContactIDByToken(ctx, appUUID, "garbage")
	require.ErrorIs(t, err, yespo.ErrUnexpectedResponse)
	assert.Contains(t, err.Error(), "oops", "the error says what came back")

	_, err = c.ContactIDByToken(ctx, appUUID, "unknown")
	require.ErrorIs(t, err, yespo.ErrNotFound)
}
