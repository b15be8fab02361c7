package yespo_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/yespo-go/yespo"
)

// exampleApp is the app_uuid Yespo shows for a connected bot.
const exampleApp = "0f8fad5b-d9cb-469f-a165-70867728950e"

// fakeYespo stands in for Yespo in the examples: it prints each request it
// gets and answers the way the real API documents. Tests of your own bot can
// use the yespotest package instead.
func fakeYespo() *httptest.Server {
	mux := http.NewServeMux()
	show := func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("server got: %s %s %s\n", r.Method, r.URL.Path, body)
		_, _ = io.WriteString(w, `"OK"`)
	}
	mux.HandleFunc("POST /api/v1/apps/"+exampleApp+"/tokens", show)
	mux.HandleFunc("POST /api/v1/apps/"+exampleApp+"/token/mute", show)
	mux.HandleFunc("POST /api/v1/apps/"+exampleApp+"/token/unmute", show)
	mux.HandleFunc("POST /api/v2/event", show)
	mux.HandleFunc("POST /api/v1/apps/{app}/tokens", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Not registered application", http.StatusNotFound)
	})
	mux.HandleFunc("POST /api/v1/apps/{app}/token/{op}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		http.Error(w, "Too many requests", http.StatusTooManyRequests)
	})
	return httptest.NewServer(mux)
}

