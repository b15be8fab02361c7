package main

import (
	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespobolt"
)

// The embedded journal, one file for one process (yespobolt).
func init() {
	openFileJournal = func(path string) (yespo.Journal, func() error, error) {
		j, err := yespobolt.Open(path)
		if err != nil {
			return nil, nil, err
		}
		return j, j.Close, nil
	}
}
