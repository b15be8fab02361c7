package retry

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/internal/pace"
)

// answers serves the statuses in turn, the last one from then on.
func answers(t *testing.T, header http.Header, statuses ...int) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		i := int(n.Add(1)) - 1
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(statuses[min(i, len(statuses)-1)])
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func loop(srv *httptest.Server, p Policy) *Loop {
	return &Loop{HTTP: srv.Client(), Budget: pace.New(1e6, nil, true), Policy: p, Scrub: strings.ToUpper}
}

func TestLoopRetriesUntilFinal(t *testing.T) {
	srv, n := answers(t, nil, 503, 502, 200)
	l := loop(srv, Policy{MaxRetries: 3, MinWait: time.Millisecond, MaxWait: 10 * time.Millisecond})
	var seen []int
	var sent int
	l.By = Caller{Attempted: func(s int) { seen = append(seen, s) }, Sending: func() { sent++ }}
	var logs bytes.Buffer
	l.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	req, err := retryablehttp.NewRequest(http.MethodPost, srv.URL, []byte("{}"))
	require.NoError(t, err)
	resp, err := l.Do(req)
	require.NoError(t, err)
	Drain(resp.Body)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, 3, l.Attempts)
	assert.Equal(t, int32(3), n.Load())
	assert.Equal(t, []int{503, 502, 200}, seen)
	assert.Equal(t, 3, sent)
	assert.Equal(t, 3, strings.Count(logs.String(), `msg="yespo: attempt"`))
}

func TestLoopGivesUp(t *testing.T) {
	for name, c := range map[string]struct {
		header   http.Header
		retries  int
		attempts int
	}{
		"retries exhausted":         {nil, 2, 3},
		"Retry-After past MaxWait":  {http.Header{"Retry-After": {"60"}}, 3, 1},
		"no retries, single answer": {nil, 0, 1},
	} {
		t.Run(name, func(t *testing.T) {
			srv, n := answers(t, c.header, 503)
			l := loop(srv, Policy{MaxRetries: c.retries, MinWait: time.Millisecond, MaxWait: 10 * time.Millisecond})
			req, err := retryablehttp.NewRequest(http.MethodGet, srv.URL, nil)
			require.NoError(t, err)
			resp, err := l.Do(req)
			require.NoError(t, err, "the last answer comes back for the caller to judge")
			Drain(resp.Body)
			assert.Equal(t, 503, resp.StatusCode)
			assert.Equal(t, c.attempts, l.Attempts)
			assert.Equal(t, int32(c.attempts), n.Load())
		})
	}
}

func TestLoopTransportErrorIsBare(t *testing.T) {
	srv, _ := answers(t, nil, 200)
	url := srv.URL
	srv.Close()
	l := loop(srv, Policy{MaxRetries: 1, MinWait: time.Millisecond, MaxWait: time.Millisecond})
	req, err := retryablehttp.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	_, err = l.Do(req)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "giving up after", "go-retryablehttp's wording stays out")
	assert.Equal(t, 2, l.Attempts)
}

func TestPolicyProblem(t *testing.T) {
	assert.Empty(t, Default.Problem())
	assert.Empty(t, Policy{}.Problem(), "no retries at all is a policy")
	assert.Equal(t, "maxRetries must not be negative", Policy{MaxRetries: -1}.Problem())
	assert.Equal(t, "minWait must not be negative", Policy{MinWait: -1}.Problem())
	assert.Equal(t, "maxWait must not be less than minWait", Policy{MinWait: 2, MaxWait: 1}.Problem())
}
