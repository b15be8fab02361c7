package redact

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
)

// TransportError ends a call that got no HTTP answer: a network failure, a
// refused redirect, a done context, a failing limiter. Its text is scrubbed
// of the key; errors.Is and errors.As reach the cause (context.Canceled,
// *url.Error, net.Error). It prints that text and nothing else, whatever the
// verb, so that %+v and %#v cannot walk into the cause's fields: a
// *url.Error holds the URL a redirect pointed to.
type TransportError struct {
	text  string
	Cause error
}

// Error returns the scrubbed text.
func (e *TransportError) Error() string { return e.text }

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *TransportError) Unwrap() error { return e.Cause }

// Format prints the scrubbed text for every verb, quoted for %q.
func (e *TransportError) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		_, _ = io.WriteString(f, strconv.Quote(e.text))
		return
	}
	_, _ = io.WriteString(f, e.text)
}

// Transport wraps err as a *TransportError saying prefix: err, scrubbed.
// The *url.Error inside, if any, has its URL scrubbed too, for whoever
// reaches it with errors.As: it is the one that error's own text prints.
func (s Scrubber) Transport(prefix string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = s.Text(ue.URL)
	}
	return &TransportError{text: prefix + ": " + s.Text(err.Error()), Cause: err}
}
