package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yespo-go/yespo"
)

// health is what the bot knows of its own state, for /readyz, the metrics
// and the wording of its answers.
type health struct {
	mu         sync.Mutex
	journalErr error     // the last journal write failed with it; nil once one succeeds
	yespoErr   error     // Yespo refuses the bot's key or app (401, 403, "Not registered application"); nil otherwise
	telegramAt time.Time // the last call that reached Telegram

	updatesOK, updatesFailed atomic.Int64 // updates handled with their effect kept, or not
}

func newHealth() *health { return &health{} }

func (h *health) handled(ok bool) {
	if ok {
		h.updatesOK.Add(1)
	} else {
		h.updatesFailed.Add(1)
	}
}

func (h *health) journalFailed(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.journalErr = err
}

func (h *health) journalOK() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.journalErr = nil
}

func (h *health) lastJournalErr() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.journalErr
}

// yespoConfigErr returns Yespo's refusal of the bot's configuration, nil
// while Yespo accepts it or has not said (an outage is not a refusal).
func (h *health) yespoConfigErr() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.yespoErr
}

// setYespo records what an answer from Yespo says about the configuration,
// and reports whether that changed.
func (h *health) setYespo(err error) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	changed := (h.yespoErr == nil) != (err == nil)
	h.yespoErr = err
	return changed
}

func (h *health) telegramOK(at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.telegramAt = at
}

func (h *health) lastTelegram() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.telegramAt
}

// configProblem reports whether err is Yespo refusing the bot's
// configuration: a wrong key, a key without the right, an unknown app. No
// retry fixes those; the operator must.
func configProblem(err error) bool {
	return errors.Is(err, yespo.ErrUnauthorized) || errors.Is(err, yespo.ErrForbidden) || errors.Is(err, yespo.ErrAppNotFound)
}

// probeToken is the token yespo.CheckApp asks Yespo about: nobody holds
// it, so that a working configuration answers 404 for the token, a wrong
// one 401, 403 or 404 "Not registered application".
const probeToken = yespo.CheckAppToken

// probeEvery is how often the probe asks again while Yespo refuses the
// configuration; probeTimeout bounds one probe.
const (
	probeEvery   = 30 * time.Second
	probeTimeout = 10 * time.Second
)

// startProbe probes Yespo's key and app now and, while Yespo refuses them,
// every probeEvery, in the background: the bot starts and keeps tokens in
// its journal whatever Yespo says.
func (a *app) startProbe(ctx context.Context) {
	ctx, a.stopProbe = context.WithCancel(context.WithoutCancel(ctx))
	a.probed = make(chan struct{})
	go func() {
		for first := true; ; first = false {
			a.probeYespo(ctx)
			if first {
				close(a.probed)
			}
			wait := probeEvery
			if a.health.yespoConfigErr() == nil {
				wait = 10 * probeEvery
			}
			if !sleep(ctx, wait) {
				return
			}
		}
	}()
}

// probeYespo checks the bot's key and app with yespo.CheckApp, the
// start-up check, and records whether Yespo accepts them; any other
// failure (an outage) leaves the record as it was. CheckApp proves the key
// and the app, not the key's right to add tokens: a key without it shows
// in the first batch (onBatch), whose error names the missing right.
func (a *app) probeYespo(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	err := a.yespo.CheckApp(ctx, a.cfg.appUUID)
	switch {
	case ctx.Err() != nil && err != nil:
		return
	case err == nil:
		a.recordYespo(nil)
	case configProblem(err):
		a.recordYespo(err)
	default:
		a.log.Warn("yespo probe: no answer on the configuration yet", "err", err)
	}
}

// recordYespo logs a change in Yespo's verdict on the configuration.
func (a *app) recordYespo(err error) {
	if !a.health.setYespo(err) {
		return
	}
	if err != nil {
		a.log.Error("configuration error: Yespo refuses YESPO_API_KEY or YESPO_APP_UUID; users are told the service is unavailable, their tokens are kept",
			"app", a.cfg.appUUID, "err", err)
		return
	}
	a.log.Info("yespo accepts the bot's key and app")
}

// onBatch hears every batch's outcome: Yespo's verdict on the
// configuration, for the users' answers.
func (a *app) onBatch(r yespo.BatchResult) {
	switch {
	case r.Err == nil:
		a.recordYespo(nil)
	case configProblem(r.Err):
		a.recordYespo(r.Err)
	}
}

// ready returns why this process cannot accept and durably keep an update
// now, nil when it can: the journal must take writes, and Telegram be
// reachable. Yespo's configuration is not part of it (it goes to the logs
// and the metrics): a wrong key must not make every replica refuse
// Telegram's deliveries.
func (a *app) ready(ctx context.Context) error {
	if err := a.health.lastJournalErr(); err != nil {
		return errors.New("journal: " + err.Error())
	}
	if _, err := a.journal.j.Stats(ctx); err != nil {
		return errors.New("journal: " + err.Error())
	}
	if err := a.journal.writable(); err != nil {
		return err
	}
	if time.Since(a.health.lastTelegram()) < telegramFresh {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, getMeTimeout)
	defer cancel()
	if _, err := a.tg.GetMe(ctx); err != nil {
		return errors.New("telegram unreachable: " + err.Error())
	}
	a.health.telegramOK(time.Now())
	return nil
}

// telegramFresh is how long a call that reached Telegram vouches for it.
const telegramFresh = 30 * time.Second

// batchStats is the Batcher's figures, for the metrics.
type batchStats = yespo.BatcherStats

func (a *app) batchStats() batchStats { return a.batch.Stats() }
