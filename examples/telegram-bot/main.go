// Command telegram-bot subscribes a Telegram bot's users to a business's
// Yespo newsletters, built on github.com/go-telegram/bot and the yespo SDK.
//
//   - /start PAYLOAD, from a deep link t.me/<bot>?start=PAYLOAD that the
//     shop signed with package github.com/yespo-go/yespo/deeplink, registers
//     the chat with the customer id in the payload. Unsigned or changed
//     payloads are refused.
//   - /start alone asks for the phone number with a button; the user's own
//     shared contact registers the chat with that number.
//   - /mute [30m|2h|7d] pauses newsletters (until /unmute without a
//     duration); /unmute resumes them.
//
// Only private chats are served. Registrations go to Yespo through one
// shared yespo.Batcher on a journal (-journal, YESPO_JOURNAL; with
// YESPO_REDIS_URL one in Redis that the replicas share), so that a
// campaign's burst of /start costs a few requests and nothing is lost to a
// crash, a deploy or an outage: each user is told "subscribed" once the
// journal holds their token. An update is confirmed to Telegram only once
// its effect is kept (package telegramupdates, poll.go); replies queue behind Telegram's
// send limit (outbox.go). A user who blocked the bot is logged and skipped.
// SIGINT or SIGTERM stops the bot after the updates in hand.
//
// Configuration comes from the environment, or from flags that override it:
// TELEGRAM_BOT_TOKEN, YESPO_API_KEY, YESPO_APP_UUID, TELEGRAM_LINK_SECRET
// (environment only: at least 32 bytes, e.g. `openssl rand -hex 32`; without
// it deep links are refused), and optionally TELEGRAM_API_URL (default the
// public Bot API), YESPO_BASE_URL (default yespo.DefaultBaseURL),
// YESPO_JOURNAL, YESPO_REDIS_URL and TELEGRAM_WEBHOOK_SECRET (environment
// only; default derived from the bot token). It long-polls unless -webhook
// ADDR and -webhook-url URL are given; -admin ADDR serves /healthz, /readyz
// and /metrics. -welcome-event NAME (YESPO_WELCOME_EVENT) sends, with each
// subscription, a Yespo event of type NAME once Yespo has the token, to
// start a welcome workflow (welcome.go).
//
//	telegram-bot -link crm-42   # prints the signed deep link for customer crm-42
//	telegram-bot -demo          # a scripted conversation against in-process fakes
//
// The files: bot.go is what the bot does, main.go how it is configured and
// run, demo.go the optional -demo (leave it out and -demo goes away); the
// others are named after what they do (README.md lists them).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-telegram/bot"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/deeplink"
	"github.com/yespo-go/yespo/yesporedis"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal stops the bot after the updates in hand (bounded);
	// from then on a signal has its default effect: a second Ctrl-C quits
	// at once.
	context.AfterFunc(ctx, func() {
		stop()
		fmt.Fprintln(os.Stderr, "telegram-bot: stopping after the updates in hand; Ctrl-C again quits at once")
	})
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return
	}
	fmt.Fprintln(os.Stderr, "telegram-bot:", err)
	if errors.As(err, new(usageError)) {
		os.Exit(2)
	}
	os.Exit(1)
}

// usageError is a mistake in the command line or the configuration: exit
// status 2, as for a bad flag, against 1 for a failure while running.
type usageError struct{ error }

// runDemo plays -demo; demo.go sets it, and without that file there is no
// -demo flag.
var runDemo func(ctx context.Context, out io.Writer) error

