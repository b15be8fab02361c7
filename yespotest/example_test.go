package yespotest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespotest"
)

// onStart is a bot's /start handler as it would be in production: it
// registers the chat with the customer id from the deep link and returns
// what the bot answers the user.
func onStart(ctx context.Context, client *yespo.Client, app string, chatID int64, customerID string) string {
	err := client.AddAppTokens(ctx, app, []yespo.Token{{
		Token:              yespo.TelegramToken(chatID),
		ExternalCustomerID: customerID,
	}})
	var apiErr *yespo.APIError
	switch {
	case err == nil:
		return "You are subscribed."
	case errors.As(err, &apiErr) && apiErr.RetryAfter > 0:
		return "Busy, please try again in " + apiErr.RetryAfter.String() + "."
	default:
		return "Sorry, please try again later."
	}
}

// Test a bot's handler against the fake: what it answers, and what Yespo
// ends up holding.
func Example() {
	srv := yespotest.NewServer()
	defer srv.Close()
	app := srv.NewApp()
	client := srv.Client()
	ctx := context.Background()

	fmt.Println(onStart(ctx, client, app, 123456789, "crm-42"))
	contact, _ := srv.ContactByToken(app, "123456789")
	fmt.Printf("contact %d: externalCustomerId=%s tokens=%d\n", contact.ID, contact.ExternalCustomerID, len(contact.Tokens))

	// Yespo is overloaded for a while: the handler tells the user when to come back.
	srv.FailNext(1, yespotest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Minute})
	fmt.Println(onStart(ctx, client, app, 987654321, "crm-43"))
	// Output:
	// You are subscribed.
	// contact 1: externalCustomerId=crm-42 tokens=1
	// Busy, please try again in 1m0s.
}

// An existing customer, known by phone, starts the bot: the token lands on
// that contact and nothing else changes.
func ExampleServer_AddContact() {
	srv := yespotest.NewServer()
	defer srv.Close()
	app := srv.NewApp()
	existing := srv.AddContact(yespotest.Contact{Phone: "+380501234567", Email: "ann@example.com"})

	_ = srv.Client().AddAppTokens(context.Background(), app, []yespo.Token{
		{Token: "555", Phone: "+380501234567", ExternalCustomerID: "ignored-for-existing-contacts"},
	})
	for _, c := range srv.Contacts() {
		fmt.Println(c.ID == existing.ID, c.Phone, c.Email, c.ExternalCustomerID == "", c.Tokens[0].Token)
	}
	// Output:
	// true +380501234567 ann@example.com true 555
}

// A user who blocks the bot makes Yespo drop the token; /start registers it again.
func ExampleServer_ReportStatus() {
	srv := yespotest.NewServer()
	defer srv.Close()
	app := srv.NewApp()
	client := srv.Client()
	ctx := context.Background()

	_ = client.AddAppTokens(ctx, app, []yespo.Token{{Token: "777", Email: "bob@example.com"}})
	srv.ReportStatus(app, "777", yespotest.StatusFailed, "Forbidden: bot was blocked by the user")
	_, held := srv.ContactByToken(app, "777")
	fmt.Println("after block:", held)

	_ = client.AddAppTokens(ctx, app, []yespo.Token{{Token: "777", Email: "bob@example.com"}})
	_, held = srv.ContactByToken(app, "777")
	fmt.Println("after /start:", held, len(srv.Contacts()), "contact")
	// Output:
	// after block: false
	// after /start: true 1 contact
}

// Check that a bot's welcome event reaches Yespo after its subscriber's
// token, with the params the workflow needs.
func ExampleServer_Events() {
	srv := yespotest.NewServer()
	defer srv.Close()
	app := srv.NewApp()
	client := srv.Client()
	ctx := context.Background()

	_ = client.AddAppTokens(ctx, app, []yespo.Token{{Token: "123456789", ExternalCustomerID: "crm-42"}})
	_ = client.SendEvent(ctx, yespo.Event{
		TypeKey:  "telegram_subscribed",
		KeyValue: "crm-42",
		Params:   []yespo.EventParam{{Name: "telegramChatId", Value: "123456789"}},
	})

	added, _ := srv.TokenAddedAt(app, "123456789")
	for _, ev := range srv.Events() {
		fmt.Printf("%s %s %s=%s after the token: %v\n", ev.TypeKey, ev.KeyValue,
			ev.Params[0].Name, ev.Params[0].Value, ev.Time.After(added))
	}
	// Output:
	// telegram_subscribed crm-42 telegramChatId="123456789" after the token: true
}
