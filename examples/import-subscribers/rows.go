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

// row is one record of the input.
type row struct {
	seq   int64 // 1 for the first data row
	end   int64 // byte offset just past it: where a resume starts
	token yespo.Token
	err   error  // why the row is not a token, if it is not
	raw   string // the record as text, for the rejects file
}

// rowReader streams rows from a CSV file with a header, or from JSON lines.
type rowReader interface {
	next() (row, error) // io.EOF at the end
}

var columns = []string{"token", "contactId", "externalCustomerId", "phone", "email"}

// openRows opens path at offset (0, or a checkpoint's) for the format
// ("csv" or "jsonl"); seq numbers continue from firstSeq. sep is the CSV
// field separator.
func openRows(path, format string, sep rune, offset, firstSeq int64) (rowReader, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	switch format {
	case "csv":
		r, err := newCSVRows(f, sep, offset, firstSeq)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		return r, f, nil
	case "jsonl":
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, nil, err
		}
		return &jsonRows{r: bufio.NewReaderSize(f, maxLine), offset: offset, seq: firstSeq - 1}, f, nil
	}
	f.Close()
	return nil, nil, fmt.Errorf("unknown format %q (want csv or jsonl)", format)
}

// csvRows reads CSV. The header maps columns by name, in any order and case;
// unknown columns are ignored.
type csvRows struct {
	r      *csv.Reader
	base   int64 // file offset where r started
	index  map[string]int
	fields int // in the header: every row must have as many
	seq    int64
}

func newCSVRows(f *os.File, sep rune, offset, firstSeq int64) (*csvRows, error) {
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
	index := map[string]int{}
	for i, name := range header {
		for _, c := range columns {
			if strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")), c) {
				index[c] = i
			}
		}
	}
	if _, ok := index["token"]; !ok {
		return nil, noTokenColumn(header, sep)
	}
	start := max(offset, hr.InputOffset())
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return nil, err
	}
	r := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
	r.Comma = sep
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	return &csvRows{r: r, base: start, index: index, fields: len(header), seq: firstSeq - 1}, nil
}

// noTokenColumn says that the header lacks a "token" column, shows the
// header as read, and guesses why: another separator, or other names.
func noTokenColumn(header []string, sep rune) error {
	seen := strings.Join(header, string(sep))
	if len(seen) > 200 {
		seen = seen[:200] + "…"
	}
	msg := fmt.Sprintf(`the CSV header has no "token" column; it reads %q (%d %s, separated by %s)`,
		seen, len(header), plural(len(header), "field", "fields"), sepName(sep))
	for _, other := range []rune{';', '\t', '|', ','} {
		if other != sep && strings.ContainsRune(seen, other) {
			return fmt.Errorf("%s: the file looks separated by %s: run with -sep %s", msg, sepName(other), sepFlag(other))
		}
	}
	return fmt.Errorf("%s: name the columns token, contactId, externalCustomerId, phone, email (any order and case; other columns are ignored)", msg)
}

func sepName(r rune) string {
	if r == '\t' {
		return "tabs"
	}
	return fmt.Sprintf("%q", r)
}

func sepFlag(r rune) string {
	if r == '\t' {
		return "tab"
	}
	return "'" + string(r) + "'"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (c *csvRows) next() (row, error) {
	rec, err := c.r.Read()
	if err == io.EOF {
		return row{}, io.EOF
	}
	c.seq++
	rw := row{seq: c.seq, end: c.base + c.r.InputOffset()}
	if err != nil {
		var pe *csv.ParseError
		if !errors.As(err, &pe) {
			return row{}, err
		}
		// Without csv's line and column: they count from where this reader
		// started, which after a resume is not the file's start. The rejects
		// file gives the row number.
		rw.err, rw.raw = fmt.Errorf("malformed CSV: %w", pe.Err), strings.Join(rec, ",")
		return rw, nil
	}
	rw.raw = strings.Join(rec, ",")
	if len(rec) != c.fields {
		rw.err = fmt.Errorf("%d %s, the header has %d", len(rec), plural(len(rec), "field", "fields"), c.fields)
		return rw, nil
	}
	field := func(name string) string {
		if i, ok := c.index[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	rw.token = yespo.Token{Token: field("token"), ExternalCustomerID: field("externalCustomerId"), Phone: field("phone"), Email: field("email")}
	if id := field("contactId"); id != "" {
		rw.token.ContactID, rw.err = parseContactID(id)
	}
	return rw, nil
}

// jsonRows reads one JSON object per line; blank lines are skipped.
type jsonRows struct {
	r      *bufio.Reader
	offset int64
	seq    int64
}

const maxLine = 1 << 20

func (j *jsonRows) next() (row, error) {
	for {
		line, err := j.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return row{}, fmt.Errorf("a line longer than %d bytes at offset %d", maxLine, j.offset)
		}
		if len(line) == 0 && err != nil {
			return row{}, err // io.EOF included
		}
		j.offset += int64(len(line))
		text := bytes.TrimSpace(line)
		if len(text) == 0 {
			if err != nil {
				return row{}, err
			}
			continue
		}
		j.seq++
		rw := row{seq: j.seq, end: j.offset, raw: string(text)}
		var v struct {
			Token, ExternalCustomerID, Phone, Email string
			ContactID                               json.RawMessage
		}
		if e := json.Unmarshal(text, &v); e != nil {
			rw.err = fmt.Errorf("not a JSON object: %w", e)
			return rw, nil
		}
		rw.token = yespo.Token{Token: v.Token, ExternalCustomerID: v.ExternalCustomerID, Phone: v.Phone, Email: v.Email}
		if id := strings.Trim(string(v.ContactID), `"`); id != "" && id != "null" {
			rw.token.ContactID, rw.err = parseContactID(id)
		}
		return rw, nil
	}
}

func parseContactID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("contactId %q is not a whole number", s)
	}
	return id, nil
}