// run is the whole program, with its surroundings passed in for the tests:
// it returns nil once ctx ends and the bot has stopped cleanly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			err = usageError{err}
		}
		return err
	}
	switch {
	case cfg.demo:
		return runDemo(ctx, stdout)
	case cfg.linkFor != "":
		return printLink(ctx, cfg, stdout)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if cfg.redisURL != "" {
		yesporedis.RouteRedisLogs(log) // go-redis's own lines, once per outage, in the bot's log
	}
	if cfg.linkSecret == "" {
		log.Warn("deep links are refused: TELEGRAM_LINK_SECRET is not set (the phone number still works)")
	}
	a, err := newApp(ctx, cfg, log)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil // stopped while starting: a clean stop too
	case err != nil:
		return err
	}
	if cfg.adminAddr != "" {
		stopAdmin, err := a.serveAdmin(cfg.adminAddr)
		if err != nil {
			a.close()
			return err
		}
		defer stopAdmin()
	}
	if cfg.webhookAddr == "" {
		return a.poll(ctx)
	}
	ln, err := net.Listen("tcp", cfg.webhookAddr)
	if err != nil {
		a.close()
		return err
	}
	return a.serveWebhook(ctx, ln, cfg.webhookURL)
}

// yespoOptions collects the options of the Yespo client, in one place so
// that more can join them. With YESPO_REDIS_URL every request first waits
// its turn in its budget, shared through Redis with the other replicas of
// the bot and with imports (see package yesporedis): the account's 200/s
// for the tokens, Generate event's own 350/s for the welcome events;
// without it the Client finds Yespo's limits by itself.
func yespoOptions(cfg config, log *slog.Logger) []yespo.Option {
	opts := []yespo.Option{
		yespo.WithBaseURL(cfg.yespoURL),
		yespo.WithUserAgent("yespo-telegram-bot"),
		yespo.WithLogger(log),
	}
	if cfg.redisURL != "" {
		ro, _ := redis.ParseURL(cfg.redisURL) // checked in validate
		ro.ContextTimeoutEnabled = true       // a stuck Redis costs a Wait yesporedis's timeout, no more
		rdb := redis.NewClient(ro)
		opts = append(opts,
			yespo.WithRateLimiter(yesporedis.NewLimiter(rdb, accountBudgetKey, accountRPS, yesporedis.WithLogger(log))),
			// Its own key (yespo:account:event): a burst of welcomes never
			// takes the tokens' turns, and the replicas share the 350/s.
			yespo.WithBudgetLimiter(yespo.BudgetEvent,
				yesporedis.NewBudgetLimiter(rdb, accountBudgetKey, yespo.BudgetEvent, yesporedis.WithLogger(log))))
	} else if cfg.welcomeEvent != "" {
		opts = append(opts, yespo.WithBudgetLimiter(yespo.BudgetEvent, rate.NewLimiter(eventCeiling, eventBurst)))
	}
	return opts
}

// eventCeiling caps the welcome events of a bot without Redis at 95 % of
// Generate event's 350 requests a second, with a burst of 9, as yesporedis
// does by default: the Client's pace alone probes beyond the budget to
// find it, and a campaign's 2,000 welcomes then met 2 to 37 answers 429;
// under the ceiling none (BENCHMARKS.md, BenchmarkWelcomeBurst).
const (
	eventCeiling = rate.Limit(0.95 * 350)
	eventBurst   = 9
)

// accountBudgetKey names the account's budget in Redis: every process that
// uses the same Yespo account (bot replicas, imports, a shop backend) must
// use the same key, and import-subscribers uses this one. accountRPS is
// Yespo's documented limit per account.
const (
	accountBudgetKey = "yespo:account"
	accountRPS       = 200
)

// telegramClient is the HTTP client for the Bot API: its timeout outlasts a
// long poll, and at most 64 connections are open at once, so that a burst of
// replies queues for a connection instead of opening thousands.
func telegramClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost = 64, 64
	return &http.Client{Timeout: pollTimeout + 10*time.Second, Transport: tr}
}

// pollTimeout is how long one getUpdates waits for an update.
const pollTimeout = time.Minute

// getMeTimeout bounds the first call to Telegram, which checks the token.
const getMeTimeout = 15 * time.Second

// getMe asks Telegram who the bot is, which checks the token too.
func getMe(ctx context.Context, tg *bot.Bot, cfg config) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, getMeTimeout)
	defer cancel()
	me, err := tg.GetMe(ctx)
	if err != nil {
		return "", fmt.Errorf("telegram getMe at %s (is TELEGRAM_BOT_TOKEN right?): %w", cfg.telegramURL, err)
	}
	return me.Username, nil
}

