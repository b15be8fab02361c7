package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// readAll reads every row of path from offset on; err is the reader's.
func readAll(path, format string, offset, firstSeq int64) ([]row, error) {
	rows, closer, err := openRows(path, format, ',', offset, firstSeq)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	var out []row
	for {
		r, err := rows.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
}

// summary is what a row must look like the same after a resume.
func summary(r row) string {
	return fmt.Sprintf("%d %d %+v %v %q", r.seq, r.end, r.token, r.err, r.raw)
}

// checkRows is the property a checkpoint relies on: offsets grow, and a
// resume from any row's end reads exactly the rows that followed it.
func checkRows(t *testing.T, data []byte, format string) {
	path := filepath.Join(t.TempDir(), "in."+format)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	all, err := readAll(path, format, 0, 1)
	if err != nil {
		return // unreadable input is reported, not resumed
	}
	for i, r := range all {
		if r.seq != int64(i+1) || r.end > int64(len(data)) || i > 0 && r.end <= all[i-1].end {
			t.Fatalf("row %d: seq %d end %d (previous end %d, size %d)", i, r.seq, r.end, prevEnd(all, i), len(data))
		}
	}
	for i := range all {
		rest, err := readAll(path, format, all[i].end, all[i].seq+1)
		if err != nil {
			t.Fatalf("resume after row %d: %v", i+1, err)
		}
		if len(rest) != len(all)-i-1 {
			t.Fatalf("resume after row %d: %d rows, want %d", i+1, len(rest), len(all)-i-1)
		}
		for j, r := range rest {
			if summary(r) != summary(all[i+1+j]) {
				t.Fatalf("resume after row %d, row %d:\n got %s\nwant %s", i+1, i+2+j, summary(r), summary(all[i+1+j]))
			}
		}
	}
}

func prevEnd(all []row, i int) int64 {
	if i == 0 {
		return 0
	}
	return all[i-1].end
}

func FuzzCSVRows(f *testing.F) {
	f.Add([]byte("token,phone\n1,+380501111111\n2,\n"))
	f.Add([]byte("TOKEN,Email,contactId\r\n\"1\",\"a@b.c\",7\r\n\"2,x\",\"multi\nline\",\r\n3,,abc\r\n"))
	f.Add([]byte("\ufefftoken\n1\n\n2\n"))
	f.Add([]byte("token,email\n1,\"unterminated\n2,a@b.c\n"))
	f.Add([]byte("token\n1,extra,fields\n2\n"))
	f.Fuzz(func(t *testing.T, data []byte) { checkRows(t, data, "csv") })
}

func FuzzJSONLRows(f *testing.F) {
	f.Add([]byte(`{"token":"1","phone":"+380501111111"}` + "\n" + `{"token":"2","contactId":"7"}`))
	f.Add([]byte("\n\n{\"token\":\"1\"}\r\n  \nnot json\n{\"contactId\":1.5}\n"))
	f.Add([]byte(`{"token":"1","email":"a@b.c","externalCustomerId":null}`))
	f.Fuzz(func(t *testing.T, data []byte) { checkRows(t, data, "jsonl") })
}
