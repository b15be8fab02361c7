package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"testing"
)

// BenchmarkCSVRecords compares the CSV reader with encoding/csv, which it
// replaces for the rows (so that a broken quote takes one line, not the
// rest of the file), on 100,000 rows as writeRows makes them, one in 50
// with a quoted field:
//
//	go test -run '^$' -bench CSVRecords ./examples/import-subscribers
func BenchmarkCSVRecords(b *testing.B) {
	var buf bytes.Buffer
	for i := range 100_000 {
		if i%50 == 0 {
			fmt.Fprintf(&buf, "%d,\"crm, %d\",+38050%07d,user%d@example.com\n", 5_000_000_000+i, i, i, i)
			continue
		}
		fmt.Fprintf(&buf, "%d,crm-%d,+38050%07d,user%d@example.com\n", 5_000_000_000+i, i, i, i)
	}
	data := buf.Bytes()
	b.Run("encoding/csv", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for range b.N {
			r := csv.NewReader(bytes.NewReader(data))
			r.ReuseRecord = true
			for {
				if _, err := r.Read(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("csvReader", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for range b.N {
			r := newCSVReader(bytes.NewReader(data), ',')
			for {
				if rec, err := r.read(); err == io.EOF {
					break
				} else if err != nil || rec.err != nil {
					b.Fatal(err, rec.err)
				}
			}
		}
	})
}
