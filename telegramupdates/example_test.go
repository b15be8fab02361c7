package telegramupdates_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/yespo-go/yespo/telegramtest"
	"github.com/yespo-go/yespo/telegramupdates"
)

// A Poller hands each update to the Handler and confirms it to Telegram
// once the Handler returned nil. A real bot decodes u.Raw with its library
// and passes it to the library's dispatch (see examples/recipes).
func ExamplePoller() {
	tg := telegramtest.NewServer() // in production: leave APIURL empty
	defer tg.Close()
	id := tg.NewUser(42, "Ann").Send("/start")

	ctx, stop := context.WithCancel(context.Background())
	p := &telegramupdates.Poller{Token: tg.Token, APIURL: tg.URL,
		Handler: func(ctx context.Context, u telegramupdates.Update) error {
			fmt.Printf("update from chat %d: %s\n", u.ChatID, u.Raw[:13])
			return nil // the effect is durable: confirm it
		}}
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()

	wait, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tg.WaitConfirmed(wait, id); err != nil {
		fmt.Println(err)
	}
	stop()
	fmt.Println("stopped:", <-done)
	// Output:
	// update from chat 42: {"update_id":
	// stopped: <nil>
}

// A Webhook answers Telegram's POST 200 once the Handler returned nil; a
// request without the secret gets 401 and its body is never read.
func ExampleWebhook() {
	hook := &telegramupdates.Webhook{
		Secret: "the-secret_token", // the secret_token given to setWebhook
		Handler: func(ctx context.Context, u telegramupdates.Update) error {
			fmt.Println("handled update", u.ID, "of chat", u.ChatID)
			return nil
		},
	}
	srv := httptest.NewServer(hook) // in production: an http.Server with its timeouts set
	defer srv.Close()

	for _, secret := range []string{"the-secret_token", "a-guess"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"update_id":7,"message":{"chat":{"id":42}}}`))
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(resp.Status)
	}
	// Output:
	// handled update 7 of chat 42
	// 200 OK
	// 401 Unauthorized
}
