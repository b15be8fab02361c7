// Package reclaim takes back what a journal holds that no live writer
// holds — what an earlier run left (a crash, a deploy, a Close whose ctx
// ran out) or a shared journal's dead replica — as room frees.
package reclaim

import (
	"context"
	"time"
)

const (
	// Every is how often an idle loop asks the journal again: a shared
	// journal's dead replica leaves entries at any time.
	Every = 10 * time.Second
	// Chunk bounds one call, so that a large room does not read the
	// whole journal at once.
	Chunk = 10_000
)

// Source is the engine as the loop sees it.
type Source interface {
	// Room returns how many entries there is room for now, and a channel
	// closed when that may change.
	Room() (int, <-chan struct{})
	// Take asks the journal for up to n entries, queues them to be sent
	// first, and returns how many it got.
	Take(ctx context.Context, n int) (int, error)
}

// Once takes as many entries as there is room for, up to Chunk, and
// reports whether the journal may hold more.
func Once(ctx context.Context, s Source) (more bool, err error) {
	room, _ := s.Room()
	room = min(room, Chunk)
	if room <= 0 {
		return true, nil
	}
	n, err := s.Take(ctx, room)
	return err == nil && n == room, err
}

// Loop keeps taking while the journal may hold more and there is room, and
// asks again every Every, until ctx ends. A failed call is passed to failed
// and tried again later.
func Loop(ctx context.Context, s Source, more bool, failed func(error)) {
	for {
		if more {
			if room, changed := s.Room(); room <= 0 {
				select {
				case <-changed:
				case <-ctx.Done():
					return
				}
				continue
			}
		} else {
			t := time.NewTimer(Every)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
		var err error
		if more, err = Once(ctx, s); err != nil && ctx.Err() == nil {
			failed(err)
		}
	}
}
