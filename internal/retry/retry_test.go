package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRetryableStatus(t *testing.T) {
	retryable := map[int]bool{408: true, 429: true, 500: true, 502: true, 503: true, 504: true}
	for code := 100; code <= 599; code++ {
		assert.Equal(t, retryable[code], Status(code), "status %d", code)
	}
	for _, code := range []int{0, -1, 600, 999} {
		assert.False(t, Status(code), "status %d", code)
	}
}

// backoffBand is the documented range of Policy.Backoff(n): MinWait doubled
// n times and capped at MaxWait is the ceiling d; the floor is the upper half
// of d, but never below MinWait.
func backoffBand(p Policy, n int) (lo, hi time.Duration) {
	hi = max(p.MinWait, 1)
	for i := 0; i <= n && hi < p.MaxWait; i++ {
		if hi > p.MaxWait/2 {
			hi = p.MaxWait
			break
		}
		hi *= 2
	}
	hi = min(hi, p.MaxWait)
	return max(hi/2, p.MinWait), hi
}

func TestBackoff(t *testing.T) {
	const samples = 300
	tests := []struct {
		name string
		p    Policy
		maxN int
	}{
		{"default", Default, 12},
		{"min wait 0", Policy{MinWait: 0, MaxWait: time.Second}, 40},
		{"small", Policy{MinWait: time.Millisecond, MaxWait: 8 * time.Millisecond}, 10},
		{"cap not a power of two", Policy{MinWait: 100 * time.Millisecond, MaxWait: 750 * time.Millisecond}, 10},
		{"min equals max", Policy{MinWait: time.Second, MaxWait: time.Second}, 5},
		{"huge max wait", Policy{MinWait: time.Second, MaxWait: math.MaxInt64}, 70},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prevMax := time.Duration(-1)
			for n := 0; n <= tt.maxN; n++ {
				var got []time.Duration
				require.NotPanics(t, func() {
					for range samples {
						got = append(got, tt.p.Backoff(n))
					}
				}, "Backoff(%d)", n)
				lo, hi := backoffBand(tt.p, n)
				gotMin, gotMax := got[0], got[0]
				for _, d := range got {
					gotMin, gotMax = min(gotMin, d), max(gotMax, d)
				}
				assert.GreaterOrEqual(t, gotMin, tt.p.MinWait, "Backoff(%d) below MinWait", n)
				assert.LessOrEqual(t, gotMax, tt.p.MaxWait, "Backoff(%d) above MaxWait", n)
				assert.GreaterOrEqual(t, gotMin, lo, "Backoff(%d) below its band", n)
				assert.LessOrEqual(t, gotMax, hi, "Backoff(%d) above its band", n)
				// Equal jitter: below the cap every wait of retry n is at least
				// the longest of retry n-1, so the waits grow until MaxWait.
				if hi < tt.p.MaxWait {
					assert.GreaterOrEqual(t, gotMin, prevMax, "Backoff(%d) shorter than Backoff(%d)", n, n-1)
				}
				// Jitter: with MinWait < MaxWait repeated calls must differ.
				if tt.p.MinWait < tt.p.MaxWait {
					assert.NotEqual(t, gotMin, gotMax, "Backoff(%d) shows no jitter", n)
				}
				prevMax = gotMax
			}
			// Far beyond the cap the wait is in the upper half of MaxWait.
			for range samples {
				d := tt.p.Backoff(tt.maxN + 100)
				assert.GreaterOrEqual(t, d, max(tt.p.MaxWait/2, tt.p.MinWait))
				assert.LessOrEqual(t, d, tt.p.MaxWait)
			}
		})
	}
}

func TestBackoffFirstRetryJitter(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
	}{
		{"default", Default},
		{"small", Policy{MinWait: time.Millisecond, MaxWait: 8 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 300 {
				d := tt.p.Backoff(0)
				require.GreaterOrEqual(t, d, tt.p.MinWait)
				require.LessOrEqual(t, d, tt.p.MaxWait)
				seen[d] = true
			}
			assert.Greater(t, len(seen), 1, "Backoff(0) shows no jitter")
		})
	}
}

func TestBackoffNoMaxWait(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
	}{
		{"zero policy", Policy{}},
		{"negative max", Policy{MinWait: time.Second, MaxWait: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for n := 0; n < 5; n++ {
				assert.Equal(t, time.Duration(0), tt.p.Backoff(n))
			}
		})
	}
}

