package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/deeplink"
)

// app is the bot: a Telegram client, a Yespo client with the Batcher that
// registers subscribers on its journal, and the handlers between them.
type app struct {
	cfg        config
	tg         *bot.Bot
	yespo      *yespo.Client
	batch      *yespo.Batcher
	journal    *journal
	log        *slog.Logger
	work       *tracker
	out        *outbox
	health     *health
	username   string // the bot's, from getMe
	hookSecret string // webhook secret token: TELEGRAM_WEBHOOK_SECRET, or derived from the bot token
	linkSecret []byte // verifies deep links; nil: deep links are refused
	stopProbe  context.CancelFunc
	probed     chan struct{} // closed once the first probe of Yespo ended

	// How long the last flush at shutdown may take: closeWait, shorter in
	// the tests.
	closeWait time.Duration
}

// closeWait bounds the replies still queued at shutdown; batcherCloseWait
// the Batcher's last flush: what Yespo has not taken by then stays in the
// journal for the next run.
const (
	closeWait        = 10 * time.Second
	batcherCloseWait = 500 * time.Millisecond
)

// newApp opens the journal, sets up the Yespo client and its Batcher, probes
// Yespo's key and app, and connects to Telegram (getMe, which checks the
// token); yespoOpts come after yespoOptions'. Poll or serveWebhook close it.
func newApp(ctx context.Context, cfg config, log *slog.Logger, yespoOpts ...yespo.Option) (*app, error) {
	a := &app{cfg: cfg, log: log, work: newTracker(), hookSecret: webhookSecret(cfg),
		closeWait: closeWait}
	if cfg.linkSecret != "" {
		a.linkSecret = []byte(cfg.linkSecret)
	}
	a.health = newHealth()
	var err error
	if a.yespo, err = yespo.NewClient(cfg.yespoKey, append(yespoOptions(cfg, log), yespoOpts...)...); err != nil {
		return nil, err
	}
	if a.journal, err = openJournal(ctx, cfg, log); err != nil {
		return nil, err
	}
	if a.batch, err = a.yespo.NewBatcher(cfg.appUUID, yespo.BatcherOptions{Journal: a.journal.j, OnBatch: a.onBatch, OnEvent: a.onEvent}); err != nil {
		a.journal.close(log)
		return nil, err
	}
	a.tg, err = bot.New(cfg.telegramToken,
		bot.WithServerURL(cfg.telegramURL),
		bot.WithHTTPClient(pollTimeout, telegramClient()),
		bot.WithSkipGetMe(), // called below, with a clearer error
		// telegramupdates runs the handlers, one chat's in order, and needs
		// to know when each is done: ProcessUpdate runs them in its goroutine.
		bot.WithNotAsyncHandlers(),
		bot.WithMiddlewares(a.work.middleware, a.privateOnly),
		bot.WithDefaultHandler(a.onOther),
		bot.WithMessageTextHandler("start", bot.MatchTypeCommandStartOnly, a.onStart),
		bot.WithMessageTextHandler("mute", bot.MatchTypeCommandStartOnly, a.onMute),
		bot.WithMessageTextHandler("unmute", bot.MatchTypeCommandStartOnly, a.onUnmute),
		bot.WithErrorsHandler(func(err error) { log.Error("telegram", "err", err) }),
	)
	if err == nil {
		a.tg.RegisterHandlerMatchFunc(isContact, a.onContact)
		a.username, err = getMe(ctx, a.tg, cfg)
	}
	if err != nil {
		_ = a.batch.Close(ctx) // empty: nothing to send
		a.journal.close(log)
		return nil, err
	}
	a.health.telegramOK(time.Now())
	a.out = newOutbox(a.tg, log, cfg.sendRate)
	a.startProbe(ctx)
	return a, nil
}

// handleUpdate runs u's handlers and returns nil once u's effect is
// durable, which is when Telegram may be told to forget it.
func (a *app) handleUpdate(ctx context.Context, u *models.Update) error {
	ctx, o := withOutcome(ctx)
	a.tg.ProcessUpdate(ctx, u) // in this goroutine: WithNotAsyncHandlers
	err := o.result()
	a.health.handled(err == nil)
	return err
}

