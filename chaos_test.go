package yespo_test

import (
	"context"
	"flag"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespotest"
)

// long runs the long scenarios at full size: go test -run TestChaos . -long
var long = flag.Bool("long", false, "run the long scenarios (TestChaos) at full size")

// TestChaos sends 20,000 tokens (100,000 with -long) through a Batcher into
// a fake that fails a fifth of all requests: 429 with Retry-After, 503, a
// dropped connection, and a delay longer than the client's timeout. Nothing
// may be lost or stored twice, and the counters must add up. It takes 2.5 to
// 6 s under -race, whatever the size: a 429 and a timeout within a second
// make the Batcher hold as in an outage and probe, and the probes' waits
// are most of it. The deadline only keeps a hang from reaching go test's.
func TestChaos(t *testing.T) {
	n := 20_000
	if *long {
		n = 100_000
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(n/10_000)*2*time.Minute)
	defer cancel()
	srv := yespotest.NewServer(yespotest.WithSeed(7))
	defer srv.Close()
	app := srv.NewApp()
	// The client's timeout is far above what an answer takes even on a
	// loaded machine (milliseconds), so that only the Delay fault meets it;
	// eight requests in flight keep the waits it costs short.
	const timeout = time.Second
	srv.FailRandomly(0.2,
		yespotest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second, Body: "Too many requests"},
		yespotest.Fault{Status: http.StatusServiceUnavailable, Body: "maintenance"},
		yespotest.Fault{Drop: true},
		yespotest.Fault{Delay: timeout + 200*time.Millisecond},
	)
	// Ten retries: a batch fails only if 11 attempts in a row do (0.2^11).
	client := srv.Client(
		yespo.WithHTTPClient(&http.Client{Timeout: timeout}),
		yespo.WithRetry(10, 5*time.Millisecond, 2*time.Second),
	)
	var reports onBatchCounter
	b, err := client.NewBatcher(app, yespo.BatcherOptions{MaxBatch: 500, Concurrency: 8, FlushInterval: 50 * time.Millisecond,
		OnBatch: reports.record})
	require.NoError(t, err)

	start := time.Now()
	for i := range n {
		require.NoError(t, b.Add(ctx, tok(i)))
	}
	require.NoError(t, b.Close(ctx), "not done by the deadline")
	elapsed := time.Since(start)

	st := b.Stats()
	assert.Equal(t, int64(n), st.Added)
	assert.Equal(t, int64(n), st.Sent)
	assert.Zero(t, st.Failed)
	reports.assertReportedOnce(t, st)
	assertStored(t, srv, n)

	var faulted int
	for _, r := range srv.Requests() {
		if r.Status != http.StatusOK {
			faulted++
		}
	}
	reqs := len(srv.Requests())
	t.Logf("chaos: %d tokens in %v: %d batches, %d HTTP attempts (%d seen by the Batcher), %d of them failed and were retried; pace %.0f/s",
		n, elapsed.Round(time.Millisecond), st.Batches, reqs, st.Attempts, faulted, st.Pace)
	assert.Greater(t, faulted, reqs/10, "the faults happened")
}