func TestAfter(t *testing.T) {
	now := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	const longestWait = time.Duration(math.MaxInt64/int64(time.Second)) * time.Second
	const longWait = -1 // any wait of more than 100 years
	unix := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	tests := []struct {
		name   string
		header map[string]string
		want   time.Duration
		wantOK bool
	}{
		{"none", nil, 0, false},
		{"seconds", map[string]string{"Retry-After": "3"}, 3 * time.Second, true},
		{"seconds with spaces", map[string]string{"Retry-After": " 120 "}, 2 * time.Minute, true},
		{"zero", map[string]string{"Retry-After": "0"}, 0, true},
		{"date future", map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second, true},
		{"date past", map[string]string{"Retry-After": now.Add(-time.Hour).Format(http.TimeFormat)}, 0, true},
		{"date now", map[string]string{"Retry-After": now.Format(http.TimeFormat)}, 0, true},
		{"garbage", map[string]string{"Retry-After": "soon"}, 0, false},
		{"fraction", map[string]string{"Retry-After": "1.5"}, 0, false},
		{"negative", map[string]string{"Retry-After": "-5"}, 0, false},
		{"empty", map[string]string{"Retry-After": "  "}, 0, false},
		{"huge seconds", map[string]string{"Retry-After": "9223372036854775807"}, longestWait, true},
		{"just past max", map[string]string{"Retry-After": "9223372037"}, longestWait, true},
		{"beyond int64", map[string]string{"Retry-After": "99999999999999999999"}, longWait, true},
		{"ratelimit reset", map[string]string{"RateLimit-Reset": "7"}, 7 * time.Second, true},
		{"x ratelimit delta", map[string]string{"X-RateLimit-Reset": "12"}, 12 * time.Second, true},
		{"x ratelimit unix", map[string]string{"X-RateLimit-Reset": unix(42 * time.Second)}, 42 * time.Second, true},
		{"x ratelimit unix past", map[string]string{"X-RateLimit-Reset": unix(-time.Minute)}, 0, true},
		{"ratelimit negative", map[string]string{"RateLimit-Reset": "-1"}, 0, false},
		{"ratelimit garbage", map[string]string{"RateLimit-Reset": "later"}, 0, false},
		{"skip bad ratelimit", map[string]string{"RateLimit-Reset": "-1", "X-RateLimit-Reset": "5"}, 5 * time.Second, true},
		{"retry-after first", map[string]string{"Retry-After": "2", "RateLimit-Reset": "7"}, 2 * time.Second, true},
		{"ratelimit before x", map[string]string{"RateLimit-Reset": "7", "X-RateLimit-Reset": "9"}, 7 * time.Second, true},
		{"garbage falls back", map[string]string{"Retry-After": "soon", "RateLimit-Reset": "7"}, 7 * time.Second, true},
		{"huge unix reset", map[string]string{"X-RateLimit-Reset": "9223372036854775807"}, longWait, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			got, ok := ServerWait(http.StatusTooManyRequests, h, now)
			assert.Equal(t, tt.wantOK, ok)
			if tt.want == longWait {
				assert.Greater(t, got, 100*365*24*time.Hour)
			} else {
				assert.Equal(t, tt.want, got)
			}
			assert.GreaterOrEqual(t, got, time.Duration(0))
		})
	}
}

// Quota-window headers mean "wait" only on a 429; Retry-After counts anywhere.
func TestAfterResetHeadersOnlyOn429(t *testing.T) {
	now := time.Now()
	reset := http.Header{"X-Ratelimit-Reset": {strconv.FormatInt(now.Add(time.Hour).Unix(), 10)}, "Ratelimit-Reset": {"60"}}
	_, ok := ServerWait(http.StatusServiceUnavailable, reset, now)
	assert.False(t, ok)
	d, ok := ServerWait(http.StatusTooManyRequests, reset, now)
	assert.True(t, ok)
	assert.Equal(t, time.Minute, d)
	d, ok = ServerWait(http.StatusServiceUnavailable, http.Header{"Retry-After": {"7"}}, now)
	assert.True(t, ok)
	assert.Equal(t, 7*time.Second, d)
}

func TestPermanentError(t *testing.T) {
	urlErr := func(err error) error { return &url.Error{Op: "Post", URL: "https://yespo.io/api/v1", Err: err} }
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"unknown authority", urlErr(x509.UnknownAuthorityError{}), true},
		{"hostname", urlErr(x509.HostnameError{Host: "yespo.io"}), true},
		{"cert invalid", urlErr(x509.CertificateInvalidError{Reason: x509.Expired}), true},
		{"tls verification", urlErr(&tls.CertificateVerificationError{Err: errors.New("bad")}), true},
		{"redirect refused", fmt.Errorf("checking redirect: %w", ErrRedirectRefused), true},
		{"redirect refused in url.Error", urlErr(ErrRedirectRefused), true},
		{"unsupported scheme", urlErr(errors.New(`unsupported protocol scheme "ftp"`)), true},
		{"too many redirects", urlErr(errors.New("stopped after 10 redirects")), true},
		{"invalid header", urlErr(errors.New(`net/http: invalid header field value for "X"`)), true},
		{"connection refused", refused, false},
		{"refused in url.Error", urlErr(refused), false},
		{"reset", urlErr(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), false},
		{"eof", urlErr(io.EOF), false},
		{"attempt timeout", urlErr(context.DeadlineExceeded), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Permanent(tt.err))
		})
	}
}

func TestShouldRetry(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel2()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name   string
		ctx    context.Context
		status int // 0: no response
		err    error
		want   bool
	}{
		{"503", context.Background(), 503, nil, true},
		{"500", context.Background(), 500, nil, true},
		{"429", context.Background(), 429, nil, true},
		{"408", context.Background(), 408, nil, true},
		{"404", context.Background(), 404, nil, false},
		{"501", context.Background(), 501, nil, false},
		{"200", context.Background(), 200, nil, false},
		{"connection refused", context.Background(), 0, refused, true},
		{"refused in url.Error", context.Background(), 0, &url.Error{Op: "Post", URL: "u", Err: refused}, true},
		{"unknown authority", context.Background(), 0, &url.Error{Op: "Post", URL: "u", Err: x509.UnknownAuthorityError{}}, false},
		{"redirect refused", context.Background(), 0, fmt.Errorf("redirect: %w", ErrRedirectRefused), false},
		{"canceled ctx, 503", canceled, 503, nil, false},
		{"canceled ctx, refused", canceled, 0, refused, false},
		{"expired ctx, 503", expired, 503, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp *http.Response
			if tt.status != 0 {
				resp = &http.Response{StatusCode: tt.status, Header: http.Header{}}
			}
			assert.Equal(t, tt.want, Should(tt.ctx, resp, tt.err))
		})
	}
}
