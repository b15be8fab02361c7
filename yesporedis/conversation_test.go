package yesporedis_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/yespo-go/yespo/yesporedis/redistest"
)

// replicasResult is what a run of replica processes cost and achieved.
type replicasResult struct {
	granted      int64   // Waits granted, all replicas
	ok, limited  int     // answers of the fake Yespo: 200 and 429
	scripts      int64   // EVALSHA + EVAL calls Redis counted
	commands     int64   // total_commands_processed, a script's inner calls included
	redisCPU     float64 // Redis's CPU seconds (user + sys) per second of the run
	perSecond    float64 // accepted requests per second
	elapsedSecs  float64
	replicas     int
	waitersPerRp int
	fellBack     bool // a replica's limiter lost Redis and paced locally
}

func (r replicasResult) scriptsPerGrant() float64 {
	return float64(r.scripts) / float64(max(1, r.granted))
}

func (r replicasResult) commandsPerRequest() float64 {
	return float64(r.commands) / float64(max(1, r.ok+r.limited))
}

func (r replicasResult) limitedShare() float64 {
	return float64(r.limited) / float64(max(1, r.ok+r.limited))
}

func (r replicasResult) String() string {
	return fmt.Sprintf("%d replicas × %d waiters: %.1f req/s accepted, %.2f %% 429, %.2f scripts per grant, %.1f commands per request, Redis CPU %.1f %%",
		r.replicas, r.waitersPerRp, r.perSecond, 100*r.limitedShare(), r.scriptsPerGrant(), r.commandsPerRequest(), 100*r.redisCPU)
}

// runReplicas runs replicas child processes, waiters goroutines each, all
// calling y as fast as one yesporedis limiter per process on rs allows, for
// d, and measures what Redis did for it.
func runReplicas(t testing.TB, rs *redistest.Server, y *slidingYespo, replicas, waiters int, d time.Duration, env ...string) replicasResult {
	t.Helper()
	admin := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer admin.Close()
	ctx := context.Background()
	var kids []*child
	for range replicas {
		kids = append(kids, startChild(t, "waiters", append([]string{"YR_REDIS=" + rs.Addr, "YR_YESPO=" + y.URL,
			"YR_WAITERS=" + strconv.Itoa(waiters), "YR_MILLIS=" + strconv.Itoa(int(d.Milliseconds()))}, env...)...))
	}
	for _, k := range kids {
		k.expect(t, "ready")
	}
	if err := admin.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	cpu0 := redisCPU(t, admin)
	start := time.Now()
	for _, k := range kids {
		if _, err := k.stdin.Write([]byte("go\n")); err != nil {
			t.Fatal(err)
		}
	}
	r := replicasResult{replicas: replicas, waitersPerRp: waiters}
	for _, k := range kids {
		n, err := strconv.ParseInt(k.expect(t, "granted"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		r.granted += n
		r.fellBack = r.fellBack || k.stderr.count(logDown) > 0
	}
	r.elapsedSecs = time.Since(start).Seconds()
	r.redisCPU = (redisCPU(t, admin) - cpu0) / r.elapsedSecs
	stats := info(t, admin, "commandstats")
	r.scripts = stat(stats, "cmdstat_evalsha", "calls") + stat(stats, "cmdstat_eval", "calls")
	r.commands = stat(info(t, admin, "stats"), "total_commands_processed", "")
	// INFO and the reset themselves are not the limiter's.
	r.commands -= 2
	r.ok, r.limited = y.tally("replica", start)
	r.perSecond = float64(r.ok) / r.elapsedSecs
	return r
}

// info returns INFO section as key → value.
func info(t testing.TB, rdb *redis.Client, section string) map[string]string {
	t.Helper()
	s, err := rdb.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for line := range strings.Lines(s) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = v
		}
	}
	return m
}

// stat reads a number from INFO: the value of key, or the field of it
// ("calls" in "calls=12,usec=..."); 0 when absent.
func stat(m map[string]string, key, field string) int64 {
	v := m[key]
	if field != "" {
		for kv := range strings.SplitSeq(v, ",") {
			if f, n, ok := strings.Cut(kv, "="); ok && f == field {
				v = n
			}
		}
	}
	n, _ := strconv.ParseFloat(v, 64)
	return int64(n)
}

func redisCPU(t testing.TB, rdb *redis.Client) float64 {
	m := info(t, rdb, "cpu")
	user, _ := strconv.ParseFloat(m["used_cpu_user"], 64)
	sys, _ := strconv.ParseFloat(m["used_cpu_sys"], 64)
	return user + sys
}

// TestOneScriptPerGrant: three replica processes of 128 waiters each cost
// Redis at most 1.1 script calls per granted Wait and 5 commands per Yespo
// request: the waiters of a process queue behind one conversation with
// Redis instead of each polling it (84 scripts per grant when they did).
// The Redis timeout is raised so that a loaded machine's slow answers do not
// send a replica to its local fallback, which takes grants without Redis.
// Throughput and the 429 share depend on the machine: they are logged here
// and measured by BenchmarkConversation.
func TestOneScriptPerGrant(t *testing.T) {
	rs := redistest.Start(t)
	y := newSlowYespo(t, 200, 20*time.Millisecond)
	r := runReplicas(t, rs, y, 3, 128, 2*time.Second, "YR_REDIS_TIMEOUT_MS=5000")
	t.Log(r)
	if r.fellBack {
		t.Fatalf("a replica fell back to local pacing: Redis did not answer within 5 s (%v)", r)
	}
	if r.granted < 100 {
		t.Fatalf("only %d Waits granted in 2 s: %v", r.granted, r)
	}
	if r.scriptsPerGrant() > 1.1 {
		t.Errorf("%.2f script calls per granted Wait, want ≤ 1.1 (%v)", r.scriptsPerGrant(), r)
	}
	if r.commandsPerRequest() > 5 {
		t.Errorf("%.1f Redis commands per Yespo request, want ≤ 5 (%v)", r.commandsPerRequest(), r)
	}
}

// BenchmarkConversation is the Redis cost table of BENCHMARKS.md: 1 and 3
// replica processes of 16 and 128 waiters each, against a sliding 200/s
// fake Yespo that answers in 150 ms. Each cell runs 3 s once; read the
// metrics, not ns/op:
//
//	go test -run '^$' -bench Conversation -benchtime 1x
func BenchmarkConversation(b *testing.B) {
	rs := redistest.Start(b)
	for _, replicas := range []int{1, 3} {
		for _, waiters := range []int{16, 128} {
			b.Run(fmt.Sprintf("replicas=%d/waiters=%d", replicas, waiters), func(b *testing.B) {
				var r replicasResult
				for b.Loop() {
					r = runReplicas(b, rs, newSlowYespo(b, 200, 150*time.Millisecond), replicas, waiters, 3*time.Second)
				}
				b.ReportMetric(r.perSecond/200, "budget")
				b.ReportMetric(100*r.limitedShare(), "%429")
				b.ReportMetric(r.scriptsPerGrant(), "scripts/grant")
				b.ReportMetric(r.commandsPerRequest(), "cmds/req")
				b.ReportMetric(100*r.redisCPU, "%redisCPU")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