// printLink prints the signed deep link for cfg.linkFor, and nothing else,
// so that a script can take it from stdout.
func printLink(ctx context.Context, cfg config, stdout io.Writer) error {
	var opts []deeplink.Option
	if cfg.linkValidFor > 0 {
		opts = append(opts, deeplink.ValidFor(cfg.linkValidFor))
	}
	// Signing first: a bad id is a usage error, found without the network.
	payload, err := deeplink.Sign([]byte(cfg.linkSecret), cfg.linkFor, opts...)
	if err != nil {
		return usageError{fmt.Errorf("-link: %w", err)}
	}
	tg, err := bot.New(cfg.telegramToken, bot.WithServerURL(cfg.telegramURL), bot.WithSkipGetMe())
	if err != nil {
		return err
	}
	username, err := getMe(ctx, tg, cfg)
	if err != nil {
		return err
	}
	link, err := deeplink.Link(username, payload)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, link)
	return err
}

// poll gets updates by long polling until ctx ends, confirming each to
// Telegram only once its effect is durable (see newPoller), then waits for
// the handlers in flight. It fails if Telegram refuses the token. Telegram refuses getUpdates while a webhook is
// set; poll refuses to start then, since another process (a replica in
// webhook mode) may be serving it, unless -take-over says to delete it.
func (a *app) poll(ctx context.Context) error {
	defer a.close()
	if err := a.checkNoWebhook(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: a clean stop too
		}
		return err
	}
	a.log.Info("bot started: long polling", "bot", "@"+a.username, "yespo", a.cfg.yespoURL, "app", a.cfg.appUUID)
	return a.newPoller().Run(ctx)
}

// checkNoWebhook fails if a webhook is set, unless cfg.takeOver: then it
// deletes it, and says so.
func (a *app) checkNoWebhook(ctx context.Context) error {
	info, err := a.tg.GetWebhookInfo(ctx)
	if err != nil {
		return fmt.Errorf("telegram getWebhookInfo: %w", err)
	}
	if info.URL == "" {
		return nil
	}
	if !a.cfg.takeOver {
		return fmt.Errorf("a webhook is set (%s): another process may be serving this bot; run with -webhook like it, or with -take-over to delete the webhook and poll instead", info.URL)
	}
	if _, err := a.tg.DeleteWebhook(ctx, &bot.DeleteWebhookParams{}); err != nil {
		return fmt.Errorf("telegram deleteWebhook: %w", err)
	}
	a.log.Warn("-take-over: deleted the webhook; Telegram's updates now come to this process", "webhook", info.URL)
	return nil
}

// newSecret returns 32 random bytes in hex: the demo's link secret.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails, per crypto/rand
	return hex.EncodeToString(b)
}

// defaultTelegramURL is the public Bot API.
const defaultTelegramURL = "https://api.telegram.org"

// config is what the bot needs to run. The environment variable names are a
// contract: deployments and tests outside this repository set them.
type config struct {
	telegramToken string // TELEGRAM_BOT_TOKEN, from BotFather
	telegramURL   string // TELEGRAM_API_URL, for a local Bot API server or a fake
	yespoKey      string // YESPO_API_KEY
	appUUID       string // YESPO_APP_UUID, from Yespo's "My bots"
	yespoURL      string // YESPO_BASE_URL
	redisURL      string // YESPO_REDIS_URL: share the account's budget through Redis
	linkSecret    string // TELEGRAM_LINK_SECRET: its bytes are the deeplink key
	webhookAddr   string // -webhook: serve updates here instead of polling
	webhookURL    string // -webhook-url: the public URL Telegram posts to
	linkFor       string // -link: print this customer's deep link and exit
	linkValidFor  time.Duration
	demo          bool
	journalPath   string  // -journal, YESPO_JOURNAL: the journal directory
	journalSet    bool    // the journal was named, not defaulted
	webhookSecret string  // TELEGRAM_WEBHOOK_SECRET; else derived from the bot token
	takeOver      bool    // -take-over: delete a webhook set and poll
	adminAddr     string  // -admin: health and metrics on this address
	maxConns      int     // -max-connections: setWebhook's max_connections
	sendRate      float64 // -send-rate: replies per second, under Telegram's limit
	welcomeEvent  string  // -welcome-event, YESPO_WELCOME_EVENT: the event type sent with each subscription; "" = none
}

