package telegramupdates_test

import (
	"bytes"
	"testing"

	"github.com/yespo-go/yespo/telegramupdates"
)

// Parse takes anything Telegram, or a stranger holding the secret, may
// send: it never panics, and what it accepts has a positive update_id and
// keeps the bytes as sent.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"update_id":1,"message":{"chat":{"id":42}}}`,
		`{"update_id":9007199254740993,"callback_query":{"from":{"id":7},"message":{"chat":{"id":-100}}}}`,
		`{"update_id":3,"poll_answer":{"user":{"id":12}},"message":null}`,
		`{"update_id":-1}`, `[]`, `null`, `{"update_id":1e3}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		u, err := telegramupdates.Parse(raw)
		if err != nil {
			return
		}
		if u.ID <= 0 {
			t.Fatalf("accepted update_id %d", u.ID)
		}
		if !bytes.Equal(u.Raw, raw) {
			t.Fatal("Raw is not the input")
		}
	})
}
