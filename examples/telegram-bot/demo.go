package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/yespo-go/yespo/telegramtest"
	"github.com/yespo-go/yespo/yespotest"
)

// demoStepTimeout bounds the wait for the bot to handle one scripted update.
const demoStepTimeout = 10 * time.Second

// runDemo runs the real bot against in-process fakes of Telegram and Yespo,
// plays the script, and prints the transcript and then the contacts Yespo
// holds. Each step waits until the bot has handled it, so the transcript
// comes out in conversation order, the same on every run.
func runDemo(ctx context.Context, out io.Writer) error {
	tg := telegramtest.NewServer()
	defer tg.Close()
	ys := yespotest.NewServer()
	defer ys.Close()
	cfg := config{telegramToken: tg.Token, telegramURL: tg.URL, yespoKey: ys.APIKey, yespoURL: ys.URL, appUUID: ys.NewApp()}
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
	annLink, err1 := DeepLink(d.bot.username, "crm-42")
	danLink, err2 := DeepLink(d.bot.username, "CRM/2024/0077") // not link-safe: it travels encoded
	danPayload, err3 := StartPayload("CRM/2024/0077")
	if err := firstErr(err1, err2, err3); err != nil {
		return err
	}
	send := func(u *telegramtest.User, text string) func() { return func() { u.Send(text) } }
	steps := []step{
		{"Ann follows " + annLink + " from the shop's website", ann, "/start crm-42", send(ann, "/start crm-42")},
		{"Bob opens the bot without a link", bob, "/start", send(bob, "/start")},
		{"", bob, "[taps the button: shares his own contact, 15550100002]", func() { bob.ShareContact("15550100002") }},
		{"Eve shares someone else's contact card", eve, "[shares Bob's contact, 15550100002]", func() {
			eve.ShareContactOf(telegramtest.Contact{PhoneNumber: "15550100002", FirstName: "Bob", UserID: bob.ID})
		}},
		{"Ann pauses the news for an hour, then changes her mind", ann, "/mute 1h", send(ann, "/mute 1h")},
		{"", ann, "/unmute", send(ann, "/unmute")},
		{"Dan follows " + danLink + " and blocks the bot before the answer arrives", dan, "/start " + danPayload, func() {
			dan.Block()
			dan.Send("/start " + danPayload)
		}},
		{"The bot carries on: Bob mutes the news until further notice", bob, "/mute", send(bob, "/mute")},
	}

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

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
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