// setting is a string option that comes from a flag or, failing that, from
// the environment. TELEGRAM_LINK_SECRET is not one: it has no flag, since a
// flag's value shows in the process list.
type setting struct {
	flag, env, usage string
	dst              *string
	def              string
}

func (c *config) settings() []setting {
	return []setting{
		{"telegram-bot-token", "TELEGRAM_BOT_TOKEN", "bot token from BotFather", &c.telegramToken, ""},
		{"telegram-api-url", "TELEGRAM_API_URL", "Bot API server", &c.telegramURL, defaultTelegramURL},
		{"yespo-api-key", "YESPO_API_KEY", "Yespo API key", &c.yespoKey, ""},
		{"yespo-app-uuid", "YESPO_APP_UUID", `app_uuid of the bot in Yespo "My bots"`, &c.appUUID, ""},
		{"yespo-base-url", "YESPO_BASE_URL", "Yespo API root", &c.yespoURL, yespo.DefaultBaseURL},
		{"redis", "YESPO_REDIS_URL", "Redis URL (redis://host:6379/0) through which every process on this Yespo account shares its 200 requests/s, and the replicas of the bot their journal; unset: this process paces itself alone", &c.redisURL, ""},
		{"journal", "YESPO_JOURNAL", "the journal directory that keeps subscribers' tokens until Yespo has them (in a container: on a volume)", &c.journalPath, defaultJournal},
		{"welcome-event", "YESPO_WELCOME_EVENT", "the Yespo event type (eventTypeKey) sent with each new subscription, once Yespo has the token, to start a welcome workflow; unset: no event", &c.welcomeEvent, ""},
	}
}

// parseConfig reads flags, then fills what they left unset from getenv, then
// the defaults. Flag defaults stay empty in -h so that the help never prints
// a secret taken from the environment.
func parseConfig(args []string, getenv func(string) string, usage io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("telegram-bot", flag.ContinueOnError)
	fs.SetOutput(usage)
	for _, s := range c.settings() {
		help := s.usage + " (env " + s.env + ")"
		if s.def != "" {
			help += ` (default "` + s.def + `")`
		}
		fs.StringVar(s.dst, s.flag, "", help)
	}
	fs.StringVar(&c.webhookAddr, "webhook", "", "serve the webhook on this address (e.g. :8443) instead of long polling")
	fs.StringVar(&c.webhookURL, "webhook-url", "", "with -webhook: the public https URL Telegram posts updates to")
	fs.StringVar(&c.linkFor, "link", "", "print the signed deep link for this customer id and exit; needs TELEGRAM_BOT_TOKEN and TELEGRAM_LINK_SECRET")
	fs.DurationVar(&c.linkValidFor, "valid-for", 0, "with -link: the link expires after this long (e.g. 720h); 0 = never")
	fs.BoolVar(&c.takeOver, "take-over", false, "long polling: if a webhook is set, delete it and poll (without it the bot refuses to start, since another process may serve the webhook)")
	fs.StringVar(&c.adminAddr, "admin", "", "serve /healthz, /readyz and /metrics on this address (with -webhook they are on the webhook listener too)")
	fs.IntVar(&c.maxConns, "max-connections", defaultMaxConns, "with -webhook: Telegram's connections at most (setWebhook max_connections, 1-100); the listener takes "+strconv.Itoa(spareConns)+" more for health checks and strangers")
	fs.Float64Var(&c.sendRate, "send-rate", defaultSendRate, "replies per second at most, under Telegram's limit of about 30 a second per bot; 0 = no limit (a local Bot API server)")
	if runDemo != nil {
		fs.BoolVar(&c.demo, "demo", false, "play a scripted conversation against in-process fakes of Telegram and Yespo; needs no environment")
	}
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: telegram-bot [flags]\n\nTELEGRAM_LINK_SECRET (environment only) signs and verifies deep links: at least 32 bytes, e.g. from `openssl rand -hex 32`.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.demo {
		return c, nil
	}
	c.journalSet = c.journalPath != "" || strings.TrimSpace(getenv("YESPO_JOURNAL")) != ""
	for _, s := range c.settings() {
		*s.dst = strings.TrimSpace(firstNonEmpty(*s.dst, getenv(s.env), s.def))
	}
	c.linkSecret = getenv("TELEGRAM_LINK_SECRET")       // its bytes are the key, as given
	c.webhookSecret = getenv("TELEGRAM_WEBHOOK_SECRET") // checked in validate
	return c, c.validate()
}

