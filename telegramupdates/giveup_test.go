package telegramupdates_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/telegramupdates"
)

// memoryBotAPI is a Bot API in memory, for a fake clock: getUpdates answers
// the updates from the offset, confirming those before it, and waits up to
// its timeout for one.
type memoryBotAPI struct {
	mu      sync.Mutex
	queue   []json.RawMessage
	ids     []int64
	changed chan struct{}
}

func (m *memoryBotAPI) push(id, chat int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queue = append(m.queue, json.RawMessage(fmt.Sprintf(`{"update_id":%d,"message":{"chat":{"id":%d}}}`, id, chat)))
	m.ids = append(m.ids, id)
	close(m.changed)
	m.changed = make(chan struct{})
}

func (m *memoryBotAPI) pending() []int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]int64(nil), m.ids...)
}

func (m *memoryBotAPI) RoundTrip(r *http.Request) (*http.Response, error) {
	var p struct{ Offset, Timeout, Limit int64 }
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		return nil, err
	}
	deadline := time.After(time.Duration(p.Timeout) * time.Second)
	for {
		m.mu.Lock()
		for len(m.ids) > 0 && m.ids[0] < p.Offset {
			m.ids, m.queue = m.ids[1:], m.queue[1:]
		}
		batch := m.queue[:min(int(p.Limit), len(m.queue))]
		changed := m.changed
		m.mu.Unlock()
		if len(batch) > 0 || p.Timeout == 0 {
			body, _ := json.Marshal(map[string]any{"ok": true, "result": batch})
			return &http.Response{StatusCode: 200, Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
		}
		select {
		case <-changed:
		case <-deadline:
			p.Timeout = 0
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
}

// An update whose Handler always fails holds its chat for RetryFor, not
// longer: then OnGiveUp hears of it, the chat's next update runs, and the
// offset moves past both. Other chats go on meanwhile.
func TestPollerGivesUpAfterRetryFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := &memoryBotAPI{changed: make(chan struct{})}
		start := time.Now()
		var mu sync.Mutex
		handled := map[int64]time.Duration{}
		attempts := 0
		var gaveUp []int64
		var gaveUpAt time.Duration
		p := &telegramupdates.Poller{Token: "1:x", APIURL: "http://bot.api", Client: &http.Client{Transport: api},
			RetryFor: time.Minute,
			Handler: func(ctx context.Context, u telegramupdates.Update) error {
				mu.Lock()
				defer mu.Unlock()
				if u.ID == 10 {
					attempts++
					return errors.New("poisoned update")
				}
				handled[u.ID] = time.Since(start)
				return nil
			},
			OnGiveUp: func(u telegramupdates.Update, err error) {
				mu.Lock()
				defer mu.Unlock()
				gaveUp = append(gaveUp, u.ID)
				gaveUpAt = time.Since(start)
				assert.EqualError(t, err, "poisoned update")
			}}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		api.push(10, 1) // chat 1: poisoned, then a good one
		api.push(11, 1)
		api.push(12, 2) // chat 2
		time.Sleep(2 * time.Minute)
		synctest.Wait()

		mu.Lock()
		assert.Equal(t, []int64{10}, gaveUp)
		assert.GreaterOrEqual(t, gaveUpAt, time.Minute)
		assert.Less(t, gaveUpAt, time.Minute+5*time.Second)
		assert.Less(t, handled[12], time.Second, "another chat does not wait")
		assert.GreaterOrEqual(t, handled[11], time.Minute, "the chat's next update waits its turn")
		assert.Less(t, handled[11], time.Minute+5*time.Second)
		assert.Greater(t, attempts, 10, "retried with a delay growing to 5 s")
		assert.Less(t, attempts, 30)
		mu.Unlock()
		cancel()
		require.NoError(t, <-done)
		assert.Empty(t, api.pending(), "all confirmed, the skipped one too")
	})
}
