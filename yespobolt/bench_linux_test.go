package yespobolt_test

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDiskSync: the disk's own price, beside the journal's (t_sync): a
// 4 KiB write and an fdatasync, over blocks written before (as bbolt
// rewrites its meta page and reuses freed pages) and at the end of a
// growing file (new blocks).
func BenchmarkDiskSync(b *testing.B) {
	page := make([]byte, 4096)
	for _, m := range []struct {
		name      string
		overwrite bool
	}{{"overwrite", true}, {"append", false}} {
		b.Run(m.name, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "sync"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if m.overwrite {
				if _, err := f.Write(make([]byte, 4096*b.N)); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			lat := make([]time.Duration, b.N)
			b.ResetTimer()
			for i := range b.N {
				s := time.Now()
				if _, err := f.WriteAt(page, int64(i)*4096); err != nil {
					b.Fatal(err)
				}
				if err := syscall.Fdatasync(int(f.Fd())); err != nil {
					b.Fatal(err)
				}
				lat[i] = time.Since(s)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/sync")
			slices.Sort(lat) // the tail a journal's commit meets now and then
			b.ReportMetric(float64(lat[b.N*99/100].Microseconds()), "p99-µs/sync")
		})
	}
}
