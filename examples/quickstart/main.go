// Command quickstart registers a few Telegram subscribers' tokens with Yespo
// and shows where they landed, to demonstrate the identifier priority rules.
//
// With YESPO_API_KEY and YESPO_APP_UUID set (and optionally YESPO_BASE_URL)
// it talks to Yespo. Without them it starts the in-process fake from the
// yespotest package and says so on its first line:
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -token '1001,externalCustomerId=crm-7,phone=+15550100001'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespotest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "quickstart:", err)
		}
		os.Exit(1)
	}
}

// step is one call of the demo, with what it shows.
type step struct {
	why   string
	token yespo.Token
}

// demo shows the rules: a new contact, a token that lands on an existing
// contact found by phone (its email is not added), another token on the same
// contact, and a second contact. Phones are in the fictional 555-01xx range.
var demo = []step{
	{"no contact has crm-1 or this phone: Yespo creates one", yespo.Token{Token: "100001", ExternalCustomerID: "crm-1", Phone: "+15550100001"}},
	{"the phone finds that contact: the token is added, the new email is not", yespo.Token{Token: "100002", Phone: "+15550100001", Email: "ann@example.com"}},
	{"crm-1 finds it again: a third token beside the others", yespo.Token{Token: "100003", ExternalCustomerID: "crm-1"}},
	{"nobody has this email: a second contact", yespo.Token{Token: "100004", Email: "bob@example.com"}},
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(out)
	baseURL := fs.String("base-url", getenv("YESPO_BASE_URL"), "Yespo API root (default "+yespo.DefaultBaseURL+"; env YESPO_BASE_URL)")
	var tokens tokenList
	fs.Var(&tokens, "token", `a token to send instead of the demo's, as "TOKEN,key=value,..." with keys `+
		"contactId, externalCustomerId, phone, email; repeatable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (tokens go in -token)", fs.Arg(0))
	}

	key, app := getenv("YESPO_API_KEY"), getenv("YESPO_APP_UUID")
	var fake *yespotest.Server
	switch {
	case key == "" && app == "":
		fake = yespotest.NewServer()
		defer fake.Close()
		key, app, *baseURL = fake.APIKey, fake.NewApp(), fake.URL
		fmt.Fprintln(out, "No YESPO_API_KEY and YESPO_APP_UUID: running against an in-process fake Yespo (yespotest).")
	case key == "" || app == "":
		return errors.New("set both YESPO_API_KEY and YESPO_APP_UUID to talk to Yespo, or neither to use the fake")
	default:
		fmt.Fprintf(out, "Talking to Yespo at %s for app %s.\n", orDefault(*baseURL), app)
	}

	opts := []yespo.Option{yespo.WithUserAgent("yespo-quickstart")}
	if *baseURL != "" {
		opts = append(opts, yespo.WithBaseURL(*baseURL))
	}
	client, err := yespo.NewClient(key, opts...)
	if err != nil {
		return err
	}

	steps := demo
	if len(tokens) > 0 {
		steps = nil
		for _, t := range tokens {
			steps = append(steps, step{"from -token", t})
		}
	}
	for i, s := range steps {
		fmt.Fprintf(out, "%d. token %s with %s: %s\n", i+1, s.token.Token, describe(s.token), s.why)
		if err := client.AddAppTokens(ctx, app, []yespo.Token{s.token}); err != nil {
			return err
		}
	}
	muted := steps[min(1, len(steps)-1)].token.Token
	fmt.Fprintf(out, "%d. mute token %s for an hour\n", len(steps)+1, muted)
	if err := client.MuteAppToken(ctx, app, muted, time.Hour); err != nil {
		return err
	}

	fmt.Fprintln(out)
	if fake != nil {
		return printContacts(out, fake.Contacts())
	}
	return printContactIDs(ctx, out, client, app, steps)
}

// printContacts is the fake's view: every contact with its tokens.
func printContacts(out io.Writer, contacts []yespotest.Contact) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTACT\tEXTERNAL ID\tPHONE\tEMAIL\tTOKENS")
	for _, c := range contacts {
		var toks []string
		for _, t := range c.Tokens {
			toks = append(toks, t.Token+muteNote(t))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", c.ID, dash(c.ExternalCustomerID), dash(c.Phone), dash(c.Email), strings.Join(toks, ", "))
	}
	return tw.Flush()
}

// printContactIDs is what can be read back from Yespo itself.
func printContactIDs(ctx context.Context, out io.Writer, client *yespo.Client, app string, steps []step) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TOKEN\tCONTACT")
	for _, s := range steps {
		id, err := client.ContactIDByToken(ctx, app, s.token.Token)
		cell := strconv.FormatInt(id, 10)
		if err != nil {
			cell = "? (" + err.Error() + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\n", s.token.Token, cell)
	}
	return tw.Flush()
}

func muteNote(t yespotest.ContactToken) string {
	switch {
	case t.MutedUntil.IsZero():
		return ""
	case t.MutedUntilUnmuted():
		return " (muted until unmuted)"
	}
	return " (muted " + time.Until(t.MutedUntil).Round(time.Minute).String() + ")"
}

func describe(t yespo.Token) string {
	var parts []string
	for _, id := range t.Identifiers() {
		parts = append(parts, id.Kind.String()+"="+id.Value)
	}
	if len(parts) == 0 {
		return "no identifier"
	}
	return strings.Join(parts, ", ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orDefault(base string) string {
	if base == "" {
		return yespo.DefaultBaseURL
	}
	return base
}

// tokenList is the repeatable -token flag.
type tokenList []yespo.Token

func (l *tokenList) String() string { return fmt.Sprint(len(*l), " tokens") }

// Set parses "TOKEN,key=value,...".
func (l *tokenList) Set(v string) error {
	fields := strings.Split(v, ",")
	t := yespo.Token{Token: strings.TrimSpace(fields[0])}
	for _, f := range fields[1:] {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			return fmt.Errorf("%q: want key=value", f)
		}
		switch strings.TrimSpace(k) {
		case "contactId":
			id, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return fmt.Errorf("contactId %q: not a number", val)
			}
			t.ContactID = id
		case "externalCustomerId":
			t.ExternalCustomerID = val
		case "phone":
			t.Phone = val
		case "email":
			t.Email = val
		default:
			return fmt.Errorf("unknown key %q (want contactId, externalCustomerId, phone or email)", k)
		}
	}
	if err := t.Validate(); err != nil {
		return err
	}
	*l = append(*l, t)
	return nil
}