// validate checks what the mode needs: -link only the bot token and the
// link secret, the bot everything but the link secret.
func (c config) validate() error {
	if err := c.checkLinkSecret(); err != nil {
		return err
	}
	var missing []string
	for _, s := range c.settings() {
		optional := s.dst == &c.redisURL || s.dst == &c.journalPath || s.dst == &c.welcomeEvent
		if *s.dst == "" && !optional && (c.linkFor == "" || s.dst == &c.telegramToken) {
			missing = append(missing, s.env+" (or -"+s.flag+")")
		}
	}
	if c.linkFor != "" && c.linkSecret == "" {
		missing = append(missing, "TELEGRAM_LINK_SECRET")
	}
	if c.linkFor == "" && c.linkValidFor != 0 {
		return errors.New("-valid-for goes with -link")
	}
	if len(missing) > 0 {
		return errors.New("missing " + strings.Join(missing, ", ") + c.hint())
	}
	if c.linkFor != "" {
		return nil
	}
	// The SDK checks the UUID on every call; checking here too makes a typo
	// fail at start, not at the first subscriber's /start.
	if c.redisURL != "" {
		if _, err := redis.ParseURL(c.redisURL); err != nil {
			return fmt.Errorf("YESPO_REDIS_URL: %w", err) // go-redis's words name no password
		}
	}
	if err := yespo.ValidateAppUUID(c.appUUID); err != nil {
		return fmt.Errorf("YESPO_APP_UUID: %w", err)
	}
	if c.welcomeEvent != "" {
		if err := yespo.ValidateEventTypeKey(c.welcomeEvent); err != nil {
			return fmt.Errorf("YESPO_WELCOME_EVENT (-welcome-event): %w", err)
		}
	}
	return c.checkWebhook()
}

func (c config) hint() string {
	if c.linkFor != "" || runDemo == nil {
		return ""
	}
	return "; -demo runs without them"
}

// checkLinkSecret refuses a secret too short to sign with, and one with
// white space at either end, which the shop's side may well trim away: the
// two would then sign with different keys and every link would fail.
func (c config) checkLinkSecret() error {
	s := c.linkSecret
	switch {
	case s == "":
		return nil
	case strings.TrimSpace(s) != s:
		return errors.New("TELEGRAM_LINK_SECRET starts or ends with white space; its bytes as given are the key, so remove it on both sides")
	case len(s) < deeplink.MinSecretLen:
		return fmt.Errorf("TELEGRAM_LINK_SECRET has %d bytes, needs at least %d: make one with `openssl rand -hex 32`", len(s), deeplink.MinSecretLen)
	}
	return nil
}

func (c config) checkWebhook() error {
	if c.maxConns < 1 || c.maxConns > 100 {
		return fmt.Errorf("-max-connections %d: Telegram takes 1 to 100", c.maxConns)
	}
	if c.sendRate < 0 {
		return errors.New("-send-rate must not be negative")
	}
	if c.webhookSecret != "" && !validWebhookSecret(c.webhookSecret) {
		return errors.New("TELEGRAM_WEBHOOK_SECRET must be 1 to 256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule for secret_token)")
	}
	if (c.webhookAddr == "") != (c.webhookURL == "") {
		return errors.New("-webhook and -webhook-url go together: the address to listen on and the public URL Telegram calls")
	}
	if c.webhookURL != "" {
		u, err := url.Parse(c.webhookURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("-webhook-url %q is not an absolute http(s) URL", c.webhookURL)
		}
	}
	return nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
