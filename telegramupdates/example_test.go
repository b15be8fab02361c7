package telegramupdates_test

import (
	"context"
	"fmt"
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
