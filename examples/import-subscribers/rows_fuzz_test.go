package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// readAll reads every row of path from offset on; origin is where the
// first row starts; err is the reader's.
func readAll(path, format string, offset int64) (rows []row, origin int64, err error) {
	rr, closer, err := openRows(path, format, ',', columns{}, offset)
	if err != nil {
		return nil, 0, err
	}
	defer closer.Close()
	origin = rr.offset()
	for {
		r, err := rr.next()
		if err == io.EOF {
			return rows, origin, nil
		}
		if err != nil {
			return rows, origin, err
		}
		rows = append(rows, r)
	}
}

// summary is what a row must look like the same after a resume.
func summary(r row) string {
	return fmt.Sprintf("line %d [%d,%d) %+v %v %q", r.line, r.start, r.end, r.token, r.err, r.raw)
}

// checkRows is the property a checkpoint relies on: rows tile the file
// from the first on (each starts where the one before ended), their lines
// grow, and a resume from any row's end reads exactly the rows that
// followed it, with the same lines.
func checkRows(t *testing.T, data []byte, format string) {
	path := filepath.Join(t.TempDir(), "in."+format)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	all, origin, err := readAll(path, format, 0)
	if err != nil {
		return // unreadable input is reported, not resumed
	}
	at, line := origin, int64(0)
	for i, r := range all {
		if r.start != at || r.end <= r.start || r.end > int64(len(data)) || r.line <= line {
			t.Fatalf("row %d: %s after [.., %d) on line %d (size %d)", i+1, summary(r), at, line, len(data))
		}
		if want := int64(bytes.Count(data[:r.start], []byte{'\n'})) + 1; r.line < want {
			t.Fatalf("row %d: line %d, but %d line breaks come before it", i+1, r.line, want-1)
		}
		at, line = r.end, r.line
	}
	for i := range all {
		rest, _, err := readAll(path, format, all[i].end)
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
	f.Add([]byte(`{"token":1001,"contactId":7,"Phone":"+380501111111"}` + "\n" + `{"token":true}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) { checkRows(t, data, "jsonl") })
}
