package main

import (
	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespopebble"
)

// The embedded journal, one directory for one process (yespopebble).
func init() {
	openFileJournal = func(path string) (yespo.Journal, func() error, error) {
		j, err := yespopebble.Open(path)
		if err != nil {
			return nil, nil, err
		}
		return j, j.Close, nil
	}
}