// close, once the updates in hand are done (Poller.Run and the webhook
// server's Shutdown wait for them), sends the replies still queued and what
// the Batcher holds, within closeWait each, and closes the journal.
func (a *app) close() {
	a.stopProbe()
	ctx, cancel := context.WithTimeout(context.Background(), a.closeWait)
	defer cancel()
	a.out.close(ctx)
	a.work.stop()
	// The journal keeps what Yespo has not taken: a short last flush makes a
	// restart quick (users wait for it) and loses nothing.
	ctx, cancel = context.WithTimeout(context.Background(), min(a.closeWait, batcherCloseWait))
	defer cancel()
	if err := a.batch.Close(ctx); err != nil {
		a.log.Warn("yespo: tokens not delivered yet stay in the journal for the next run", "journal", a.journal.where, "err", err)
	}
	a.journal.close(a.log)
	a.log.Info("bot stopped")
}

// The handlers run only for private chats (see privateOnly), where the chat
// id is the user's id and the subscriber's Yespo token.

// onStart subscribes by the customer id in a signed deep link's payload
// ("/start PAYLOAD"), or, for a bare /start, asks for the phone number.
func (a *app) onStart(ctx context.Context, _ *bot.Bot, u *models.Update) {
	chat := u.Message.Chat.ID
	payload := commandArg(u.Message)
	if payload == "" {
		a.reply(ctx, chat, textAskPhone, phoneKeyboard)
		return
	}
	id, err := a.verifyLink(payload)
	if err != nil {
		// deeplink's errors say what is wrong, never with which payload.
		a.log.Warn("deep link refused", "chat", chat, "err", err)
		text := textBadLink
		if errors.Is(err, deeplink.ErrExpired) {
			text = textOldLink
		}
		a.reply(ctx, chat, text, nil)
		return
	}
	tok := yespo.Token{Token: yespo.TelegramToken(chat), ExternalCustomerID: id}
	a.subscribe(ctx, chat, tok, a.welcomeFor(tok, u.Message.From, sourceLink), nil)
}

// errLinksOff refuses every deep link of a bot started without a secret:
// without one, nothing tells the shop's links from typed ones.
var errLinksOff = errors.New("deep links are off: TELEGRAM_LINK_SECRET is not set")

func (a *app) verifyLink(payload string) (string, error) {
	if a.linkSecret == nil {
		return "", errLinksOff
	}
	return deeplink.Verify(a.linkSecret, payload)
}

// onContact subscribes by a shared phone number, but only the sender's own:
// anyone can share any card from their phone book, and registering it would
// send someone else's newsletters here.
func (a *app) onContact(ctx context.Context, _ *bot.Bot, u *models.Update) {
	m := u.Message
	if m.From == nil || m.Contact.UserID != m.From.ID {
		a.log.Info("refused a contact that is not the sender's", "chat", m.Chat.ID)
		a.reply(ctx, m.Chat.ID, textNotYourContact, phoneKeyboard)
		return
	}
	phone, err := yespo.NormalizePhone(m.Contact.PhoneNumber)
	if err != nil {
		a.log.Info("unusable phone number", "chat", m.Chat.ID, "err", err)
		a.reply(ctx, m.Chat.ID, textBadPhone, phoneKeyboard)
		return
	}
	tok := yespo.Token{Token: yespo.TelegramToken(m.Chat.ID), Phone: phone}
	a.subscribe(ctx, m.Chat.ID, tok, a.welcomeFor(tok, m.From, sourcePhone), removeKeyboard)
}

// subscribe registers tok through the shared Batcher, so that a burst of
// users shares the requests, with the welcome event welcome when not nil
// (welcome.go), which the Batcher sends once Yespo has accepted the token.
// The user is told "subscribed" once the journal holds the token (and its
// event) — on its way to Yespo, whenever Yespo can take it, across
// restarts and outages — unless Yespo refuses the bot's key or app: then
// "unavailable", and the token waits in the journal for a configuration
// Yespo accepts.
func (a *app) subscribe(ctx context.Context, chat int64, tok yespo.Token, welcome *yespo.Event, markup models.ReplyMarkup) {
	var err error
	if welcome == nil {
		err = a.batch.Add(ctx, tok)
	} else {
		err = a.batch.AddWithEvent(ctx, tok, *welcome)
	}
	if err != nil {
		// Not kept: the update stays unconfirmed and comes again. No reply
		// now, so that the user hears one answer once the journal works.
		a.log.Error("journal: token not kept; the update will be handled again", "chat", chat, "err", err)
		a.health.journalFailed(err)
		notDurable(ctx, err)
		return
	}
	a.health.journalOK()
	by, _ := tok.PrimaryIdentifier()
	if err := a.health.yespoConfigErr(); err != nil {
		a.log.Error("kept in the journal; Yespo refuses the bot's configuration, so the user was told the service is unavailable",
			"chat", chat, "by", by.Kind.String(), "err", err)
		a.reply(ctx, chat, textUnavailable, nil)
		return
	}
	a.log.Info("subscribed", "chat", chat, "by", by.Kind.String()) // not the value: it may be a phone number
	a.reply(ctx, chat, textSubscribed, markup)
}

