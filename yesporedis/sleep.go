package yesporedis

import (
	"context"
	"time"

	"golang.org/x/time/rate"
)

// sleep waits d, or until ctx is done, and then returns ctx.Err().
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitLocal takes a token from lim. Unlike lim.Wait, which fails at once with
// an error of its own when the wait would outlast ctx's deadline, it returns
// nothing but ctx.Err(), when ctx is actually done, handing the token back.
func waitLocal(ctx context.Context, lim *rate.Limiter) error {
	r := lim.Reserve()
	if err := sleep(ctx, r.Delay()); err != nil {
		r.Cancel()
		return err
	}
	return nil
}