func ExampleNewClient() {
	srv := fakeYespo()
	defer srv.Close()

	// In production: yespo.NewClient(os.Getenv("YESPO_API_KEY")), which
	// talks to yespo.DefaultBaseURL.
	client, err := yespo.NewClient("my-api-key",
		yespo.WithBaseURL(srv.URL+"/api/"),
		yespo.WithUserAgent("acme-bot/1.0"),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(client != nil)

	_, err = yespo.NewClient("")
	fmt.Println(err)
	// Output:
	// true
	// yespo: invalid apiKey: must not be blank
}

func ExampleClient_AddAppTokens() {
	srv := fakeYespo()
	defer srv.Close()
	client, _ := yespo.NewClient("my-api-key", yespo.WithBaseURL(srv.URL+"/api/"))

	// In a /start handler: the chat id is the token, the customer id from
	// the deep link is the identifier.
	err := client.AddAppTokens(context.Background(), exampleApp, []yespo.Token{
		{Token: yespo.TelegramToken(123456789), ExternalCustomerID: "crm-42"},
	})
	fmt.Println("error:", err)

	// Bad input is reported per token, before anything is sent.
	err = client.AddAppTokens(context.Background(), exampleApp, []yespo.Token{
		{Token: "1", Phone: "+380501234567"},
		{Token: "2"},
		{Token: "3", Email: "Ann <ann@example.com>"},
	})
	fmt.Println(err)
	fmt.Println(errors.Is(err, yespo.ErrInvalidInput))
	// Output:
	// server got: POST /api/v1/apps/0f8fad5b-d9cb-469f-a165-70867728950e/tokens {"tokens":[{"token":"123456789","externalCustomerId":"crm-42"}]}
	// error: <nil>
	// yespo: invalid tokens[1].token: has no contact identifier: set contactId, externalCustomerId, phone or email
	// yespo: invalid tokens[2].email: must be a bare address like name@example.com, without display name, brackets or comments
	// true
}

func ExampleToken_PrimaryIdentifier() {
	t := yespo.Token{Token: "123456789", Phone: "+380501234567", Email: "ann@example.com"}
	id, _ := t.PrimaryIdentifier()
	fmt.Println("Yespo looks up first:", id.Kind, id.Value)
	for _, id := range t.Identifiers() {
		fmt.Println(" -", id.Kind)
	}

	_, ok := yespo.Token{Token: "123456789"}.PrimaryIdentifier()
	fmt.Println("token without identifiers:", ok)
	// Output:
	// Yespo looks up first: phone +380501234567
	//  - phone
	//  - email
	// token without identifiers: false
}

func ExampleNormalizePhone() {
	for _, raw := range []string{
		"+38 (050) 123-45-67",
		"380501234567", // Telegram's contact.phone_number, without "+"
		"0038 050 123 45 67",
		"050 123 45 67", // national format: no country code
	} {
		phone, err := yespo.NormalizePhone(raw)
		fmt.Printf("%q -> %q %v\n", raw, phone, err)
	}
	// Output:
	// "+38 (050) 123-45-67" -> "+380501234567" <nil>
	// "380501234567" -> "+380501234567" <nil>
	// "0038 050 123 45 67" -> "+380501234567" <nil>
	// "050 123 45 67" -> "" yespo: invalid phone: must be an optional "+" and 7 to 15 digits, the first not 0; it starts with 0, a national prefix: give the country code instead
}

func ExampleClient_MuteAppToken() {
	srv := fakeYespo()
	defer srv.Close()
	client, _ := yespo.NewClient("my-api-key", yespo.WithBaseURL(srv.URL+"/api/"))
	ctx := context.Background()
	token := yespo.TelegramToken(123456789)

	_ = client.MuteAppToken(ctx, exampleApp, token, 2*time.Hour) // /mute 2h
	_ = client.MuteAppToken(ctx, exampleApp, token, 0)           // until /unmute
	_ = client.UnmuteAppToken(ctx, exampleApp, token)

	err := client.MuteAppToken(ctx, exampleApp, token, time.Second)
	fmt.Println(err)
	// Output:
	// server got: POST /api/v1/apps/0f8fad5b-d9cb-469f-a165-70867728950e/token/mute {"token":"123456789","duration":7200}
	// server got: POST /api/v1/apps/0f8fad5b-d9cb-469f-a165-70867728950e/token/mute {"token":"123456789"}
	// server got: POST /api/v1/apps/0f8fad5b-d9cb-469f-a165-70867728950e/token/unmute {"token":"123456789"}
	// yespo: invalid duration: must be from 5s to 8760h (365 days), got 1s
}

// Branch on the kind of failure with errors.Is, read the details with
// errors.As.
func ExampleAPIError() {
	srv := fakeYespo()
	defer srv.Close()
	client, _ := yespo.NewClient("my-api-key", yespo.WithBaseURL(srv.URL+"/api/"))
	ctx := context.Background()

	unknownApp := "11111111-2222-3333-4444-555555555555"
	err := client.AddAppTokens(ctx, unknownApp, []yespo.Token{{Token: "1", Email: "ann@example.com"}})
	fmt.Println(errors.Is(err, yespo.ErrNotFound), errors.Is(err, yespo.ErrAppNotFound))
	fmt.Println(err)

	err = client.UnmuteAppToken(ctx, unknownApp, "1")
	var apiErr *yespo.APIError
	if errors.As(err, &apiErr) && errors.Is(err, yespo.ErrRateLimited) {
		fmt.Printf("rate limited: status %d, try again in %s\n", apiErr.StatusCode, apiErr.RetryAfter)
	}
	// Output:
	// true true
	// yespo: POST v1/apps/11111111-2222-3333-4444-555555555555/tokens: 404 Not Found: Not registered application
	// rate limited: status 429, try again in 30s
}

// Validate applies the rules AddAppTokens does, without sending anything.
// It checks, it does not rewrite: a phone without "+" passes and is sent as
// given; NormalizePhone makes it canonical.
func ExampleToken_Validate() {
	for _, phone := range []string{"+380501234567", "380501234567", "+38 050 123 45 67", "0501234567"} {
		fmt.Printf("%q: %v\n", phone, yespo.Token{Token: "123456789", Phone: phone}.Validate())
	}
	// Output:
	// "+380501234567": <nil>
	// "380501234567": <nil>
	// "+38 050 123 45 67": yespo: invalid phone: must be an optional "+" and 7 to 15 digits, the first not 0; found ' ' at byte 3 (NormalizePhone removes spaces, dashes, dots and parentheses)
	// "0501234567": yespo: invalid phone: must be an optional "+" and 7 to 15 digits, the first not 0; it starts with 0, a national prefix: give the country code instead
}

// onStart is a bot's /start handler, reduced to what touches Yespo: it
// registers the chat and returns the reply for the user.
func onStart(ctx context.Context, client *yespo.Client, chatID int64, customerID string) string {
	err := client.AddAppTokens(ctx, exampleApp, []yespo.Token{
		{Token: yespo.TelegramToken(chatID), ExternalCustomerID: customerID},
	})
	switch {
	case err == nil:
		return "Subscribed!"
	case errors.Is(err, yespo.ErrRateLimited):
		return "Busy, try again in a minute."
	default:
		return "Something went wrong."
	}
}

// A handler that uses the client is tested without sockets by giving the
// client an in-memory transport, here httpmock's, with canned answers: no
// server, no port, nothing to clean up.
func Example_testingWithoutSockets() {
	mock := httpmock.NewMockTransport()
	url := yespo.DefaultBaseURL + "v1/apps/" + exampleApp + "/tokens"
	mock.RegisterResponder(http.MethodPost, url, // the first call succeeds, the next ones are refused
		httpmock.NewStringResponder(200, `"OK"`).Then(httpmock.NewStringResponder(429, "Too many requests")))

	client, err := yespo.NewClient("test-key", yespo.WithTransport(mock), yespo.WithRetry(0, 0, 0))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	fmt.Println(onStart(ctx, client, 123456789, "crm-42"))
	fmt.Println(onStart(ctx, client, 123456789, "crm-42"))
	fmt.Println("requests:", mock.GetTotalCallCount())
	// Output:
	// Subscribed!
	// Busy, try again in a minute.
	// requests: 2
}

func ExampleClient_SendEvent() {
	srv := fakeYespo()
	defer srv.Close()
	client, _ := yespo.NewClient("my-api-key", yespo.WithBaseURL(srv.URL+"/api/"))
	ctx := context.Background()

	// Once Yespo has the subscriber's token, start the workflow that
	// welcomes them on Telegram.
	err := client.SendEvent(ctx, yespo.Event{
		TypeKey:  "telegram_subscribed",
		KeyValue: "cust-42", // the contact's externalCustomerId
		Params: []yespo.EventParam{
			{Name: "telegramChatId", Value: yespo.TelegramToken(123456789)},
			{Name: "firstName", Value: "Ann"},
			{Name: "cart", Value: []map[string]any{{"sku": "A1", "qty": 2}}},
		},
	})
	fmt.Println("sent:", err == nil)

	// Without keyValue a param must name the contact; nothing is sent.
	err = client.SendEvent(ctx, yespo.Event{
		TypeKey: "telegram_subscribed",
		Params:  []yespo.EventParam{{Name: "firstName", Value: "Ann"}},
	})
	fmt.Println(errors.Is(err, yespo.ErrInvalidEvent))
	// Output:
	// server got: POST /api/v2/event {"eventTypeKey":"telegram_subscribed","keyValue":"cust-42","params":[{"name":"telegramChatId","value":"123456789"},{"name":"firstName","value":"Ann"},{"name":"cart","value":[{"qty":2,"sku":"A1"}]}]}
	// sent: true
	// true
}
