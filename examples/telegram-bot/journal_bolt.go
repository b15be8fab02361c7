package main

import (
	"log/slog"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespobolt"
)

// The embedded journal, one directory for one process (yespobolt).
func init() {
	openFileJournal = func(path string, log *slog.Logger) (yespo.Journal, func() error, error) {
		j, err := yespobolt.Open(path, yespobolt.WithLogger(log))
		if err != nil {
			return nil, nil, err
		}
		return j, j.Close, nil
	}
}
