package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/yespo-go/yespo/telegramupdates"
)

// go-telegram/bot's own loops confirm an update to Telegram as soon as it is
// off the wire, before any handler ran: a crash in between loses it. So the
// bot takes its updates through package telegramupdates, which confirms an
// update only once handleRaw returned nil (its effect is durable), and
// feeds each to the library's ProcessUpdate.

// The bounds of the updates in hand, in both modes.
const (
	// maxHandlers bounds the handlers running at once: they mostly wait on
	// the journal's group commit, which a few hundred share.
	maxHandlers = 256
	// maxInHand bounds the updates taken and not yet done: beyond it the
	// poller waits before asking for more.
	maxInHand = 2000
	// giveUpAfter is how long long polling retries an update whose token
	// the journal keeps refusing before it logs the update's chat and
	// skips it, so that the bot does not stay stuck behind it (Telegram
	// keeps an update 24 h at most anyway).
	giveUpAfter = time.Hour
)

// newPoller returns the long-polling loop of the bot: updates in hand
// confirmed only once done, one chat's in order.
func (a *app) newPoller() *telegramupdates.Poller {
	return &telegramupdates.Poller{
		Token:          a.cfg.telegramToken,
		APIURL:         a.cfg.telegramURL,
		Client:         telegramClient(),
		PollTimeout:    pollTimeout - time.Second,
		Handler:        a.handleRaw,
		MaxInFlight:    maxHandlers,
		MaxPending:     maxInHand,
		HandlerTimeout: handlerTimeout,
		RetryFor:       giveUpAfter,
		OnGiveUp: func(u telegramupdates.Update, err error) {
			a.log.Error("journal: gave up on an update after "+giveUpAfter.String()+"; its user must send /start again",
				"update", u.ID, "chat", u.ChatID, "err", err)
		},
		OnPoll: func(err error) {
			if err != nil {
				a.log.Error("telegram", "err", err)
				return
			}
			a.health.telegramOK(time.Now())
		},
	}
}

// handleRaw decodes an update for go-telegram/bot and runs its handlers;
// it returns nil once the update's effect is durable.
func (a *app) handleRaw(ctx context.Context, raw telegramupdates.Update) error {
	var u models.Update
	if err := json.Unmarshal(raw.Raw, &u); err != nil {
		// Not one go-telegram/bot can read: no handler would run on it,
		// and no retry changes that.
		a.log.Warn("telegram: an update go-telegram/bot cannot decode was skipped", "update", raw.ID, "err", err)
		return nil
	}
	if err := a.handleUpdate(ctx, &u); err != nil {
		return fmt.Errorf("update %d: %w", raw.ID, err)
	}
	return nil
}
