package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// readAll reads every row of path from offset on; origin is where the
// first row starts. openErr is a refusal of the whole file (a CSV header
// that names no token, say), err any other.
func readAll(path, format string, offset int64) (rows []row, origin int64, openErr, err error) {
	rr, closer, err := openRows(path, format, ',', columns{}, offset)
	if err != nil {
		return nil, 0, err, nil
	}
	defer closer.Close()
	origin = rr.offset()
	for {
		r, err := rr.next()
		if err == io.EOF {
			return rows, origin, nil, nil
		}
		if err != nil {
			return rows, origin, nil, err
		}
		rows = append(rows, r)
	}
}

// summary is what a row must look like the same after a resume.
func summary(r row) string {
	return fmt.Sprintf("line %d [%d,%d) %+v %v %v %q", r.line, r.start, r.end, r.token, r.tokenNumber, r.err, r.raw)
}

// checkRows is what a checkpoint and the summary rely on, for any input
// the reader does not refuse whole: reading never fails; rows tile the
// file from the first on (each starts where the one before ended) up to
// blank lines at most, their lines grow, and a resume from any row's end
// reads exactly the rows that followed it, with the same lines. Then the
// import accounts for every row once: sent, failed or rejected.
func checkRows(t *testing.T, data []byte, format string) {
	path := filepath.Join(t.TempDir(), "in."+format)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	all, origin, openErr, err := readAll(path, format, 0)
	if openErr != nil {
		if format != "csv" {
			t.Fatalf("JSON lines refused whole: %v", openErr)
		}
		return // a CSV header that reads no token: refused before any row, nothing sent
	}
	if err != nil {
		t.Fatalf("reading stopped after %d rows: %v", len(all), err)
	}
	at, line := origin, int64(0)
	for i, r := range all {
		if r.start != at || r.end <= r.start || r.end > int64(len(data)) || r.line <= line {
			t.Fatalf("row %d: %s after [.., %d) on line %d (size %d)", i+1, summary(r), at, line, len(data))
		}
		if want := int64(bytes.Count(data[:r.start], []byte{'\n'})) + 1; r.line < want {
			t.Fatalf("row %d: line %d, but %d line breaks come before it", i+1, r.line, want-1)
		}
		// A malformed record is one line: it never takes the rows after it.
		if lastLine := int64(bytes.Count(data[:r.end-1], []byte{'\n'})) + 1; (format == "jsonl" || malformed(r)) && lastLine != r.line {
			t.Fatalf("row %d: %s spans lines %d to %d", i+1, summary(r), r.line, lastLine)
		}
		at, line = r.end, r.line
	}
	for l := range bytes.Lines(data[at:]) {
		if blank := len(content(l)) == 0 || format == "jsonl" && len(bytes.TrimSpace(l)) == 0; !blank {
			t.Fatalf("after the last row, at %d, a line no row holds: %q", at, l)
		}
	}
	for i := range all {
		rest, _, openErr, err := readAll(path, format, all[i].end)
		if err = errors.Join(openErr, err); err != nil {
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
	checkAccounting(t, path, all)
}

// malformed says whether r is a record the reader could not read.
func malformed(r row) bool {
	return r.err != nil && (strings.HasPrefix(r.err.Error(), "malformed CSV") || strings.Contains(r.err.Error(), "line is longer than"))
}

// counted is the last line of an import that finished its file.
var counted = regexp.MustCompile(`(?m)^(\d+) rows sent, (\d+) failed, (\d+) rejected\.`)

// checkAccounting imports path into the fake and checks that the summary
// counts every row once — sent, failed or rejected — that the rows
// rejected are those check refuses, each in the rejects file with its
// line, and that the exit code says so.
func checkAccounting(t *testing.T, path string, rows []row) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-fake", "-rps", "1000000", path}, func(string) string { return "" }, &stdout, &stderr)
	m := counted.FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("exit %d, no summary:\n%s%s", code, stdout.String(), stderr.String())
	}
	var n [3]int
	for i := range n {
		n[i], _ = strconv.Atoi(m[1+i])
	}
	sent, failed, rejected := n[0], n[1], n[2]
	if sent+failed+rejected != len(rows) {
		t.Fatalf("%d sent + %d failed + %d rejected, but the file has %d rows:\n%s", sent, failed, rejected, len(rows), stdout.String())
	}
	var want []string // the lines of the rows check refuses
	for _, r := range rows {
		if check(&r, config{}) != "" {
			want = append(want, strconv.FormatInt(r.line, 10))
		}
	}
	if rejected != len(want) {
		t.Fatalf("%d rejected, but check refuses %d rows (lines %v)", rejected, len(want), want)
	}
	var got []string
	if len(want) > 0 {
		f, err := os.Open(path + ".rejects.csv")
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatalf("the rejects file: %v", err)
		}
		for _, rec := range recs[1:] {
			got = append(got, rec[0])
		}
	}
	if slices.Sort(got); !slices.Equal(got, sortedCopy(want)) {
		t.Fatalf("the rejects file lists lines %v, want %v", got, want)
	}
	wantCode := exitOK
	switch {
	case failed > 0:
		wantCode = exitFailures
	case rejected > 0:
		wantCode = exitRejects
	}
	if code != wantCode {
		t.Fatalf("exit %d, want %d:\n%s%s", code, wantCode, stdout.String(), stderr.String())
	}
	if _, err := os.Stat(path + ".fake.checkpoint"); err == nil {
		t.Fatal("a finished run left its checkpoint")
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// checkLikeEncodingCSV: where encoding/csv reads data without an error, the
// CSV reader reads the same records; where it finds one, so does this
// reader (which then goes on from the next line).
func checkLikeEncodingCSV(t *testing.T, data []byte, sep rune) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = sep
	cr.FieldsPerRecord = -1 // as the rows' reader: a count that differs is the row's fault
	want, wantErr := cr.ReadAll()
	r := newCSVReader(bytes.NewReader(data), sep)
	var got [][]string
	var gotErr error
	for {
		rec, err := r.read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.err != nil && gotErr == nil {
			gotErr = rec.err
		}
		got = append(got, slices.Clone(rec.fields))
	}
	switch {
	case (wantErr == nil) != (gotErr == nil):
		t.Fatalf("separator %q: encoding/csv: %v; this reader: %v", sep, wantErr, gotErr)
	case wantErr == nil && !slices.EqualFunc(got, want, slices.Equal):
		t.Fatalf("separator %q: records:\n got %q\nwant %q", sep, got, want)
	}
}

