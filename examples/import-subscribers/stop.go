package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/yespo-go/yespo"
)

// errStopping is what a request that would start after the import began
// to stop gets instead: its rows stay after the checkpoint.
var errStopping = errors.New("import stopping: request not sent")

// gate is the client's Limiter: it paces requests with next (if any) and,
// once closed, refuses every request not yet started, retries included.
// Closing it stops an import within one round trip: the requests in
// flight finish, nothing new goes out.
type gate struct {
	next   yespo.Limiter
	once   sync.Once
	closed chan struct{}
}

func newGate(next yespo.Limiter) *gate { return &gate{next: next, closed: make(chan struct{})} }

func (g *gate) close() { g.once.Do(func() { close(g.closed) }) }

func (g *gate) isClosed() bool {
	select {
	case <-g.closed:
		return true
	default:
		return false
	}
}

// Wait implements yespo.Limiter.
func (g *gate) Wait(ctx context.Context) error {
	if g.isClosed() {
		return errStopping
	}
	if g.next != nil {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() { // a long wait (a shared limiter's) ends with the gate
			select {
			case <-g.closed:
				cancel()
			case <-ctx.Done():
			}
		}()
		if err := g.next.Wait(ctx); err != nil {
			if g.isClosed() {
				return errStopping
			}
			return err
		}
	}
	if g.isClosed() {
		return errStopping
	}
	return nil
}

// verdict is how a batch's error is handled.
type verdict int

const (
	batchSent     verdict = iota
	batchFailed           // this batch only: its rows go to the failed file
	batchUnsent           // the import stopped first: its rows stay after the checkpoint
	importBlocked         // no retry and no other row fixes it: stop the import
)

// judge sorts a batch's error. Errors that no retry fixes — a refused key
// (401), a key without the right (403), an unknown app or endpoint (404),
// a server that cannot be reached (a transport error, after the client's
// retries) — stop the import: every later batch would get the same. The
// rest concern one batch (a 400 for its content, a 413, a 5xx or 429 that
// outlived the retries).
func judge(err error, stopping bool) verdict {
	var apiErr *yespo.APIError
	switch {
	case err == nil:
		return batchSent
	case errors.As(err, &apiErr):
		switch {
		case errors.Is(err, yespo.ErrUnauthorized), errors.Is(err, yespo.ErrForbidden), errors.Is(err, yespo.ErrNotFound):
			return importBlocked
		case stopping && (errors.Is(err, yespo.ErrRateLimited) || errors.Is(err, yespo.ErrServer)):
			// The stop may have cut its retries short: the next run tries again.
			return batchUnsent
		}
		return batchFailed
	case errors.Is(err, errStopping), stopping:
		// Cancelled by the stop (Ctrl-C, or another batch's blocking error).
		return batchUnsent
	case errors.Is(err, yespo.ErrInvalidInput), errors.Is(err, yespo.ErrUnexpectedResponse):
		return batchFailed
	}
	return importBlocked // a transport error: Yespo cannot be reached
}

// blockedMessage explains an error that stopped the import: the server's
// answer, then what to check.
func blockedMessage(err error, cfg config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "import-subscribers: stopped: %v\n", err)
	hint := ""
	switch {
	case errors.Is(err, yespo.ErrUnauthorized):
		hint = "Yespo refused the API key. Check YESPO_API_KEY: the whole key, of this account, not revoked (Yespo: your profile → Settings → API)."
	case errors.Is(err, yespo.ErrForbidden):
		hint = "The API key has no right to add application tokens. Give the key that right (Yespo: your profile → Settings → API), or create a key that has it."
	case errors.Is(err, yespo.ErrAppNotFound):
		hint = fmt.Sprintf("Yespo does not know the app %s. Check -app / YESPO_APP_UUID: the app_uuid Yespo shows for the bot's Telegram app, on the account of this API key.", cfg.app)
	case errors.Is(err, yespo.ErrNotFound):
		hint = fmt.Sprintf("Not found: check the base URL (-base-url / YESPO_BASE_URL, now %s) and the app UUID (-app / YESPO_APP_UUID, now %s).", baseURLShown(cfg), cfg.app)
	default:
		hint = fmt.Sprintf("Yespo could not be reached. Check the base URL (-base-url / YESPO_BASE_URL, now %s) and the network: DNS, proxy (HTTPS_PROXY), firewall.", baseURLShown(cfg))
	}
	b.WriteString("  ")
	b.WriteString(hint)
	b.WriteString("\n  The rows not sent are not in the failed file: fix this and run the same command again; it continues where it stopped.")
	return b.String()
}

func baseURLShown(cfg config) string {
	if cfg.baseURL == "" {
		return "the default, " + yespo.DefaultBaseURL
	}
	return cfg.baseURL
}
