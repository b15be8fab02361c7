package yespo_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/yespo-go/yespo"
)

func TestMuteAndUnmuteBodies(t *testing.T) {
	s := newServer(t)
	s.mux.HandleFunc("POST /v1/apps/{uuid}/token/mute", answer(200, `""`))
	s.mux.HandleFunc("POST /v1/apps/{uuid}/token/unmute", answer(200, `""`))
	c := s.client(t)
	ctx := context.Background()

	require.NoError(t, c.MuteAppToken(ctx, appUUID, "111", time.Hour))
	require.NoError(t, c.MuteAppToken(ctx, appUUID, "111", 0))
	require.NoError(t, c.MuteAppToken(ctx, appUUID, "111", 5*time.Second))
	require.NoError(t, c.MuteAppToken(ctx, appUUID, "111", 31_536_000*time.Second))
	require.NoError(t, c.UnmuteAppToken(ctx, appUUID, "111"))

	reqs := s.requests()
	require.Len(t, reqs, 5)
	assert.Equal(t, "/v1/apps/"+appUUID+"/token/mute", reqs[0].Path)
	assert.JSONEq(t, `{"token":"111","duration":3600}`, string(reqs[0].Body))
	assert.JSONEq(t, `{"token":"111"}`, string(reqs[1].Body), "duration 0 is omitted: muted until unmuted")
	assert.JSONEq(t, `{"token":"111","duration":5}`, string(reqs[2].Body))
	assert.JSONEq(t, `{"token":"111","duration":31536000}`, string(reqs[3].Body))
	assert.Equal(t, "/v1/apps/"+appUUID+"/token/unmute", reqs[4].Path)
	assert.JSONEq(t, `{"token":"111"}`, string(reqs[4].Body))
}

func TestMuteDurationValidation(t *testing.T) {
	s := newServer(t)
	c := s.client(t)
	for _, d := range []time.Duration{-time.Second, time.Second, 4 * time.Second, 1500 * time.Millisecond,
		31_536_001 * time.Second, time.Nanosecond} {
		err := c.MuteAppToken(context.Background(), appUUID, "111", d)
		var ve *yespo.ValidationError
		require.ErrorAs(t, err, &ve, "duration %v", d)
		assert.Equal(t, "duration", ve.Field)
		assert.Equal(t, -1, ve.Index)
		assert.ErrorIs(t, err, yespo.ErrInvalidInput)
	}
	assert.Empty(t, s.requests(), "validation must happen before any network call")
}
