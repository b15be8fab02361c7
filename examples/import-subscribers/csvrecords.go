package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxRecord bounds a CSV record (and a JSON line): the reader's buffer.
const maxRecord = 1 << 20

// errUnclosed is the reason for a line whose quote nothing closes.
var errUnclosed = errors.New("unclosed quote: a quoted field opens on this line and is not closed properly, on it or on a later line")

// csvReader cuts CSV into records as encoding/csv reads them — quotes as
// in RFC 4180, "\r\n" read as "\n", empty lines skipped, a quote inside an
// unquoted field an error — with one difference: a malformed record is the
// line it starts on, alone. A quoted field may span lines, but one that
// no later line closes properly (the file ends first, a character other
// than the separator follows its closing quote, or the record outgrows
// maxRecord) does not swallow the lines after it, as it does in
// encoding/csv, which reads it to the end of the file: the line it opened
// on is rejected, and reading goes on with the next line.
type csvReader struct {
	r   *bufio.Reader // of size maxRecord: a record is read in place
	sep []byte
	// The buffered input from scanPos to scanned holds no '\n': a line
	// longer than one read is searched once.
	scanPos, scanned int
	buf              []byte
	ends             []int // where each field ends in buf
	fields           []string
}

// csvRecord is one record of the input.
type csvRecord struct {
	n      int64 // bytes of the input it takes, the blank lines before it included
	skip   int64 // line breaks before its first line (the blank lines)
	breaks int64 // line breaks in its n bytes
	fields []string
	line   string // its first line, for a malformed record
	err    error  // why it is malformed
}

func newCSVReader(r io.Reader, sep rune) *csvReader {
	return &csvReader{r: bufio.NewReaderSize(r, maxRecord), sep: []byte(string(sep))}
}

// read returns the next record, io.EOF after the last.
func (c *csvReader) read() (csvRecord, error) {
	var rec csvRecord
	for { // blank lines belong to the record after them
		end, long, err := c.lineEnd(0)
		switch {
		case err != nil:
			return rec, err
		case end == 0:
			return rec, io.EOF
		case long:
			return c.tooLong(rec)
		}
		w, _ := c.r.Peek(end)
		if len(content(w)) > 0 {
			break
		}
		rec.n += int64(end)
		rec.skip += int64(bytes.Count(w, []byte{'\n'}))
		c.discard(end)
	}
	c.buf, c.ends = c.buf[:0], c.ends[:0]
	end, err := c.parse()
	w, _ := c.r.Peek(end)
	if err != nil {
		rec.line = string(content(w))
		rec.err = err
	} else {
		s, from := string(c.buf), 0 // one allocation for every field
		c.fields = c.fields[:0]
		for _, to := range c.ends {
			c.fields = append(c.fields, s[from:to])
			from = to
		}
		rec.fields = c.fields
	}
	rec.n += int64(end)
	rec.breaks = rec.skip + int64(bytes.Count(w, []byte{'\n'}))
	c.discard(end)
	return rec, nil
}

// parse reads the fields of the record at the start of the buffered input
// into buf and ends, and returns where the record ends. On an error the
// record is its first line; an error on a later line is that line's
// unclosed quote.
func (c *csvReader) parse() (end int, err error) {
	firstEnd, _, _ := c.lineEnd(0) // found by read
	w, _ := c.r.Peek(firstEnd)
	line, end := content(w), firstEnd
	malformed := func(err error) (int, error) {
		if end != firstEnd {
			err = errUnclosed
		}
		return firstEnd, err
	}
field:
	for {
		if len(line) == 0 || line[0] != '"' {
			i := bytes.Index(line, c.sep)
			f := line
			if i >= 0 {
				f = line[:i]
			}
			if bytes.IndexByte(f, '"') >= 0 {
				return malformed(csv.ErrBareQuote)
			}
			c.buf = append(c.buf, f...)
			c.ends = append(c.ends, len(c.buf))
			if i < 0 {
				return end, nil
			}
			line = line[i+len(c.sep):]
			continue
		}
		line = line[1:]
		for {
			i := bytes.IndexByte(line, '"')
			if i < 0 { // the field goes on on the next line
				c.buf = append(append(c.buf, line...), '\n')
				next, long, err := c.lineEnd(end)
				if err != nil || next == end || long {
					return malformed(errUnclosed)
				}
				w, _ := c.r.Peek(next)
				line, end = content(w[end:]), next
				continue
			}
			c.buf = append(c.buf, line[:i]...)
			line = line[i+1:]
			switch {
			case len(line) > 0 && line[0] == '"':
				c.buf = append(c.buf, '"')
				line = line[1:]
			case bytes.HasPrefix(line, c.sep):
				c.ends = append(c.ends, len(c.buf))
				line = line[len(c.sep):]
				continue field
			case len(line) == 0:
				c.ends = append(c.ends, len(c.buf))
				return end, nil
			default:
				return malformed(csv.ErrQuote)
			}
		}
	}
}

// tooLong skips a first line longer than maxRecord: a malformed record.
func (c *csvReader) tooLong(rec csvRecord) (csvRecord, error) {
	w, _ := c.r.Peek(256)
	rec.line = strings.ToValidUTF8(string(w), "") + "…" // cut within a character, maybe
	rec.err = fmt.Errorf("the line is longer than %d bytes", maxRecord)
	for {
		chunk, err := c.r.ReadSlice('\n')
		rec.n += int64(len(chunk))
		c.scanPos, c.scanned = 0, 0
		if err == nil {
			rec.breaks = rec.skip + 1
			return rec, nil
		}
		if err != bufio.ErrBufferFull {
			rec.breaks = rec.skip
			if err == io.EOF {
				return rec, nil
			}
			return rec, err
		}
	}
}

// lineEnd returns where the line that starts at pos of the buffered input
// ends (after its '\n', or at the end of the input), reading as far as
// needed; long when it does not end within the buffer.
func (c *csvReader) lineEnd(pos int) (end int, long bool, err error) {
	eof := false
	for {
		w, _ := c.r.Peek(c.r.Buffered())
		from := pos
		if c.scanPos <= pos && pos < c.scanned {
			from = c.scanned
		}
		if i := bytes.IndexByte(w[from:], '\n'); i >= 0 {
			return from + i + 1, false, nil
		}
		c.scanPos, c.scanned = pos, len(w)
		switch {
		case len(w) == c.r.Size():
			return len(w), true, nil
		case eof:
			return len(w), false, nil
		}
		if _, err := c.r.Peek(len(w) + 1); err == io.EOF {
			eof = true // search what came with it, then stop
		} else if err != nil {
			return 0, false, err
		}
	}
}

func (c *csvReader) discard(n int) {
	_, _ = c.r.Discard(n)
	c.scanPos, c.scanned = max(0, c.scanPos-n), max(0, c.scanned-n)
}

// content is a line without its line break: "\n", "\r\n", or at the end of
// the input a lone "\r", as encoding/csv reads it.
func content(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	return bytes.TrimSuffix(line, []byte{'\r'})
}
