package telegramupdates_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/telegramtest"
	"github.com/yespo-go/yespo/telegramupdates"
)

// bounded is a context that ends with the test, or after a minute.
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// text reads the message text of an update from telegramtest.
func text(t *testing.T, u telegramupdates.Update) string {
	var v struct {
		Message struct {
			Text string `json:"text"`
		} `json:"message"`
	}
	require.NoError(t, json.Unmarshal(u.Raw, &v))
	return v.Message.Text
}

// startPoller runs p against tg until the returned stop is called; stop
// returns Run's error.
func startPoller(t *testing.T, tg *telegramtest.Server, p *telegramupdates.Poller) (stop func() error) {
	p.Token, p.APIURL = tg.Token, tg.URL
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = errors.New("Run did not return within 30 s of its stop")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// Every update is handled once and confirmed; one chat's in order, one at
// a time; chats side by side, never more than MaxInFlight at once.
func TestPollerOrderPerChatConcurrencyAcrossChats(t *testing.T) {
	tg := telegramtest.NewServer()
	defer tg.Close()
	const chats, perChat, maxInFlight = 20, 15, 4
	var (
		mu       sync.Mutex
		seen     = map[int64][]string{}
		running  = map[int64]bool{}
		inFlight int
		peak     int
		handled  = make(chan struct{}, chats*perChat)
	)
	stop := startPoller(t, tg, &telegramupdates.Poller{MaxInFlight: maxInFlight,
		Handler: func(ctx context.Context, u telegramupdates.Update) error {
			mu.Lock()
			assert.False(t, running[u.ChatID], "two updates of chat %d at once", u.ChatID)
			running[u.ChatID] = true
			inFlight++
			peak = max(peak, inFlight)
			mu.Unlock()
			time.Sleep(2 * time.Millisecond) // work: lets the others overlap
			mu.Lock()
			running[u.ChatID] = false
			inFlight--
			seen[u.ChatID] = append(seen[u.ChatID], text(t, u))
			mu.Unlock()
			handled <- struct{}{}
			return nil
		}})
	var last int64
	for i := range perChat {
		for c := range chats {
			last = tg.NewUser(int64(1000+c), "u").Send(string(rune('a' + i)))
		}
	}
	ctx := bounded(t)
	require.NoError(t, tg.WaitConfirmed(ctx, last))
	require.NoError(t, stop())
	assert.Len(t, handled, chats*perChat, "each update handled once")
	for c := range chats {
		var want []string
		for i := range perChat {
			want = append(want, string(rune('a'+i)))
		}
		assert.Equal(t, want, seen[int64(1000+c)], "chat %d in order", c)
	}
	assert.LessOrEqual(t, peak, maxInFlight)
	assert.Greater(t, peak, 1, "chats ran side by side")
}

// The offset never passes an update that is not done: while one update's
// Handler runs, the updates after it are handled but not confirmed; once it
// returns, all are.
func TestPollerConfirmsOnlyWhatIsDone(t *testing.T) {
	tg := telegramtest.NewServer()
	defer tg.Close()
	release := make(chan struct{})
	var slow atomic.Int64
	var after atomic.Int32
	startPoller(t, tg, &telegramupdates.Poller{Handler: func(ctx context.Context, u telegramupdates.Update) error {
		if u.ID == slow.Load() {
			<-release
			return nil
		}
		after.Add(1)
		return nil
	}})
	first := tg.NewUser(1, "a").Send("first")
	slow.Store(tg.NewUser(2, "b").Send("slow"))
	ctx := bounded(t)
	require.NoError(t, tg.WaitConfirmed(ctx, first))
	var last int64
	for i := range 10 {
		last = tg.NewUser(int64(10+i), "c").Send("later")
	}
	for after.Load() < 11 { // first + 10 later, all done
		require.NoError(t, ctx.Err())
		time.Sleep(time.Millisecond) // polls a counter; the assertion below decides
	}
	assert.Equal(t, 11, tg.PendingUpdates(), "the slow update and the 10 after it stay unconfirmed")
	close(release)
	require.NoError(t, tg.WaitConfirmed(ctx, last))
}

// An update whose Handler failed when the run stopped is not confirmed:
// the next run gets it again.
func TestPollerRestartGetsWhatWasNotDone(t *testing.T) {
	tg := telegramtest.NewServer()
	defer tg.Close()
	failing := make(chan struct{}, 100)
	stop := startPoller(t, tg, &telegramupdates.Poller{Handler: func(ctx context.Context, u telegramupdates.Update) error {
		failing <- struct{}{}
		return errors.New("disk full")
	}})
	id := tg.NewUser(7, "a").Send("/start")
	ctx := bounded(t)
	select {
	case <-failing:
	case <-ctx.Done():
		t.Fatal("not handled")
	}
	require.NoError(t, stop())
	assert.Equal(t, 1, tg.PendingUpdates())

	got := make(chan int64, 1)
	startPoller(t, tg, &telegramupdates.Poller{Handler: func(ctx context.Context, u telegramupdates.Update) error {
		got <- u.ID
		return nil
	}})
	select {
	case g := <-got:
		assert.Equal(t, id, g)
	case <-ctx.Done():
		t.Fatal("not sent again")
	}
	require.NoError(t, tg.WaitConfirmed(ctx, id))
}

// A token Telegram refuses stops Run at once with ErrUnauthorized, and the
// token is in no error.
func TestPollerWrongToken(t *testing.T) {
	tg := telegramtest.NewServer()
	defer tg.Close()
	var polls []error
	p := &telegramupdates.Poller{Token: "1:wrong-token-wrong-token-wrong-token-x", APIURL: tg.URL,
		Handler: func(context.Context, telegramupdates.Update) error { return nil },
		OnPoll:  func(err error) { polls = append(polls, err) }}
	err := p.Run(bounded(t))
	require.ErrorIs(t, err, telegramupdates.ErrUnauthorized)
	assert.NotContains(t, err.Error(), "wrong-token")
	require.Len(t, polls, 1)
}
