package yespo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
)

// tokenStore is a Yespo over real sockets, 20 ms away, that refuses with a
// 400 any request carrying a refused token and stores the others.
type tokenStore struct {
	refused string
	mu      sync.Mutex
	stored  map[string]int
}

func (s *tokenStore) handle(w http.ResponseWriter, r *http.Request) {
	var body struct{ Tokens []yespo.Token }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	time.Sleep(20 * time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range body.Tokens {
		if t.Token == s.refused {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"message":"Invalid token"}`))
			return
		}
	}
	for _, t := range body.Tokens {
		s.stored[t.Token]++
	}
	_, _ = w.Write([]byte(`"OK"`))
}

// Flush and Close called from OnBatch return once the tokens added before
// them are settled, within 2 s, at Concurrency 1 and 2, with and without a
// batch split after a 400; every token is reported once and stored once
// (but the refused one).
func TestFlushAndCloseFromOnBatch(t *testing.T) {
	cases := map[string]func(ctx context.Context, b *yespo.Batcher) []error{
		"Flush":            func(ctx context.Context, b *yespo.Batcher) []error { return []error{b.Flush(ctx)} },
		"Close":            func(ctx context.Context, b *yespo.Batcher) []error { return []error{b.Close(ctx)} },
		"Flush then Close": func(ctx context.Context, b *yespo.Batcher) []error { return []error{b.Flush(ctx), b.Close(ctx)} },
		"Close then Flush": func(ctx context.Context, b *yespo.Batcher) []error { return []error{b.Close(ctx), b.Flush(ctx)} },
		"AddAndWait then Close": func(ctx context.Context, b *yespo.Batcher) []error {
			return []error{b.AddAndWait(ctx, tok(1000)), b.Close(ctx)}
		},
	}
	for name, call := range cases {
		for _, conc := range []int{1, 2} {
			for _, split := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/Concurrency=%d/split=%v", name, conc, split), func(t *testing.T) {
					t.Parallel()
					store := &tokenStore{stored: map[string]int{}}
					if split {
						store.refused = tok(7).Token
					}
					srv := newServer(t)
					srv.mux.HandleFunc("/v1/apps/"+appUUID+"/tokens", store.handle)
					var mu sync.Mutex
					reported := map[string]int{}
					var once sync.Once
					took := make(chan time.Duration, 1)
					var b *yespo.Batcher
					b, err := srv.client(t).NewBatcher(appUUID, yespo.BatcherOptions{MaxBatch: 5, Concurrency: conc, OnBatch: func(r yespo.BatchResult) {
						mu.Lock()
						for _, tk := range r.Tokens {
							reported[tk.Token]++
						}
						mu.Unlock()
						once.Do(func() {
							ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
							defer cancel()
							began := time.Now()
							for _, err := range call(ctx, b) {
								assert.NotErrorIs(t, err, context.DeadlineExceeded)
								assert.NotErrorIs(t, err, yespo.ErrNotSent)
							}
							took <- time.Since(began)
						})
					}})
					require.NoError(t, err)
					for i := range 20 {
						require.NoError(t, b.Add(context.Background(), tok(i)))
					}
					select {
					case d := <-took:
						assert.Less(t, d, 2*time.Second)
					case <-time.After(10 * time.Second):
						t.Fatal("the calls from OnBatch never returned")
					}
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					err = b.Close(ctx)
					require.NotErrorIs(t, err, context.DeadlineExceeded)
					mu.Lock()
					defer mu.Unlock()
					store.mu.Lock()
					defer store.mu.Unlock()
					for i := range 20 {
						tk := tok(i).Token
						assert.Equal(t, 1, reported[tk], "token %d reported once", i)
						want := 1
						if tk == store.refused {
							want = 0
						}
						assert.Equal(t, want, store.stored[tk], "token %d stored once", i)
					}
				})
			}
		}
	}
}