func FuzzCSVRows(f *testing.F) {
	f.Add([]byte("token,phone\n1,+380501111111\n2,\n"))
	f.Add([]byte("TOKEN,Email,contactId\r\n\"1\",\"a@b.c\",7\r\n\"2,x\",\"multi\nline\",\r\n3,,abc\r\n"))
	f.Add([]byte("\ufefftoken\n1\n\n2\n"))
	f.Add([]byte("token,email\n1,\"unterminated\n2,a@b.c\n"))
	f.Add([]byte("token\n1,extra,fields\n2\n"))
	f.Add([]byte("token,externalCustomerId\n1,crm-1\n2,\"crm-2\n3,crm-3\n4,\"crm-4\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, sep := range []rune{',', ';', '\t', '€'} {
			checkLikeEncodingCSV(t, data, sep)
		}
		checkRows(t, data, "csv")
	})
}

func FuzzJSONLRows(f *testing.F) {
	f.Add([]byte(`{"token":"1","phone":"+380501111111"}` + "\n" + `{"token":"2","contactId":"7"}`))
	f.Add([]byte("\n\n{\"token\":\"1\"}\r\n  \nnot json\n{\"contactId\":1.5}\n"))
	f.Add([]byte(`{"token":"1","email":"a@b.c","externalCustomerId":null}`))
	f.Add([]byte(`{"token":1001,"contactId":7,"Phone":"+380501111111"}` + "\n" + `{"token":true}` + "\n"))
	f.Add([]byte(`{"token":1e5,"email":"a@b.c"}` + "\n" + `{"token":"0123","email":"a@b.c"}` + "\n" + `{"token":1002.0,"email":"a@b.c"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) { checkRows(t, data, "jsonl") })
}
