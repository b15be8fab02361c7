package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespotest"
)

func TestJudge(t *testing.T) {
	api := func(status int, msg string) error {
		return fmt.Errorf("batch: %w", &yespo.APIError{StatusCode: status, Message: msg, Method: "POST", Path: "v1/apps/x/tokens"})
	}
	transport := &url.Error{Op: "Post", URL: "http://127.0.0.1:1/api/", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}
	for _, c := range []struct {
		name     string
		err      error
		stopping bool
		want     verdict
	}{
		{"ok", nil, false, batchSent},
		{"401", api(401, "Unauthorized"), false, importBlocked},
		{"403", api(403, "Forbidden"), false, importBlocked},
		{"404 app", api(404, "Not registered application"), false, importBlocked},
		{"404 path", api(404, "Not found"), false, importBlocked},
		{"400", api(400, "Invalid token"), false, batchFailed},
		{"413", api(413, "Too large"), false, batchFailed},
		{"500", api(500, ""), false, batchFailed},
		{"429", api(429, ""), false, batchFailed},
		{"401 while stopping", api(401, ""), true, importBlocked},
		{"503 while stopping", api(503, ""), true, batchUnsent},
		{"429 while stopping", api(429, ""), true, batchUnsent},
		{"400 while stopping", api(400, ""), true, batchFailed},
		{"transport", transport, false, importBlocked},
		{"transport while stopping", transport, true, batchUnsent},
		{"not started", fmt.Errorf("rate limiter: %w", errStopping), false, batchUnsent},
		{"cancelled by the stop", fmt.Errorf("yespo: batcher closed before sending: %w", context.Canceled), true, batchUnsent},
		{"invalid", &yespo.ValidationError{Index: -1, Field: "tokens", Reason: "x"}, false, batchFailed},
	} {
		assert.Equal(t, c.want, judge(c.err, c.stopping), c.name)
	}
}

// Errors of one batch — a 413, a 5xx that outlived the retries — go to the
// failed file and the import goes on.
func TestBatchErrorsGoToFailedFile(t *testing.T) {
	srv, _, env := fakeEnv(t)
	srv.FailNext(1, yespotest.Fault{Delay: time.Millisecond}) // the first batch goes through
	srv.FailNext(1, yespotest.Fault{Status: 413, Body: "Too large"})
	srv.FailRandomly(1, yespotest.Fault{Status: 503, Body: "Down"}) // every later request: past the retries and the outage hold
	path := writeFile(t, "subs.csv", crmRows(30))
	code, out := runTool(t, env, "-batch", "10", "-concurrency", "1", path)
	assert.Equal(t, exitFailures, code, out)
	assert.Contains(t, out, "10 rows sent, 20 failed, 0 rejected.")
	failed := readCSV(t, path+".failed.csv")
	require.Len(t, failed, 21)
	assert.Contains(t, failed[1][1], "413")
	assert.Contains(t, failed[11][1], "503")
	stored := 0
	for _, c := range srv.Contacts() {
		stored += len(c.Tokens)
	}
	assert.Equal(t, 10, stored)
}
