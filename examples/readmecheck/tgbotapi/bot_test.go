// The README's "Testing your bot" blocks, copied verbatim (readme_test.go in
// the parent directory checks the copy).
package tgbotapi

import (
	"context"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

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

func TestStartTgbotapi(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	yes, app := fakeYespo(t)
	tg := telegramtest.NewServer()
	t.Cleanup(tg.Close)

	api, err := tgbotapi.NewBotAPIWithAPIEndpoint(tg.Token, tg.URL+"/bot%s/%s")
	if err != nil {
		t.Fatal(err)
	}
	poll := tgbotapi.NewUpdate(0)
	poll.Timeout = 1 // seconds: a long poll that ends soon after the test
	updates := api.GetUpdatesChan(poll)
	t.Cleanup(api.StopReceivingUpdates)
	go func() {
		for u := range updates {
			if m := u.Message; m != nil && m.Command() == "start" {
				api.Send(tgbotapi.NewMessage(m.Chat.ID, subscribe(ctx, m.Chat.ID, m.CommandArguments())))
			}
		}
	}()

	payload, _ := deeplink.Sign(secret, "crm-42")
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
