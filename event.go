package yespo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/yespo-go/yespo/internal/apierr"
)

// ErrInvalidEvent is matched, together with ErrInvalidInput, by every
// *ValidationError about an Event: SendEvent refused it before any network
// call. errors.As reaches the *ValidationError, whose Field names the part
// at fault ("eventTypeKey", "keyValue", "params", "params[2].value", "event").
var ErrInvalidEvent = errors.New("yespo: invalid event")

// Event is one event for Yespo's Generate event (v2), which starts the
// workflows a marketer built on its type: a welcome message, a promo code,
// a series.
//
// TypeKey (eventTypeKey) is required: the event type, created in Yespo
// (Automation → Event types) the first time it is sent. KeyValue
// (keyValue) is optional: the event key, a value unique per contact (an
// email, a phone, an external id…) that, Yespo says, determines the
// event's uniqueness. Without KeyValue, Params must carry a contact
// identifier: a param named "contactId", "externalCustomerId", "email",
// "phone" or "pushToken" with a value that is not empty (see Validate).
//
// Params are the event's name/value pairs, sent in order; a workflow reads
// them by name (${name}). A Value may be any Go value encoding/json
// encodes — a string, a number, a struct, a slice of maps — and is sent as
// that JSON, unescaped; a json.RawMessage is sent as is, nil as null (and
// a []byte, as encoding/json has it, as a base64 string).
// An Event decoded from JSON (a journal's payload, a fake server's record)
// holds each Value as a json.RawMessage, so that it encodes to the same
// JSON again, large numbers included.
type Event struct {
	TypeKey  string       `json:"eventTypeKey"`
	KeyValue string       `json:"keyValue,omitempty"`
	Params   []EventParam `json:"params"`
}

// EventParam is one parameter of an Event.
type EventParam struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// UnmarshalJSON decodes {"name":…,"value":…}, keeping the value as the
// json.RawMessage it came as: a number keeps every digit, an object its
// members' order.
func (p *EventParam) UnmarshalJSON(b []byte) error {
	var v struct {
		Name  string          `json:"name"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	p.Name, p.Value = v.Name, v.Value
	if v.Value == nil {
		p.Value = nil // absent: null, not an empty RawMessage that fails to encode
	}
	return nil
}

// eventPath is Generate event (v2), relative to the base URL.
const eventPath = apierr.EventPath

// SendEvent generates ev in Yespo: POST v2/event with
// {"eventTypeKey":…,"keyValue":…,"params":[{"name":…,"value":…},…]}. Any
// 2xx answer is success: Yespo has the event, and starts the workflows
// triggered by its type. A workflow that sends through Telegram finds the
// channel only once the contact has the token: send an event about a new
// subscriber after AddAppTokens (or the Batcher) reported its token added.
//
// It draws from Generate event's own budget of 350 requests per second,
// apart from the account's 200 (see Budget): the Client paces it on its
// own, so a burst of events never slows the tokens, and a WithRateLimiter
// limiter does not hold it; WithBudgetLimiter(BudgetEvent, l) caps it, or
// shares it between processes.
//
// ev is validated first (see Event.Validate): on bad input nothing is sent
// and the error joins one *ValidationError per problem, each matching
// ErrInvalidEvent and ErrInvalidInput.
//
// Answers: a 400 (e.g. from the account's event-parameter validation) is
// an *APIError matching ErrBadRequest with the server's words: sending ev
// again unchanged does not help. 429 is paced and retried, as are 5xx
// answers and transport errors, up to the Client's retries; a done ctx
// stops them. A 401 or 403, matching ErrUnauthorized or ErrForbidden, says
// that the key must have the right to generate events, which Yespo grants
// per key. A 404 matches ErrNotFound; Yespo documents none for this
// method, so it says to check the base URL. Every other failure is an
// *APIError or a wrapped transport error, as for AddAppTokens.
//
// Delivery is at least once: a retry after an attempt whose answer was
// lost (a timeout, a 502 from a proxy) may generate the event twice.
func (c *Client) SendEvent(ctx context.Context, ev Event) error {
	body, err := ev.encode()
	if err != nil {
		return err
	}
	return c.sendEvent(ctx, body, nil)
}

// sendEvent is SendEvent after validation, body being ev.encode's. A
// Batcher passes itself as the caller, with a party of its own at the
// event budget: a party waits at one budget only.
func (c *Client) sendEvent(ctx context.Context, body []byte, by *caller) error {
	err := c.doDiscard(ctx, endpoint{method: http.MethodPost, path: eventPath, budget: BudgetEvent}, body, by)
	return withEventRight(err)
}

// withEventRight adds to a 401 which right the key may lack: Yespo grants
// rights per key and method, so a key that adds tokens may well lack this
// one. A 403's error names the method already (apierr.RightHint).
func withEventRight(err error) error {
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized {
		return err
	}
	return fmt.Errorf("%w; the API key is wrong or revoked, or lacks the right to generate events (Generate event, v2/event): "+
		"give the key that right in Yespo (your profile → Settings → API) or use a key that has it", err)
}
