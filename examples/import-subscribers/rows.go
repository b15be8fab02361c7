package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
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
	err   error  // why the row is not a token, if it is not
	raw   string // the record as text, for the rejects file
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
	r        *csv.Reader
	base     int64 // file offset where r started
	baseLine int64 // the file's line there
	at       int64 // where the next row starts
	index    map[string]int
	fields   int // in the header: every row must have as many
}

func newCSVRows(f *os.File, sep rune, cols columns, offset int64) (*csvRows, error) {
	hr := csv.NewReader(f)
	hr.Comma = sep
	hr.FieldsPerRecord = -1
	header, err := hr.Read()
	if err == io.EOF {
		return nil, errors.New("the file is empty: a CSV file starts with a header line naming its columns (token, contactId, externalCustomerId, phone, email)")
	}
	if err != nil {
		return nil, fmt.Errorf("reading the CSV header: %w", err)
	}
	index, err := cols.index(header)
	if err != nil {
		return nil, err
	}
	if err := checkHeader(header, index, sep); err != nil {
		return nil, err
	}
	start := max(offset, hr.InputOffset())
	line, err := seekLine(f, start)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
	r.Comma = sep
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	return &csvRows{r: r, base: start, baseLine: line, at: start, index: index, fields: len(header)}, nil
}

func (c *csvRows) next() (row, error) {
	rec, err := c.r.Read()
	if err == io.EOF {
		return row{}, io.EOF
	}
	rw := row{place: place{start: c.at, end: c.base + c.r.InputOffset()}}
	c.at = rw.end
	if err != nil {
		var pe *csv.ParseError
		if !errors.As(err, &pe) {
			return row{}, err
		}
		// Without csv's line and column: they count from where this reader
		// started, which after a resume is not the file's start.
		rw.line = c.baseLine + int64(pe.StartLine) - 1
		rw.err, rw.raw = fmt.Errorf("malformed CSV: %w", pe.Err), strings.Join(rec, ",")
		return rw, nil
	}
	l, _ := c.r.FieldPos(0)
	rw.line = c.baseLine + int64(l) - 1
	rw.raw = strings.Join(rec, ",")
	if len(rec) != c.fields {
		rw.err = fmt.Errorf("%d %s, the header has %d", len(rec), plural(len(rec), "field", "fields"), c.fields)
		return rw, nil
	}
	rw.token, rw.err = tokenOf(func(name string) (string, error) {
		if i, ok := c.index[name]; ok {
			return strings.TrimSpace(rec[i]), nil
		}
		return "", nil
	})
	return rw, nil
}

func (c *csvRows) offset() int64 { return c.at }

// tokenOf builds a token from its fields' values.
func tokenOf(value func(field string) (string, error)) (yespo.Token, error) {
	var t yespo.Token
	var v [5]string
	for i, f := range fields {
		var err error
		if v[i], err = value(f); err != nil {
			return t, err
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

const maxLine = 1 << 20

func newJSONRows(f *os.File, cols columns, offset int64) (*jsonRows, error) {
	line, err := seekLine(f, offset)
	if err != nil {
		return nil, err
	}
	return &jsonRows{r: bufio.NewReaderSize(f, maxLine), cols: cols, lineAt: offset, at: offset, line: line}, nil
}

func (j *jsonRows) next() (row, error) {
	for {
		text, err := j.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return row{}, fmt.Errorf("line %d is longer than %d bytes", j.line, maxLine)
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
		rw.token, rw.err = j.decode(text)
		return rw, nil
	}
}

func (j *jsonRows) offset() int64 { return j.at }

// decode reads one object; a string or a number is a value, null none.
func (j *jsonRows) decode(text []byte) (yespo.Token, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(text, &obj); err != nil {
		return yespo.Token{}, fmt.Errorf("not a JSON object: %w", err)
	}
	byField := map[string]string{}
	for key := range obj {
		f := j.cols.field(key)
		if f == "" {
			continue
		}
		if prev, dup := byField[f]; dup {
			return yespo.Token{}, fmt.Errorf("two keys for %s: %q and %q", f, min(prev, key), max(prev, key))
		}
		byField[f] = key
	}
	return tokenOf(func(f string) (string, error) {
		raw, ok := obj[byField[f]]
		if !ok || string(raw) == "null" {
			return "", nil
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return strings.TrimSpace(s), nil
		}
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			return n.String(), nil
		}
		return "", fmt.Errorf("%s: want a string or a number, not %s", byField[f], raw)
	})
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
