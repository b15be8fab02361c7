package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkImportMillionRows imports 1,000,000 generated rows (about 60 MB
// of CSV) into a local sink that only reads and acknowledges, with the
// built binary and no rate limit of its own (-rps 1000000: the Client's
// pace on the account's budget sets the rate), and reports the import
// process's peak RSS (measured apart from the test's, see peakRSS) and its
// rows/s:
//
//	go test -run '^$' -bench ImportMillionRows -benchtime 1x ./examples/import-subscribers
func BenchmarkImportMillionRows(b *testing.B) {
	const rows = 1_000_000
	dir := b.TempDir()
	bin := toolBinary(b)
	path := filepath.Join(dir, "subs.csv")
	writeRows(b, path, rows)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `"OK"`)
	}))
	defer sink.Close()

	b.ResetTimer()
	for range b.N {
		_ = os.Remove(path + ".checkpoint")
		rss, wall := peakRSS(b, []string{"YESPO_API_KEY=bench", "YESPO_APP_UUID=0f8fad5b-d9cb-469f-a165-70867728950e", "YESPO_BASE_URL=" + sink.URL + "/api/"},
			bin, "-rps", "1000000", path) // the tool's own speed, not the account's
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(float64(rows)/wall.Seconds(), "rows/s")
		b.ReportMetric(wall.Seconds(), "wall-s")
	}
}

// BenchmarkFakeMillionRows imports 1,000,000 generated rows into the
// in-process fake (-fake), which keeps no history, with the built binary
// (without the race detector, as users build it), and reports its peak RSS:
// it must not grow with the file (under 100 MB).
//
//	go test -run '^$' -bench FakeMillionRows -benchtime 1x ./examples/import-subscribers
func BenchmarkFakeMillionRows(b *testing.B) {
	const rows = 1_000_000
	path := filepath.Join(b.TempDir(), "subs.csv")
	writeRows(b, path, rows)
	bin := plainBinary(b)
	b.ResetTimer()
	for range b.N {
		rss, wall := runFake(b, bin, path)
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(float64(rows)/wall.Seconds(), "rows/s")
		b.ReportMetric(wall.Seconds(), "wall-s")
	}
}

// runFake imports path into -fake at no rate limit to speak of, and
// returns the process's peak RSS in bytes and its wall time.
func runFake(b testing.TB, bin, path string) (int64, time.Duration) {
	return peakRSS(b, nil, bin, "-fake", "-rps", "1000000", path)
}

func writeRows(b testing.TB, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "token,externalCustomerId,phone,email")
	for i := range n {
		fmt.Fprintf(w, "%d,crm-%d,+38050%07d,user%d@example.com\n", 5_000_000_000+i, i, i, i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}
