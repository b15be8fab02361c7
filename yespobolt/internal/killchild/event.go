//go:build unix

package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/yespo-go/yespo"
)

// adder adds one token: with Add, or, given an event type, with
// AddWithEvent and its welcome; paced by every.
type adder struct {
	event string
	every time.Duration
	tick  *time.Ticker
}

func (a *adder) start() {
	if a.every > 0 {
		a.tick = time.NewTicker(a.every)
	}
}

func (a *adder) stop() {
	if a.tick != nil {
		a.tick.Stop()
	}
}

// add adds tok, the i-th token of this run, and returns the line to print
// once it returned nil: the token, or the token, a tab and its event.
func (a *adder) add(b *yespo.Batcher, tok string, i int) (string, error) {
	if a.tick != nil {
		<-a.tick.C
	}
	t := yespo.Token{Token: tok, ExternalCustomerID: "c-" + tok}
	if a.event == "" {
		return tok, b.Add(context.Background(), t)
	}
	ev := welcome(a.event, tok, i)
	if err := b.AddWithEvent(context.Background(), t, ev); err != nil {
		return "", err
	}
	js, err := json.Marshal(ev)
	return tok + "\t" + string(js), err
}

// welcome is the event that follows tok, as the bot's: the chat id, the
// identifier, the profile Telegram gave, and a nested object with a
// number too large for a float64, which must arrive with every digit.
// Every other token has a keyValue; the rest rely on the identifier param.
func welcome(typeKey, tok string, i int) yespo.Event {
	ev := yespo.Event{TypeKey: typeKey, Params: []yespo.EventParam{
		{Name: "telegramChatId", Value: tok},
		{Name: "externalCustomerId", Value: "c-" + tok},
		{Name: "firstName", Value: `Олена "<b>&</b>" 🌻`},
		{Name: "languageCode", Value: "uk"},
		{Name: "seq", Value: i},
		{Name: "profile", Value: map[string]any{
			"username": "user_" + tok,
			"source":   "link",
			"tags":     []string{"new", "telegram"},
			"order":    map[string]any{"id": json.Number("123456789012345678901234567890"), "paid": true, "note": nil},
		}},
	}}
	if i%2 == 0 {
		ev.KeyValue = "c-" + tok
	}
	return ev
}
