package yespobolt_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespobolt"
	"github.com/yespo-go/yespo/yespotest"
)

// A Batcher on an embedded journal: Add returns once the token is on disk,
// and a token leaves the file once Yespo accepted it.
func ExampleOpen() {
	srv := yespotest.NewServer() // stands in for Yespo
	defer srv.Close()
	app := srv.NewApp()
	dir, _ := os.MkdirTemp("", "journal")
	defer os.RemoveAll(dir)

	j, err := yespobolt.Open(filepath.Join(dir, "yespo.journal"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer j.Close() // after the Batcher's Close
	b, err := srv.Client().NewBatcher(app, yespo.BatcherOptions{Journal: j})
	if err != nil {
		fmt.Println(err) // e.g. a journal made for another app
		return
	}
	ctx := context.Background()
	_ = b.Add(ctx, yespo.Token{Token: "100200300", Phone: "+380501234567"})
	fmt.Println("in the journal:", b.Stats().JournalDepth)
	if err := b.Close(ctx); err != nil {
		fmt.Println(err) // errors.Is(err, yespo.ErrHeld): kept for the next run
	}
	st := b.Stats()
	fmt.Println("sent:", st.Sent, "held:", st.Held, "in the journal:", st.JournalDepth)
	// Output:
	// in the journal: 1
	// sent: 1 held: 0 in the journal: 0
}