// onMute pauses newsletters for the duration given, or until /unmute.
func (a *app) onMute(ctx context.Context, _ *bot.Bot, u *models.Update) {
	chat := u.Message.Chat.ID
	d, err := parseMuteDuration(commandArg(u.Message))
	if err != nil {
		a.reply(ctx, chat, textMuteUsage, nil)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, muteWait)
	defer cancel()
	a.settleTokens(ctx)
	err = a.yespo.MuteAppToken(ctx, a.cfg.appUUID, yespo.TelegramToken(chat), d)
	if a.tokenFailed(ctx, chat, "mute", err) {
		return
	}
	duration := "until /unmute"
	if d > 0 {
		duration = d.String()
	}
	a.log.Info("muted", "chat", chat, "duration", duration)
	a.reply(ctx, chat, textMuted(d), nil)
}

// settleTokens gives the tokens in hand, such as the user's own from a
// /start a moment ago, a short while to reach Yespo, so that a /mute right
// after it finds the token there. Yespo being down or slow only shortens
// the wait: the mute then fails on its own terms.
func (a *app) settleTokens(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, settleWait)
	defer cancel()
	_ = a.batch.Flush(ctx)
}

// settleWait bounds settleTokens; muteWait a /mute or /unmute in all. The
// update is confirmed to Telegram only once the answer is decided, and
// long polling takes at most 100 updates past an unconfirmed one: a short
// bound keeps a slow Yespo from holding up the updates behind it.
const (
	settleWait = 5 * time.Second
	muteWait   = 10 * time.Second
)

// onUnmute lets newsletters through again.
func (a *app) onUnmute(ctx context.Context, _ *bot.Bot, u *models.Update) {
	chat := u.Message.Chat.ID
	ctx, cancel := context.WithTimeout(ctx, muteWait)
	defer cancel()
	a.settleTokens(ctx)
	err := a.yespo.UnmuteAppToken(ctx, a.cfg.appUUID, yespo.TelegramToken(chat))
	if a.tokenFailed(ctx, chat, "unmute", err) {
		return
	}
	a.log.Info("unmuted", "chat", chat)
	a.reply(ctx, chat, textUnmuted, nil)
}

// tokenFailed answers a failed mute or unmute and reports whether err is one.
// A 404 for the token means that no contact holds it — the user never
// subscribed, or Yespo dropped it after the user blocked the bot — so
// /start is the way on; a 404 for the app is the bot's configuration.
func (a *app) tokenFailed(ctx context.Context, chat int64, op string, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, yespo.ErrNotFound) && !errors.Is(err, yespo.ErrAppNotFound):
		a.log.Warn("yespo "+op+": not found", "chat", chat, "err", err)
		a.reply(ctx, chat, textNotSubscribed, nil)
	default:
		a.yespoFailed(ctx, chat, op, err)
	}
	return true
}

// yespoFailed logs a Yespo error and tells the user what it means for them:
// the service is down when the bot's configuration is wrong, busy for a
// while when Yespo limits the rate, else try again later. The errors never
// hold the API key.
func (a *app) yespoFailed(ctx context.Context, chat int64, op string, err error) {
	text := textTryLater
	var apiErr *yespo.APIError
	switch {
	case errors.Is(err, yespo.ErrAppNotFound):
		a.log.Error("configuration error: YESPO_APP_UUID is not a bot connected in Yespo", "app", a.cfg.appUUID, "op", op, "chat", chat, "err", err)
		text = textUnavailable
	case errors.Is(err, yespo.ErrUnauthorized), errors.Is(err, yespo.ErrForbidden):
		a.log.Error("configuration error: YESPO_API_KEY is wrong or lacks the right for the apps methods", "op", op, "chat", chat, "err", err)
		text = textUnavailable
	case errors.Is(err, yespo.ErrRateLimited) && errors.As(err, &apiErr):
		a.log.Warn("yespo "+op+": rate limited", "chat", chat, "err", err)
		text = textBusy(apiErr.RetryAfter)
	default:
		a.log.Error("yespo "+op+" failed", "chat", chat, "err", err)
	}
	a.reply(ctx, chat, text, nil)
}

