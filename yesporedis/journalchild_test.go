package yesporedis_test

import (
	"fmt"
	"os"
)

// journalChild is a replica adding tokens through a Redis journal (the
// kill loop).
func journalChild() {
	fmt.Fprintln(os.Stderr, "journal child: not yet")
	os.Exit(2)
}
