package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/yespo-go/yespo"
)

// row is one record of the input. Rows tile the file: each starts where
// the one before ended (blank lines belong to the row after them), so that
// rows done form byte ranges a checkpoint can hold.
type row struct {
	place
	token yespo.Token
	// tokenNumber: the token was a JSON number (its text as written),
	// not a string.
	tokenNumber bool
	err         error  // why the row is not a token, if it is not
	raw         string // the record as text, for the rejects file
}

// place is where a row is in the file.
type place struct {
	line       int64 // the file's line where the record starts (a CSV header is line 1)
	start, end int64 // byte offsets: the row is the file's [start, end)
}

// rowReader streams rows from a CSV file with a header, or from JSON lines.
type rowReader interface {
	next() (row, error) // io.EOF at the end
	offset() int64      // where the next row starts
}

// openRows opens path at offset (0, or a checkpoint's) for the format
// ("csv" or "jsonl"), reading the fields through cols. sep is the CSV
// field separator.
func openRows(path, format string, sep rune, cols columns, offset int64) (rowReader, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	var r rowReader
	switch format {
	case "csv":
		r, err = newCSVRows(f, sep, cols, offset)
	case "jsonl":
		r, err = newJSONRows(f, cols, offset)
	default:
		err = fmt.Errorf("unknown format %q (want csv or jsonl)", format)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return r, f, nil
}

// seekLine moves f to offset and returns the line number there: one more
// than the line breaks before it.
func seekLine(f *os.File, offset int64) (int64, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	breaks := int64(0)
	buf := make([]byte, 64<<10)
	for left := offset; left > 0; {
		n, err := f.Read(buf[:min(int64(len(buf)), left)])
		breaks += int64(bytes.Count(buf[:n], []byte{'\n'}))
		left -= int64(n)
		if err != nil && left > 0 {
			return 0, fmt.Errorf("the file is shorter than the checkpoint says: %w", err)
		}
	}
	return breaks + 1, nil
}

// csvRows reads CSV. The header maps columns to fields by name (see
// columns); other columns are ignored.
type csvRows struct {
	r      *csvReader
	at     int64 // where the next row starts
	line   int64 // the file's line there
	index  map[string]int
	fields int // in the header: every row must have as many
}

func newCSVRows(f *os.File, sep rune, cols columns, offset int64) (*csvRows, error) {
	hr, err := newCSVReader(f, sep).read()
	if err == io.EOF {
		return nil, errors.New("the file is empty: a CSV file starts with a header line naming its columns (token, contactId, externalCustomerId, phone, email)")
	}
	if err == nil && hr.err != nil {
		err = fmt.Errorf("line %d: %w", hr.skip+1, hr.err)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the CSV header: %w", err)
	}
	header := hr.fields
	index, err := cols.index(header)
	if err != nil {
		return nil, err
	}
	if err := checkHeader(header, index, sep); err != nil {
		return nil, err
	}
	start := max(offset, hr.n)
	line, err := seekLine(f, start)
	if err != nil {
		return nil, err
	}
	return &csvRows{r: newCSVReader(f, sep), at: start, line: line, index: index, fields: len(header)}, nil
}

func (c *csvRows) next() (row, error) {
	rec, err := c.r.read()
	if err != nil {
		return row{}, err // io.EOF included
	}
	rw := row{place: place{line: c.line + rec.skip, start: c.at, end: c.at + rec.n}}
	c.at, c.line = rw.end, c.line+rec.breaks
	switch {
	case rec.err == errUnclosed:
		rw.err, rw.raw = fmt.Errorf("malformed CSV: %w; the line is rejected alone, the next one read as the next row", rec.err), rec.line
		return rw, nil
	case rec.err != nil:
		rw.err, rw.raw = fmt.Errorf("malformed CSV: %w", rec.err), rec.line
		return rw, nil
	}
	fields := rec.fields
	rw.raw = strings.Join(fields, ",")
	if len(fields) != c.fields {
		rw.err = fmt.Errorf("%d %s, the header has %d", len(fields), plural(len(fields), "field", "fields"), c.fields)
		return rw, nil
	}
	rw.token, rw.err = tokenOf(func(name string) (string, error) {
		if i, ok := c.index[name]; ok {
			return fields[i], nil
		}
		return "", nil
	})
	return rw, nil
}

func (c *csvRows) offset() int64 { return c.at }

// tokenOf builds a token from its fields' values, as written: white space
// around the identifiers goes, the token's is left for check to judge.
func tokenOf(value func(field string) (string, error)) (yespo.Token, error) {
	var t yespo.Token
	var v [5]string
	for i, f := range fields {
		var err error
		if v[i], err = value(f); err != nil {
			return t, err
		}
		if i > 0 {
			v[i] = strings.TrimSpace(v[i])
		}
	}
	t = yespo.Token{Token: v[0], ExternalCustomerID: v[2], Phone: v[3], Email: v[4]}
	if v[1] != "" {
		id, err := strconv.ParseInt(v[1], 10, 64)
		if err != nil {
			return t, fmt.Errorf("contactId %q is not a whole number", v[1])
		}
		t.ContactID = id
	}
	return t, nil
}

// jsonRows reads one JSON object per line; blank lines are skipped.
type jsonRows struct {
	r      *bufio.Reader
	cols   columns
	lineAt int64 // where the next line starts
	at     int64 // where the next row starts
	line   int64 // of the next line
}

func newJSONRows(f *os.File, cols columns, offset int64) (*jsonRows, error) {
	line, err := seekLine(f, offset)
	if err != nil {
		return nil, err
	}
	return &jsonRows{r: bufio.NewReaderSize(f, maxRecord), cols: cols, lineAt: offset, at: offset, line: line}, nil
}

func (j *jsonRows) next() (row, error) {
	for {
		text, err := j.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return j.tooLong(text)
		}
		if len(text) == 0 && err != nil {
			return row{}, err // io.EOF included
		}
		j.lineAt += int64(len(text))
		j.line++
		text = bytes.TrimSpace(text)
		if len(text) == 0 {
			if err != nil {
				return row{}, err
			}
			continue
		}
		rw := row{place: place{line: j.line - 1, start: j.at, end: j.lineAt}, raw: string(text)}
		j.at = j.lineAt
		rw.token, rw.tokenNumber, rw.err = j.decode(text)
		return rw, nil
	}
}

