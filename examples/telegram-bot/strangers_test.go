package main

import (
	"fmt"
	"io"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/telegramtest"
	"github.com/yespo-go/yespo/yespotest"
)

// A stranger's connection costs a slot only for as long as its headers
// take: 1,100 connections announce a 100 KB body, send it one byte every
// 2 s, with no secret, against the built bot under a file limit of 1,024.
// Each is answered and closed by the bot well within 10 s of its headers,
// and 12 of 12 real users are subscribed within 5 s meanwhile.
func TestStrangersCostOnlyTheirHeaders(t *testing.T) {
	tg := telegramtest.NewServer()
	t.Cleanup(tg.Close)
	ys := yespotest.NewServer()
	t.Cleanup(ys.Close)
	app := ys.NewApp()
	addr := freeAddr(t)
	env := contractEnv(t, tg, ys, app)
	p := startWebhookBotUnderFileLimit(t, env, addr)

	const strangers = 1100
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var held []time.Duration // from the end of its headers to the bot's close, per connection
	var failures []string
	for range strangers {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", addr, waitLimit)
			if err != nil {
				mu.Lock()
				failures = append(failures, "dial: "+err.Error())
				mu.Unlock()
				return
			}
			defer c.Close()
			_, err = fmt.Fprintf(c, "POST /telegram HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", addr)
			headersSent := time.Now()
			if err != nil {
				mu.Lock()
				failures = append(failures, "headers: "+err.Error())
				mu.Unlock()
				return
			}
			go func() { // one byte every 2 s, until the test ends or the bot hangs up
				for {
					select {
					case <-stop:
						return
					case <-time.After(2 * time.Second):
					}
					if _, err := c.Write([]byte(" ")); err != nil {
						return
					}
				}
			}()
			// Held until the bot closes: EOF (or a reset) after its answer.
			_ = c.SetReadDeadline(headersSent.Add(15 * time.Second))
			_, err = io.Copy(io.Discard, c)
			closed := time.Now()
			mu.Lock()
			defer mu.Unlock()
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				failures = append(failures, "still open 15 s after its headers")
				return
			}
			held = append(held, closed.Sub(headersSent))
		})
	}
	realUsersSubscribe(t, tg, p, 3000)
	wg.Wait()
	close(stop)
	require.Empty(t, failures)
	require.Len(t, held, strangers)
	sort.Slice(held, func(i, j int) bool { return held[i] < held[j] })
	t.Logf("held after their headers: median %s, p99 %s, max %s", held[len(held)/2], held[len(held)*99/100], held[len(held)-1])
	assert.Less(t, held[len(held)-1], 10*time.Second, "a stranger held past 10 s after its headers")
	assert.NotContains(t, p.stderr.String(), "too many open files")
	p.stop()
}
