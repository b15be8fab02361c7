package yespo

import (
	"github.com/yespo-go/yespo/internal/redact"
	"github.com/yespo-go/yespo/internal/validate"
	"github.com/yespo-go/yespo/internal/wire"
)

// Unpaced lifts the Client's pace, for benchmarks of the library's own cost
// against a local sink: a sink has no budget to find, and the pace would
// hold the benchmark to Yespo's 200 requests per second. Each attempt still
// takes its turn (a lock and a channel), so that cost stays in the figures.
func Unpaced(c *Client) {
	c.account.Reset(1e9)
	c.lookup.Reset(1e9)
	c.event.Reset(1e9)
}

// JournalQueue counts the Adds waiting for the Batcher's next journal
// Append.
func JournalQueue(b *Batcher) int {
	return b.eng.AppendQueue()
}

// The rules' words live in internal/validate; the root tests hold the docs
// and errors to them under their old names.
const phoneRule = validate.PhoneRule

var (
	phoneProblem = validate.Phone
	emailProblem = validate.Email
	plainAddress = validate.PlainAddress
)

// segment, snippet and decodeID live in internal/wire.
var segment = wire.Segment

func decodeID(raw []byte) (int64, bool) { return wire.DecodeID(raw, maxErrorBody) }

// errorMessage extracts the server's text from an error body on one line,
// as checkResponse puts it in APIError.Message.
func errorMessage(body []byte, contentType string) string {
	return redact.Clean(redact.RawMessage(body, contentType), maxMessage)
}
