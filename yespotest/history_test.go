package yespotest_test

import (
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespotest"
)

// Without history the server answers as it always does, and keeps nothing.
func TestWithoutHistoryAnswersAndForgets(t *testing.T) {
	srv, app, c := newFake(t, yespotest.WithoutHistory())
	tok := yespo.Token{Token: "1", Email: "a@example.com"}
	require.NoError(t, c.AddAppTokens(ctx, app, []yespo.Token{tok}))
	assert.Empty(t, srv.Requests())
	assert.Empty(t, srv.Contacts())
	_, found := srv.ContactByToken(app, "1")
	assert.False(t, found)
	assert.NoError(t, c.MuteAppToken(ctx, app, "1", 0), "mute: any token")
	assert.NoError(t, c.UnmuteAppToken(ctx, app, "1"))

	err := c.AddAppTokens(ctx, "0f8fad5b-d9cb-469f-a165-70867728950e", []yespo.Token{tok})
	assert.ErrorIs(t, err, yespo.ErrAppNotFound)
	wrong, err := yespo.NewClient("a-wrong-key", yespo.WithBaseURL(srv.URL))
	require.NoError(t, err)
	err = wrong.AddAppTokens(ctx, app, []yespo.Token{tok})
	assert.True(t, errors.Is(err, yespo.ErrUnauthorized), "%v", err)

	srv.FailNext(1, yespotest.Fault{Status: 403, Body: "Access denied"})
	err = c.AddAppTokens(ctx, app, []yespo.Token{tok})
	assert.ErrorIs(t, err, yespo.ErrForbidden)
	assert.Empty(t, srv.Requests())
}

// What WithoutHistory is for: a server's memory stays flat however many
// tokens it is sent, where one with history grows with every token.
func TestWithoutHistoryMemoryStaysFlat(t *testing.T) {
	const requests, perRequest = 100, 500
	grow := func(opts ...yespotest.Option) uint64 {
		srv, app, c := newFake(t, opts...)
		before := heap()
		batch := make([]yespo.Token, perRequest)
		for r := range requests {
			for i := range batch {
				n := r*perRequest + i
				batch[i] = yespo.Token{Token: fmt.Sprint(n), Email: fmt.Sprintf("user%d@example.com", n)}
			}
			require.NoError(t, c.AddAppTokens(ctx, app, batch))
		}
		after := heap()
		runtime.KeepAlive(srv)
		if after < before {
			return 0
		}
		return after - before
	}
	kept := grow()
	forgot := grow(yespotest.WithoutHistory())
	t.Logf("heap growth for %d tokens: %d KiB with history, %d KiB without", requests*perRequest, kept>>10, forgot>>10)
	assert.Greater(t, kept, uint64(8<<20), "with history the server keeps every token")
	assert.Less(t, forgot, uint64(2<<20), "without history it keeps none")
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
