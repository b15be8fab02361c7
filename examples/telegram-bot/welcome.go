package main

import (
	"github.com/go-telegram/bot/models"

	"github.com/yespo-go/yespo"
)

// The welcome event (-welcome-event NAME): each subscription goes into the
// journal with an event of type NAME, which the Batcher sends once Yespo has
// accepted the token, so that a workflow triggered by NAME finds the
// Telegram channel on the contact and can greet the subscriber there. The
// profile data Telegram gives goes as params, not onto the contact: the
// marketer's workflow decides what to do with it.

// Where a subscription came from: the event's "source" param.
const (
	sourceLink  = "link"  // a signed deep link: /start PAYLOAD
	sourcePhone = "phone" // the user's own shared contact
)

// welcomeFor returns the welcome event to add with tok, or nil when
// -welcome-event is off or the event cannot be sent: then the token goes
// alone, since an event Yespo would refuse must not keep the subscriber out.
func (a *app) welcomeFor(tok yespo.Token, from *models.User, source string) *yespo.Event {
	if a.cfg.welcomeEvent == "" {
		return nil
	}
	ev := welcomeEvent(a.cfg.welcomeEvent, tok, from, source)
	if err := ev.Validate(); err != nil {
		// The rule's words, never the identifier: it may be a phone number.
		a.log.Warn("welcome event not sent: the subscriber's identifier cannot name the contact in an event; the token goes alone",
			"chat", tok.Token, "err", err)
		return nil
	}
	return &ev
}

// welcomeEvent builds the event of type typeKey for tok, subscribed from
// source by the Telegram user from (nil if unknown). Params: telegramChatId
// (the token, a string of digits); the identifier under its own name
// (externalCustomerId or phone); telegramUsername, firstName and
// languageCode when Telegram gave them; source. keyValue is the identifier
// when Yespo allows it there (none of its forbidden characters); otherwise
// it is left out and the identifier param names the contact.
func welcomeEvent(typeKey string, tok yespo.Token, from *models.User, source string) yespo.Event {
	ev := yespo.Event{TypeKey: typeKey, Params: []yespo.EventParam{{Name: "telegramChatId", Value: tok.Token}}}
	if id, ok := tok.PrimaryIdentifier(); ok {
		ev.Params = append(ev.Params, yespo.EventParam{Name: id.Kind.String(), Value: id.Value})
		if yespo.ValidateEventKeyValue(id.Value) == nil {
			ev.KeyValue = id.Value
		}
	}
	if from != nil {
		for _, p := range []yespo.EventParam{
			{Name: "telegramUsername", Value: from.Username},
			{Name: "firstName", Value: from.FirstName},
			{Name: "languageCode", Value: from.LanguageCode},
		} {
			if p.Value != "" {
				ev.Params = append(ev.Params, p)
			}
		}
	}
	ev.Params = append(ev.Params, yespo.EventParam{Name: "source", Value: source})
	return ev
}

// onEvent hears every welcome event settled: one Yespo refused for good
// (a 400, e.g. from the account's event-parameter validation) is logged
// with Yespo's words. Events held through an outage or a refused key stay
// in the journal and are tried again; the token batches' errors say why.
func (a *app) onEvent(r yespo.EventResult) {
	if r.Err != nil {
		a.log.Error("yespo refused the welcome event; the subscriber is registered without it",
			"chat", r.Token.Token, "event", r.Event.TypeKey, "err", r.Err)
	}
}
