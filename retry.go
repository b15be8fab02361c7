package yespo

import (
	"net/http"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/yespo-go/yespo/internal/pace"
	"github.com/yespo-go/yespo/internal/retry"
)

// caller is who makes a call: whose turn it takes at the budget's pace,
// and who hears of each attempt. Direct calls (AddAppTokens, mute, unmute,
// ContactIDByToken) pass nil and take the Client's own turns; a Batcher
// passes its own, built for each send. It reaches the attempt loop as an
// argument, never through the context.
type caller struct {
	party *pace.Party // whose turn; nil: the Client's direct calls
	// attempted, if set, hears of each attempt once it is answered:
	// status is 0 for a transport error.
	attempted func(status int)
	// sending, if set, hears that an attempt leaves for the server.
	sending func()
	// holdsOutage: the caller keeps its work through an outage by itself
	// (a Batcher), so its calls stop retrying while the budget holds one.
	holdsOutage bool
}

// send runs the attempt loop for req (see retry.Loop): each attempt waits
// for its turn at the endpoint's budget, is sent, and its answer is fed
// back to the pace and to the caller. It returns the last response,
// whatever its status, or the error that ended the loop, and how many
// attempts were made.
func (c *Client) send(req *retryablehttp.Request, ep endpoint, by *caller) (*http.Response, int, error) {
	l := &retry.Loop{HTTP: c.attemptClient, Budget: c.budgetOf(ep), Policy: c.retry,
		Logger: c.logger, Method: ep.method, Path: ep.path, Scrub: c.creds().scrub.Text}
	if by != nil {
		l.By = retry.Caller{Party: by.party, Attempted: by.attempted, Sending: by.sending, HoldsOutage: by.holdsOutage}
	}
	resp, err := l.Do(req)
	return resp, l.Attempts, err
}
