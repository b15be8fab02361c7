package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/yespo-go/yespo"
)

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
	webhookAddr   string // -webhook: serve updates here instead of polling
	webhookURL    string // -webhook-url: the public URL Telegram posts to
	demo          bool
}

// setting is a string option that comes from a flag or, failing that, from
// the environment.
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
	fs.BoolVar(&c.demo, "demo", false, "play a scripted conversation against in-process fakes of Telegram and Yespo; needs no environment")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.demo {
		return c, nil
	}
	for _, s := range c.settings() {
		*s.dst = strings.TrimSpace(firstNonEmpty(*s.dst, getenv(s.env), s.def))
	}
	return c, c.validate()
}

func (c config) validate() error {
	var missing []string
	for _, s := range c.settings() {
		if *s.dst == "" {
			missing = append(missing, s.env+" (or -"+s.flag+")")
		}
	}
	if len(missing) > 0 {
		return errors.New("missing " + strings.Join(missing, ", ") + "; -demo runs without them")
	}
	// The SDK checks the UUID on every call; checking here too makes a typo
	// fail at start, not at the first subscriber's /start.
	if err := yespo.ValidateAppUUID(c.appUUID); err != nil {
		return fmt.Errorf("YESPO_APP_UUID: %w", err)
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
