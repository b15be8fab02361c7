// The README's "Testing your bot" blocks, copied verbatim (readme_test.go in
// the parent directory checks the copy).
package gotelegram

import (
	"context"
	"testing"
	"time"

	"github.com/go-telegram/bot"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/deeplink"
	"github.com/yespo-go/yespo/telegramtest"
	"github.com/yespo-go/yespo/yespotest"
)

// fakeYespo points the handler at a fake Yespo for one test.
func fakeYespo(t *testing.T) (yes *yespotest.Server, app string) {
	yes = yespotest.NewServer()
	t.Cleanup(yes.Close)
	app = yes.NewApp()
	var err error
	if batcher, err = yes.Client().NewBatcher(app, yespo.BatcherOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { batcher.Close(context.Background()) })
	secret = []byte("a test secret, at least 32 bytes long")
	return yes, app
}

func TestStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // every wait bounded
	defer cancel()
	yes, app := fakeYespo(t)
	tg := telegramtest.NewServer() // a fake Telegram Bot API
	t.Cleanup(tg.Close)

	b, err := bot.New(tg.Token, bot.WithServerURL(tg.URL), bot.WithSkipGetMe())
	if err != nil {
		t.Fatal(err)
	}
	b.RegisterHandler(bot.HandlerTypeMessageText, "start", bot.MatchTypeCommandStartOnly, start)
	go b.Start(ctx)

	payload, _ := deeplink.Sign(secret, "crm-42") // the link the shop shows Ann
	ann := tg.NewUser(1001, "Ann")
	ann.Send("/start " + payload)
	msgs, err := ann.WaitMessages(ctx, 1)
	if err != nil || msgs[0].Text != "Subscribed!" {
		t.Fatalf("the bot answered %v, %v", msgs, err)
	}
	if c, ok := yes.ContactByToken(app, "1001"); !ok || c.ExternalCustomerID != "crm-42" {
		t.Fatalf("Yespo holds %+v", c)
	}
}
