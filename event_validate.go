package yespo

import (
	"errors"

	"github.com/yespo-go/yespo/internal/event"
)

// The limits Yespo documents for Generate event. Characters are counted as
// UTF-16 code units, so an emoji counts as two: the strictest reading of
// "characters", which no server counts higher. A kilobyte is taken as
// 1,000 bytes for the same reason.
const (
	MaxEventTypeKey  = event.MaxTypeKey  // characters of Event.TypeKey
	MaxEventKeyValue = event.MaxKeyValue // characters of Event.KeyValue
	MaxEventBody     = event.MaxBody     // bytes of the encoded request body ("20 KB")
)

// ValidateEventTypeKey checks s as an Event.TypeKey: not blank, valid
// UTF-8, at most MaxEventTypeKey characters, none of
// < ; ’ \ / | " ` ' ^ ? ! , > nor control characters, and no surrounding
// white space (" signup" would be another event type than "signup"). It
// returns nil or a *ValidationError (field "eventTypeKey") matching
// ErrInvalidEvent and ErrInvalidInput, which says the rule broken.
func ValidateEventTypeKey(s string) error {
	if r := event.TypeKey(s); r != "" {
		return invalidEvent("eventTypeKey", r)
	}
	return nil
}

// ValidateEventKeyValue checks s as a non-empty Event.KeyValue, by the
// rules of ValidateEventTypeKey with at most MaxEventKeyValue characters.
// A bot can use it to tell whether an identifier can serve as the key,
// and otherwise send the identifier as a param. It returns nil or a
// *ValidationError (field "keyValue") matching ErrInvalidEvent and
// ErrInvalidInput; an empty s is an error here, though an Event may go
// without a KeyValue.
func ValidateEventKeyValue(s string) error {
	if r := event.KeyValue(s); r != "" {
		return invalidEvent("keyValue", r)
	}
	return nil
}

// Validate checks ev against the rules SendEvent enforces before sending:
// TypeKey by ValidateEventTypeKey; KeyValue, when not empty, by
// ValidateEventKeyValue; every param named (not blank) and its Value
// encodable as JSON; without KeyValue, a contact identifier among the
// params — one named "contactId", "externalCustomerId", "email", "phone"
// or "pushToken" (exactly so spelled) whose value is a number or a string
// that is not blank, and for externalCustomerId not "null", since Yespo
// ignores those; and the encoded body at most MaxEventBody bytes. It
// returns nil, one *ValidationError, or several joined with errors.Join,
// each matching ErrInvalidEvent and ErrInvalidInput.
func (ev Event) Validate() error {
	_, err := ev.encode()
	return err
}

// encode validates ev and returns its request body, or every problem found.
func (ev Event) encode() ([]byte, error) {
	params := make([]event.Param, len(ev.Params))
	for i, p := range ev.Params {
		params[i] = event.Param(p)
	}
	raw, probs := event.Encode(ev.TypeKey, ev.KeyValue, params)
	if len(probs) == 0 {
		return raw, nil
	}
	errs := make([]error, len(probs))
	for i, p := range probs {
		errs[i] = invalidEvent(p.Field, p.Reason)
	}
	return nil, errors.Join(errs...)
}

// eventError is a *ValidationError about an event: it matches
// ErrInvalidEvent besides ErrInvalidInput.
type eventError struct{ *ValidationError }

// Is reports whether target is ErrInvalidEvent or ErrInvalidInput.
func (e eventError) Is(target error) bool {
	return target == ErrInvalidEvent || target == ErrInvalidInput
}

// Unwrap returns the *ValidationError, for errors.As.
func (e eventError) Unwrap() error { return e.ValidationError }

func invalidEvent(field, reason string) error {
	return eventError{invalid(field, reason)}
}
