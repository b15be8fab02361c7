package yespo_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespotest"
)

// registerChat is a bot's /start handler on the process's shared Batcher:
// it registers the chat with the customer id from the deep link and returns
// what the bot answers. The user's wait is bounded: AddAndWait returns at
// wait's deadline even if Yespo is slow or pausing, and the token may still
// be sent after that.
func registerChat(ctx context.Context, b *yespo.Batcher, wait time.Duration, chatID int64, customerID string) string {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	err := b.AddAndWait(ctx, yespo.Token{
		Token:              yespo.TelegramToken(chatID),
		ExternalCustomerID: customerID,
	})
	switch {
	case err == nil:
		return "Subscribed!" // Yespo has the token
	case errors.Is(err, context.DeadlineExceeded):
		return "This is taking a while; please check again in a minute."
	default:
		return "Sorry, please try again later."
	}
}

// A bot registers its subscribers through one Batcher for the whole process:
// handlers call AddAndWait, so that a burst of /start shares few requests,
// and main closes the Batcher at exit, which sends what is left.
func Example_batcher() {
	srv := yespotest.NewServer() // a fake Yespo; in production:
	defer srv.Close()            // client, err := yespo.NewClient(os.Getenv("YESPO_API_KEY"))
	app := srv.NewApp()
	client := srv.Client()
	ctx := context.Background()

	// In main: one Batcher per app, shared by every handler.
	batcher, err := client.NewBatcher(app, yespo.BatcherOptions{})
	if err != nil {
		log.Fatal(err)
	}

	// Three users press /start at once; each handler waits for its own token.
	chats := []int64{1001, 1002, 1003}
	replies := make([]string, len(chats))
	var wg sync.WaitGroup
	for i, chat := range chats {
		wg.Go(func() {
			replies[i] = registerChat(ctx, batcher, 10*time.Second, chat, fmt.Sprint("crm-", chat))
		})
	}
	wg.Wait()
	for i, chat := range chats {
		fmt.Println(chat, replies[i])
	}

	// Yespo answers the next request after a second, longer than this user
	// is made to wait: the handler answers at its deadline, the token is
	// still on its way.
	srv.FailNext(1, yespotest.Fault{Delay: time.Second})
	fmt.Println(1004, registerChat(ctx, batcher, 100*time.Millisecond, 1004, "crm-1004"))

	// At exit: Close sends what is left, within its own deadline.
	closeCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := batcher.Close(closeCtx); err != nil {
		log.Fatal(err)
	}
	st := batcher.Stats()
	fmt.Printf("added %d, sent %d, failed %d\n", st.Added, st.Sent, st.Failed)
	contact, _ := srv.ContactByToken(app, "1004")
	fmt.Println("1004 is on contact", contact.ExternalCustomerID)
	// Output:
	// 1001 Subscribed!
	// 1002 Subscribed!
	// 1003 Subscribed!
	// 1004 This is taking a while; please check again in a minute.
	// added 4, sent 4, failed 0
	// 1004 is on contact crm-1004
}
