package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/go-telegram/bot"
)

// poll gets updates by long polling until ctx ends, then waits for the
// handlers in flight. It first deletes any webhook, since Telegram refuses
// getUpdates while one is set (e.g. after a run with -webhook).
func (a *app) poll(ctx context.Context) error {
	if _, err := a.tg.DeleteWebhook(ctx, &bot.DeleteWebhookParams{}); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: a clean stop too
		}
		return fmt.Errorf("telegram deleteWebhook: %w", err)
	}
	a.log.Info("bot started: long polling", "bot", "@"+a.username, "yespo", a.cfg.yespoURL, "app", a.cfg.appUUID)
	a.tg.Start(ctx) // returns when ctx ends
	a.work.stop()
	a.log.Info("bot stopped")
	return nil
}

// serveWebhook registers publicURL with Telegram and serves the updates it
// posts on ln until ctx ends; then it stops taking requests and waits for the
// handlers in flight. The webhook stays registered, so that a restarted or
// replacing instance keeps receiving updates; -webhook-less runs delete it.
func (a *app) serveWebhook(ctx context.Context, ln net.Listener, publicURL string) error {
	defer ln.Close()
	if _, err := a.tg.SetWebhook(ctx, &bot.SetWebhookParams{URL: publicURL, SecretToken: a.secret}); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: a clean stop too
		}
		return fmt.Errorf("telegram setWebhook %s: %w", publicURL, err)
	}
	srv := &http.Server{Handler: postOnly(a.tg.WebhookHandler()), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	// The workers outlive ctx until the server has shut down, so that the
	// updates Telegram posted (and was told OK for) get handled. go-telegram/bot
	// cannot drain its queue, so one posted in the very last instant may not.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	processed := make(chan struct{})
	go func() { a.tg.StartWebhook(workCtx); close(processed) }()
	a.log.Info("bot started: webhook", "bot", "@"+a.username, "listen", ln.Addr().String(), "url", publicURL,
		"yespo", a.cfg.yespoURL, "app", a.cfg.appUUID)

	var err error
	select {
	case <-ctx.Done():
	case err = <-served: // the listener failed
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if errShut := srv.Shutdown(shutdown); errShut != nil && err == nil {
		err = errShut
	}
	stopWork()
	<-processed
	a.work.stop()
	a.log.Info("bot stopped")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// maxUpdate bounds the body of a webhook request; updates are far smaller.
const maxUpdate = 1 << 20

// postOnly keeps stray GETs (a browser, a health check) away from the
// update decoder, which would log them as broken updates, and bounds the
// body, which go-telegram/bot reads whole.
func postOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST updates here", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxUpdate)
		h.ServeHTTP(w, r)
	})
}
