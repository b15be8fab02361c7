package telegramupdates_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/telegramtest"
	"github.com/yespo-go/yespo/telegramupdates"
)

const secret = "s3cret-token_for-the-webhook"

// serve runs h on a real listener behind an http.Server with the timeouts a
// bot sets, and returns its address.
func serve(t *testing.T, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// stranger sends a POST's headers announcing a 100 KB body, and 10 bytes
// of it, without the secret; it returns the status answered and how long
// after the answer the server closed the connection (a failure if it did
// not within 3 s).
func stranger(addr string) (int, time.Duration, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	_, err = io.WriteString(c, "POST /hook HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"update_i")
	if err != nil {
		return 0, 0, err
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	answered := time.Now()
	_ = c.SetReadDeadline(answered.Add(3 * time.Second))
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) && !isReset(err) {
		return resp.StatusCode, 0, errors.New("connection still open 3 s after the answer: " + errString(err))
	}
	return resp.StatusCode, time.Since(answered), nil
}

func isReset(err error) bool { return err != nil && strings.Contains(err.Error(), "connection reset") }

func errString(err error) string {
	if err == nil {
		return "a byte came"
	}
	return err.Error()
}

// A request without the secret gets 401 and its connection is closed at
// once, its body unread: the server's 15 s ReadTimeout plays no part.
func TestWebhookStrangerCostsOnlyItsHeaders(t *testing.T) {
	var called atomic.Int32
	var whys sync.Map
	addr := serve(t, &telegramupdates.Webhook{Secret: secret,
		Handler:   func(context.Context, telegramupdates.Update) error { called.Add(1); return nil },
		OnRefused: func(r *http.Request, why string) { whys.Store(why, true) }})

	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			status, closedAfter, err := stranger(addr)
			switch {
			case err != nil:
				errs <- err
			case status != http.StatusUnauthorized:
				errs <- errors.New("status " + http.StatusText(status))
			case closedAfter > time.Second:
				errs <- errors.New("closed " + closedAfter.String() + " after the answer")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.Zero(t, called.Load())
	_, ok := whys.Load("invalid webhook secret token")
	assert.True(t, ok)
}

// post sends body to the hook with the secret (unless secretHeader is
// false) and returns the status.
func post(t *testing.T, addr, method, body string, withSecret bool) int {
	req, err := http.NewRequest(method, "http://"+addr+"/hook", strings.NewReader(body))
	require.NoError(t, err)
	if withSecret {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// The answers: 200 only once the Handler returned nil, 500 when it failed
// or did not finish in time, 4xx for what is not an update from Telegram.
func TestWebhookAnswers(t *testing.T) {
	var failed []int64
	var mu sync.Mutex
	h := &telegramupdates.Webhook{Secret: secret, MaxBody: 1000, HandlerTimeout: 500 * time.Millisecond,
		Handler: func(ctx context.Context, u telegramupdates.Update) error {
			switch u.ChatID {
			case 2:
				return errors.New("journal refused it")
			case 3:
				<-ctx.Done() // the Handler's context ends with HandlerTimeout
				return ctx.Err()
			}
			return nil
		},
		OnFailed: func(u telegramupdates.Update, err error) { mu.Lock(); failed = append(failed, u.ID); mu.Unlock() }}
	addr := serve(t, h)
	update := func(id, chat string) string {
		return `{"update_id":` + id + `,"message":{"chat":{"id":` + chat + `}}}`
	}
	assert.Equal(t, 200, post(t, addr, "POST", update("1", "1"), true))
	assert.Equal(t, 500, post(t, addr, "POST", update("2", "2"), true))
	assert.Equal(t, 500, post(t, addr, "POST", update("3", "3"), true))
	assert.Equal(t, 401, post(t, addr, "POST", update("4", "1"), false))
	assert.Equal(t, 405, post(t, addr, "GET", "", true))
	assert.Equal(t, 400, post(t, addr, "POST", `{"message":{}}`, true))
	assert.Equal(t, 400, post(t, addr, "POST", `not json`, true))
	assert.Equal(t, 400, post(t, addr, "POST", `{"update_id":5,"pad":"`+strings.Repeat("x", 1000)+`"}`, true))
	mu.Lock()
	assert.Equal(t, []int64{2, 3}, failed)
	mu.Unlock()

	empty := serve(t, &telegramupdates.Webhook{Handler: h.Handler})
	req, _ := http.NewRequest("POST", "http://"+empty+"/hook", strings.NewReader(update("1", "1")))
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 401, resp.StatusCode, "no Secret set: nothing gets in, an empty header neither")
}

// Against telegramtest's deliveries: an update whose Handler failed is
// answered 500, Telegram sends it again, and it is confirmed once handled.
func TestWebhookWithTelegramDeliveries(t *testing.T) {
	tg := telegramtest.NewServer(telegramtest.WithWebhookRetry(20, 10*time.Millisecond))
	defer tg.Close()
	var tries atomic.Int32
	addr := serve(t, &telegramupdates.Webhook{Secret: secret,
		Handler: func(ctx context.Context, u telegramupdates.Update) error {
			if tries.Add(1) < 3 {
				return errors.New("not yet")
			}
			return nil
		}})
	resp, err := http.PostForm(tg.URL+"/bot"+tg.Token+"/setWebhook", url.Values{"url": {"http://" + addr + "/hook"}, "secret_token": {secret}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	id := tg.NewUser(5, "a").Send("/start")
	require.NoError(t, tg.WaitConfirmed(bounded(t), id))
	assert.Equal(t, int32(3), tries.Load())
	assert.Empty(t, tg.Dropped())
}

// At most MaxInFlight Handlers run at once; the other deliveries wait
// their turn and are answered 200 when theirs is done.
func TestWebhookBoundsHandlers(t *testing.T) {
	var mu sync.Mutex
	inFlight, peak := 0, 0
	addr := serve(t, &telegramupdates.Webhook{Secret: secret, MaxInFlight: 3,
		Handler: func(ctx context.Context, u telegramupdates.Update) error {
			mu.Lock()
			inFlight++
			peak = max(peak, inFlight)
			mu.Unlock()
			time.Sleep(20 * time.Millisecond) // work, so that deliveries overlap
			mu.Lock()
			inFlight--
			mu.Unlock()
			return nil
		}})
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			id := strconv.Itoa(i + 1)
			assert.Equal(t, 200, post(t, addr, "POST", `{"update_id":`+id+`,"message":{"chat":{"id":`+id+`}}}`, true))
		})
	}
	wg.Wait()
	assert.Equal(t, 3, peak)
}
