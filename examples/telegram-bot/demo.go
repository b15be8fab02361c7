package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/yespo-go/yespo/deeplink"
	"github.com/yespo-go/yespo/telegramtest"
	"github.com/yespo-go/yespo/yespotest"
)

// This file is the -demo, and only that: a bot without it has no -demo.
func init() { runDemo = playDemo }

// demoStepTimeout bounds the wait for the bot to handle one scripted update.
const demoStepTimeout = 10 * time.Second

// playDemo runs the real bot against in-process fakes of Telegram and Yespo,
// with a link secret of its own, plays the script, and prints the transcript
// and then the contacts Yespo holds. Each step waits until the bot has
// handled it, so the transcript comes out in conversation order, the same on
// every run but for the signed payloads, which the random secret changes.
func playDemo(ctx context.Context, out io.Writer) error {
	tg := telegramtest.NewServer()
	defer tg.Close()
	ys := yespotest.NewServer()
	defer ys.Close()
	dir, err := os.MkdirTemp("", "telegram-bot-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := config{telegramToken: tg.Token, telegramURL: tg.URL, yespoKey: ys.APIKey, yespoURL: ys.URL,
		appUUID: ys.NewApp(), linkSecret: newSecret(), journalPath: filepath.Join(dir, "demo.journal")}
	logs := &lineBuffer{}
	a, err := newApp(ctx, cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{ReplaceAttr: dropTime})))
	if err != nil {
		return err
	}
	botCtx, stopBot := context.WithCancel(ctx)
	defer stopBot()
	polled := make(chan error, 1)
	go func() { polled <- a.poll(botCtx) }()

	d := &demo{out: out, tg: tg, bot: a, logs: logs, seen: map[int64]int{}}
	err = d.play(ctx)
	stopBot()
	if errPoll := <-polled; err == nil {
		err = errPoll
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\nThe contacts Yespo now holds (yespotest's Contacts):")
	return printContacts(out, ys.Contacts())
}

// demo is the state of a scripted conversation.
type demo struct {
	out  io.Writer
	tg   *telegramtest.Server
	bot  *app
	logs *lineBuffer
	sent int           // updates sent so far
	seen map[int64]int // messages already printed, per chat
}

// step is one thing a user does, shown as said; scene, when set, is printed
// first as a numbered heading.
type step struct {
	scene string
	user  *telegramtest.User
	said  string
	do    func()
}

func (d *demo) play(ctx context.Context) error {
	ann, bob := d.tg.NewUser(1001, "Ann"), d.tg.NewUser(1002, "Bob")
	eve, dan := d.tg.NewUser(1003, "Eve"), d.tg.NewUser(1004, "Dan")
	annPayload, annLink, err1 := d.signedLink("crm-42")
	danPayload, danLink, err2 := d.signedLink("CRM/2024/0077")
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	forged := changeCharacter(annPayload, len(annPayload)/2)
	send := func(u *telegramtest.User, text string) func() { return func() { u.Send(text) } }
	steps := []step{
		{"Ann, signed in on the shop's website as customer crm-42, follows the link it shows her:\n   " + annLink,
			ann, "/start " + annPayload, send(ann, "/start "+annPayload)},
		{"Eve types Ann's customer id by hand", eve, "/start crm-42", send(eve, "/start crm-42")},
		{"Eve changes one character of Ann's link", eve, "/start " + forged, send(eve, "/start "+forged)},
		{"Bob opens the bot without a link", bob, "/start", send(bob, "/start")},
		{"", bob, "[taps the button: shares his own contact, 15550100002]", func() { bob.ShareContact("15550100002") }},
		{"Eve shares someone else's contact card", eve, "[shares Bob's contact, 15550100002]", func() {
			eve.ShareContactOf(telegramtest.Contact{PhoneNumber: "15550100002", FirstName: "Bob", UserID: bob.ID})
		}},
		{"Ann pauses the news for an hour, then changes her mind", ann, "/mute 1h", send(ann, "/mute 1h")},
		{"", ann, "/unmute", send(ann, "/unmute")},
		{"Dan follows his link, for customer CRM/2024/0077, and blocks the bot before the answer arrives:\n   " + danLink,
			dan, "/start " + danPayload, func() {
				dan.Block()
				dan.Send("/start " + danPayload)
			}},
		{"The bot carries on: Bob mutes the news until further notice", bob, "/mute", send(bob, "/mute")},
	}
	return d.playAll(ctx, steps)
}

// signedLink makes the deep link the shop would show customer id: it signs
// with the bot's secret, as the shop's backend does with the same secret.
func (d *demo) signedLink(id string) (payload, link string, err error) {
	if payload, err = deeplink.Sign(d.bot.linkSecret, id); err == nil {
		link, err = deeplink.Link(d.bot.username, payload)
	}
	return payload, link, err
}

// changeCharacter swaps the i-th character of payload for another of the
// alphabet, as someone trying their luck would.
func changeCharacter(payload string, i int) string {
	b := []byte(payload)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// playAll prints the heading, then plays the steps in order.
func (d *demo) playAll(ctx context.Context, steps []step) error {
	fmt.Fprintf(d.out, "Demo: the bot @%s against in-process fakes of Telegram (telegramtest)\n", d.bot.username)
	fmt.Fprintln(d.out, "and Yespo (yespotest); nothing leaves this process. \"log:\" lines are the bot's log.")
	wait, cancel := context.WithTimeout(ctx, demoStepTimeout)
	defer cancel()
	if err := d.tg.WaitPolling(wait); err != nil {
		return fmt.Errorf("demo: the bot did not start polling: %w", err)
	}
	d.logs.take() // the start-up lines name random ports
	scene := 0
	for _, s := range steps {
		if s.scene != "" {
			scene++
			fmt.Fprintf(d.out, "\n%d. %s\n", scene, s.scene)
		}
		if err := d.play1(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// play1 does one step, waits until the bot has handled it, and prints it with
// the bot's answers and log lines.
func (d *demo) play1(ctx context.Context, s step) error {
	fmt.Fprintf(d.out, "   %s: %s\n", s.user.FirstName, s.said)
	s.do()
	d.sent++
	wait, cancel := context.WithTimeout(ctx, demoStepTimeout)
	defer cancel()
	if err := d.bot.work.waitHandled(wait, d.sent); err != nil {
		return fmt.Errorf("demo: the bot did not handle %q: %w", s.said, err)
	}
	msgs := d.tg.Messages(s.user.ID)
	for _, m := range msgs[d.seen[s.user.ID]:] {
		printMessage(d.out, s.user.FirstName, m)
	}
	d.seen[s.user.ID] = len(msgs)
	for _, line := range d.logs.take() {
		fmt.Fprintf(d.out, "   log: %s\n", line)
	}
	return nil
}

func printMessage(out io.Writer, user string, m telegramtest.Message) {
	if m.Blocked {
		fmt.Fprintf(out, "   bot: (not delivered: %s blocked the bot) %s\n", user, m.Text)
		return
	}
	fmt.Fprintf(out, "   bot: %s\n", m.Text)
	for _, row := range m.Keyboard {
		for _, b := range row {
			note := ""
			if b.RequestContact {
				note = " (shares the phone number)"
			}
			fmt.Fprintf(out, "        [%s]%s\n", b.Text, note)
		}
	}
	if m.RemoveKeyboard {
		fmt.Fprintln(out, "        (the keyboard goes away)")
	}
}

func printContacts(out io.Writer, contacts []yespotest.Contact) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTACT\tEXTERNAL ID\tPHONE\tTOKENS")
	for _, c := range contacts {
		var toks []string
		for _, t := range c.Tokens {
			toks = append(toks, t.Token+muteNote(t))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", c.ID, dash(c.ExternalCustomerID), dash(c.Phone), strings.Join(toks, ", "))
	}
	return tw.Flush()
}

// muteNote says how a token is muted: not, until /unmute, or for how long.
func muteNote(t yespotest.ContactToken) string {
	switch {
	case t.MutedUntil.IsZero():
		return ""
	case t.MutedUntilUnmuted():
		return " (muted until /unmute)"
	}
	return " (muted for " + humanDuration(time.Until(t.MutedUntil).Round(time.Minute)) + ")"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// dropTime leaves the time out of the demo's log lines, which would differ
// on every run.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// lineBuffer collects the bot's log lines, which its handlers write from
// their own goroutines.
type lineBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// take returns the complete lines written so far and forgets them.
func (b *lineBuffer) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	text := strings.TrimSuffix(b.buf.String(), "\n")
	b.buf.Reset()
	if text == "" {
		return nil
	}
	return strings.Split(text, "\n")
}