// onOther answers any other message with the commands; other kinds of
// updates (edits, reactions…) are left alone.
func (a *app) onOther(ctx context.Context, _ *bot.Bot, u *models.Update) {
	if u.Message == nil {
		a.log.Debug("ignored update", "update", u.ID)
		return
	}
	a.reply(ctx, u.Message.Chat.ID, textHelp, nil)
}

// privateOnly lets through updates from private chats only: subscriptions
// are per person, and the chat id is the Yespo token.
func (a *app) privateOnly(next bot.HandlerFunc) bot.HandlerFunc {
	return func(ctx context.Context, b *bot.Bot, u *models.Update) {
		if c := chatOf(u); c != nil && c.Type != models.ChatTypePrivate {
			a.log.Info("ignored update from a non-private chat", "chat", c.ID, "type", c.Type, "update", u.ID)
			return
		}
		next(ctx, b, u)
	}
}

// chatOf returns the chat an update happened in, nil for kinds without one.
func chatOf(u *models.Update) *models.Chat {
	for _, m := range []*models.Message{u.Message, u.EditedMessage, u.ChannelPost, u.EditedChannelPost} {
		if m != nil {
			return &m.Chat
		}
	}
	return nil
}

func isContact(u *models.Update) bool { return u.Message != nil && u.Message.Contact != nil }

// commandArg returns what follows the command that starts m's text.
func commandArg(m *models.Message) string {
	fields := strings.Fields(m.Text)
	if len(fields) == 0 {
		return ""
	}
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(m.Text), fields[0]))
}

// reply queues text for chat in the outbox, which sends it behind
// Telegram's limit on a bot's messages (about 30 a second to different
// chats, which a campaign's burst goes past) without holding up the
// confirmation of the update. Failures are logged, never fatal: in
// particular a user who blocked the bot (403) is skipped.
func (a *app) reply(ctx context.Context, chat int64, text string, markup models.ReplyMarkup) {
	a.out.send(&bot.SendMessageParams{ChatID: chat, Text: text, ReplyMarkup: markup}, replyStarted(ctx))
}

// sleep waits d unless ctx ends first, and reports whether it waited.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// What the bot says. Kept together so that the wording is easy to review and
// to translate.
const (
	textSubscribed     = "You're subscribed: our news will come here. Send /mute to pause it, /unmute to resume."
	textAskPhone       = "To subscribe, share your phone number with the button below."
	textBadLink        = "This link is not valid; please ask for a new one. Or send /start to subscribe with your phone number."
	textOldLink        = "This link has expired; please ask for a new one. Or send /start to subscribe with your phone number."
	textNotYourContact = "Please share your own phone number, with the button below."
	textBadPhone       = "We can't use that number. Please share your own phone number with the button below."
	textNotSubscribed  = "You're not subscribed yet: send /start first."
	textUnmuted        = "Unmuted: our news will come here again."
	textHelp           = "Send /start to subscribe, /mute to pause our news (e.g. /mute 2h), /unmute to resume."
	textTryLater       = "Sorry, something went wrong on our side. Please try again later."
	textUnavailable    = "Sorry, this service is unavailable at the moment; our team has been told. Please try again later."
	textMuteUsage      = "Send /mute to pause our news until you send /unmute, or /mute with a duration " +
		"from 5s to 365d: for example /mute 30m, /mute 2h or /mute 7d."
)

var (
	phoneKeyboard = &models.ReplyKeyboardMarkup{
		Keyboard:       [][]models.KeyboardButton{{{Text: "Share my phone number", RequestContact: true}}},
		ResizeKeyboard: true, OneTimeKeyboard: true,
	}
	removeKeyboard = &models.ReplyKeyboardRemove{RemoveKeyboard: true}
)

func textMuted(d time.Duration) string {
	if d == 0 {
		return "Muted until you send /unmute."
	}
	return "Muted for " + humanDuration(d) + ". Send /unmute to get our news sooner."
}