func (j *jsonRows) offset() int64 { return j.at }

// tooLong skips a line longer than maxRecord, which starts with head: a
// rejected row, not the end of the import.
func (j *jsonRows) tooLong(head []byte) (row, error) {
	rw := row{place: place{line: j.line, start: j.at}, raw: strings.ToValidUTF8(string(head[:256]), "") + "…"}
	rw.err = fmt.Errorf("the line is longer than %d bytes", maxRecord)
	text, err := head, bufio.ErrBufferFull
	for err == bufio.ErrBufferFull {
		j.lineAt += int64(len(text))
		text, err = j.r.ReadSlice('\n')
	}
	j.lineAt += int64(len(text))
	j.line++
	if err != nil && err != io.EOF {
		return row{}, err
	}
	rw.end, j.at = j.lineAt, j.lineAt
	return rw, nil
}

// decode reads one object; a string or a number is a value, null none.
// number says whether the token was a number.
func (j *jsonRows) decode(text []byte) (t yespo.Token, number bool, err error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(text, &obj); err != nil {
		return t, false, fmt.Errorf("not a JSON object: %w", err)
	}
	byField := map[string]string{}
	for key := range obj {
		f := j.cols.field(key)
		if f == "" {
			continue
		}
		if prev, dup := byField[f]; dup {
			return t, false, fmt.Errorf("two keys for %s: %q and %q", f, min(prev, key), max(prev, key))
		}
		byField[f] = key
	}
	t, err = tokenOf(func(f string) (string, error) {
		raw, ok := obj[byField[f]]
		if !ok || string(raw) == "null" {
			return "", nil
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s, nil
		}
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			number = number || f == "token"
			return n.String(), nil
		}
		return "", fmt.Errorf("%s: want a string or a number, not %s", byField[f], raw)
	})
	return t, number, err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
