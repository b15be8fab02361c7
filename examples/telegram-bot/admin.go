package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// adminRoutes adds what an orchestrator asks a bot: /healthz (the process
// is alive), /readyz (it can accept and durably keep an update: see ready)
// and /metrics (Prometheus text).
func (a *app) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := a.ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics(), promhttp.HandlerOpts{}))
}

// readyTimeout bounds one /readyz.
const readyTimeout = 5 * time.Second

// serveAdmin serves adminRoutes on addr (-admin) until the returned stop is
// called.
func (a *app) serveAdmin(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	a.adminRoutes(mux)
	srv := a.boundedServer(mux)
	go func() {
		if err := srv.Serve(limitListener(ln, spareConns)); !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("admin listener failed", "err", err)
		}
	}()
	a.log.Info("admin: /healthz, /readyz, /metrics", "listen", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// metrics is the bot's Prometheus registry; every value is read when
// scraped, the Batcher's in one Stats call (which does no I/O).
func (a *app) metrics() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	counter := func(name, help string, labels prometheus.Labels, f func() float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, f))
	}
	reg.MustRegister(batchCollector{a.batchStats})
	gauge("telegram_bot_yespo_config_ok", "1 while Yespo accepts the bot's API key and app (or has not said otherwise), 0 while it refuses them.",
		func() float64 {
			if a.health.yespoConfigErr() != nil {
				return 0
			}
			return 1
		})
	counter("telegram_bot_updates_handled_total", "Telegram updates handled, by whether their effect was kept (then confirmed to Telegram).",
		prometheus.Labels{"result": "kept"}, func() float64 { return float64(a.health.updatesOK.Load()) })
	counter("telegram_bot_updates_handled_total", "Telegram updates handled, by whether their effect was kept (then confirmed to Telegram).",
		prometheus.Labels{"result": "not_kept"}, func() float64 { return float64(a.health.updatesFailed.Load()) })
	counter("telegram_bot_replies_total", "Replies to users, by outcome.", prometheus.Labels{"result": "sent"},
		func() float64 { return float64(a.out.sent.Load()) })
	counter("telegram_bot_replies_total", "Replies to users, by outcome.", prometheus.Labels{"result": "failed"},
		func() float64 { return float64(a.out.failed.Load()) })
	gauge("telegram_bot_replies_queued", "Replies waiting for their turn under Telegram's send limit.",
		func() float64 { return float64(a.out.queued.Load()) })
	counter("telegram_bot_telegram_rate_limited_total", "sendMessage calls Telegram answered 429.", nil,
		func() float64 { return float64(a.out.limited.Load()) })
	return reg
}

// batchCollector reports the Batcher's figures from one Stats call per
// scrape.
type batchCollector struct{ stats func() batchStats }

var batchDescs = []struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(batchStats) float64
}{
	{prometheus.NewDesc("telegram_bot_journal_depth", "Tokens the journal holds: accepted and not yet accepted (or refused for good) by Yespo.", nil, nil),
		prometheus.GaugeValue, func(s batchStats) float64 { return float64(s.JournalDepth) }},
	{prometheus.NewDesc("telegram_bot_journal_oldest_seconds", "Age of the oldest token the journal holds; 0 when empty.", nil, nil),
		prometheus.GaugeValue, func(s batchStats) float64 { return s.JournalOldest.Seconds() }},
	{prometheus.NewDesc("telegram_bot_tokens_sent_total", "Tokens Yespo accepted.", nil, nil),
		prometheus.CounterValue, func(s batchStats) float64 { return float64(s.Sent) }},
	{prometheus.NewDesc("telegram_bot_tokens_failed_total", "Tokens Yespo refused for good (or, without a journal, that failed).", nil, nil),
		prometheus.CounterValue, func(s batchStats) float64 { return float64(s.Failed) }},
	{prometheus.NewDesc("telegram_bot_events_sent_total", "Welcome events (-welcome-event) Yespo accepted.", nil, nil),
		prometheus.CounterValue, func(s batchStats) float64 { return float64(s.EventsSent) }},
	{prometheus.NewDesc("telegram_bot_events_failed_total", "Welcome events Yespo refused for good (a 400).", nil, nil),
		prometheus.CounterValue, func(s batchStats) float64 { return float64(s.EventsFailed) }},
	{prometheus.NewDesc("telegram_bot_yespo_rate_limited_total", "Requests to Yespo answered 429.", nil, nil),
		prometheus.CounterValue, func(s batchStats) float64 { return float64(s.RateLimited) }},
	{prometheus.NewDesc("telegram_bot_yespo_pace_requests_per_second", "The Batcher's adaptive send rate to Yespo; 0 when a shared (Redis) budget paces it.", nil, nil),
		prometheus.GaugeValue, func(s batchStats) float64 { return s.Pace }},
}

func (c batchCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range batchDescs {
		ch <- d.desc
	}
}

func (c batchCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	for _, d := range batchDescs {
		ch <- prometheus.MustNewConstMetric(d.desc, d.kind, d.value(st))
	}
}