// textBusy says how long to wait: what Yespo asked for, else a minute.
func textBusy(wait time.Duration) string {
	if wait <= 0 {
		wait = time.Minute
	}
	return "Sorry, we're busy. Please try again in " + humanDuration(wait) + "."
}

const day = 24 * time.Hour

// parseMuteDuration reads the argument of /mute: nothing for "until
// /unmute" (0), a Go duration such as "30m" or "1h30m", or whole days such as
// "7d". It fails outside Yespo's range or on a fraction of a second.
func parseMuteDuration(arg string) (time.Duration, error) {
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(arg)
	if days, ok := strings.CutSuffix(arg, "d"); ok { // "7d", which ParseDuration does not know
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * day
		if n < 0 || n > 10000 {
			err = errors.New("bad number of days")
		}
	}
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a duration like 30m, 2h or 7d", arg)
	case d < yespo.MinMute || d > yespo.MaxMute:
		return 0, fmt.Errorf("%s is outside 5s to 365d", arg)
	case d%time.Second != 0:
		return 0, fmt.Errorf("%s is not whole seconds", arg)
	}
	return d, nil
}

// humanDuration says d to a user in its largest whole unit: "1 hour",
// "90 minutes", "7 days". It rounds up to whole seconds, so that a wait is
// never shorter than said.
func humanDuration(d time.Duration) string {
	d = (d + time.Second - 1).Truncate(time.Second)
	n, unit := int64(d/time.Second), "second"
	for _, u := range []struct {
		size time.Duration
		name string
	}{{day, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}} {
		if d >= u.size && d%u.size == 0 {
			n, unit = int64(d/u.size), u.name
			break
		}
	}
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}

// handlerTimeout bounds one update's handling, Yespo retries included.
const handlerTimeout = 30 * time.Second

// tracker follows the update handlers, which go-telegram/bot runs each in its
// own goroutine: a stop waits for those in flight instead of cutting their
// Yespo calls and replies short, and the demo and the tests wait for a number
// of handled updates instead of sleeping.
type tracker struct {
	mu       sync.Mutex
	stopping bool
	inFlight sync.WaitGroup
	handled  int
	changed  chan struct{} // closed and replaced when handled grows
}

func newTracker() *tracker { return &tracker{changed: make(chan struct{})} }

// middleware runs next under the tracker, on a context that the bot's stop
// does not cancel (handlerTimeout bounds it instead); the update counts as
// handled once the replies it queued are settled too. Updates that arrive
// once the stop has begun are left unconfirmed: Telegram sends them again.
func (t *tracker) middleware(next bot.HandlerFunc) bot.HandlerFunc {
	return func(ctx context.Context, b *bot.Bot, u *models.Update) {
		t.mu.Lock()
		if t.stopping {
			t.mu.Unlock()
			notDurable(ctx, errStopping)
			return
		}
		t.inFlight.Add(1) // under mu, so never concurrent with stop's Wait
		t.mu.Unlock()
		replies := &sync.WaitGroup{}
		ctx = context.WithValue(ctx, repliesKey{}, replies)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), handlerTimeout)
		defer cancel()
		next(ctx, b, u)
		go func() {
			replies.Wait()
			t.done()
		}()
	}
}

// errStopping leaves an update that came during the stop unconfirmed.
var errStopping = errors.New("the bot is stopping")

type repliesKey struct{}

// replyStarted counts a reply of the update handled in ctx and returns what
// to call once the reply is settled.
func replyStarted(ctx context.Context) func() {
	wg, ok := ctx.Value(repliesKey{}).(*sync.WaitGroup)
	if !ok {
		return func() {}
	}
	wg.Add(1)
	return wg.Done
}

func (t *tracker) done() {
	t.mu.Lock()
	t.handled++
	close(t.changed)
	t.changed = make(chan struct{})
	t.mu.Unlock()
	t.inFlight.Done()
}

// stop refuses new handlers and waits for those in flight.
func (t *tracker) stop() {
	t.mu.Lock()
	t.stopping = true
	t.mu.Unlock()
	t.inFlight.Wait()
}

// waitHandled waits until n updates have been handled in all, and fails with
// ctx's error if ctx ends first.
func (t *tracker) waitHandled(ctx context.Context, n int) error {
	for {
		t.mu.Lock()
		done, changed := t.handled >= n, t.changed
		t.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
