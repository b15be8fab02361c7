package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// fields are the names the tool reads a token from, as Yespo names them.
var fields = []string{"token", "contactId", "externalCustomerId", "phone", "email"}

// columns maps the names of an input's columns (CSV) or keys (JSON lines)
// to fields: each field by its own name, in any case, unless -columns gives
// it another.
type columns struct {
	rename map[string]string // lower-case column name → field
	from   map[string]string // field → the column -columns names for it
}

// parseColumns reads -columns: "chat_id=token,customer id=externalCustomerId".
func parseColumns(spec string) (columns, error) {
	c := columns{rename: map[string]string{}, from: map[string]string{}}
	if strings.TrimSpace(spec) == "" {
		return c, nil
	}
	for pair := range strings.SplitSeq(spec, ",") {
		i := strings.LastIndex(pair, "=")
		if i < 0 {
			return c, fmt.Errorf(`-columns: %q is not NAME=FIELD (e.g. "chat_id=token")`, pair)
		}
		name, field := strings.TrimSpace(pair[:i]), canonicalField(pair[i+1:])
		switch {
		case name == "":
			return c, fmt.Errorf("-columns: %q names no column", pair)
		case field == "":
			return c, fmt.Errorf("-columns: %q: the field must be one of %s", pair, strings.Join(fields, ", "))
		case c.from[field] != "":
			return c, fmt.Errorf("-columns: two columns for %s: %q and %q", field, c.from[field], name)
		case c.rename[strings.ToLower(name)] != "":
			return c, fmt.Errorf("-columns: column %q given twice", name)
		}
		c.rename[strings.ToLower(name)] = field
		c.from[field] = name
	}
	return c, nil
}

// canonicalField returns the field named s, in any case, or "".
func canonicalField(s string) string {
	s = strings.TrimSpace(s)
	for _, f := range fields {
		if strings.EqualFold(s, f) {
			return f
		}
	}
	return ""
}

// field returns the field a column (or key) of this name carries, or "".
func (c columns) field(name string) string {
	name = strings.TrimSpace(strings.TrimPrefix(name, "\ufeff"))
	if f, ok := c.rename[strings.ToLower(name)]; ok {
		return f
	}
	if f := canonicalField(name); f != "" && c.from[f] == "" {
		return f
	}
	return ""
}

// index maps each field to its column in a CSV header. It refuses a header
// where two columns give one field, or without a column -columns names.
func (c columns) index(header []string) (map[string]int, error) {
	index := map[string]int{}
	for i, name := range header {
		f := c.field(name)
		if f == "" {
			continue
		}
		if j, dup := index[f]; dup {
			return nil, fmt.Errorf("the CSV header has two columns for %s: %q and %q", f, header[j], name)
		}
		index[f] = i
	}
	for f, name := range c.from {
		if _, ok := index[f]; ok {
			continue
		}
		// The file already names the field as Yespo does — a failed.csv
		// of an import run with -columns — so the mapping is not needed.
		i := slices.IndexFunc(header, func(h string) bool { return canonicalField(strings.TrimPrefix(h, "\ufeff")) == f })
		if i < 0 {
			return nil, fmt.Errorf("-columns maps %q to %s, but the CSV header has no column %q (nor %q)", name, f, name, f)
		}
		index[f] = i
	}
	return index, nil
}

// likely guesses, from a column's name, which field an operator's export
// keeps in it ("chat_id", "customer id", "Mobile"), for the hint that
// suggests -columns.
var likely = []struct {
	field string
	re    *regexp.Regexp // on the name, lower case, without spaces, "_" or "-"
}{
	{"token", regexp.MustCompile(`^(chatid|chat|telegram(chat|user)?id|tg(chat|user)?id|telegram|userid|subscriberid)$`)},
	{"contactId", regexp.MustCompile(`^(yespo)?contactid$`)},
	{"externalCustomerId", regexp.MustCompile(`^((external|ext|crm|client)(customer)?|customer)(id|number|no)?$`)},
	{"phone", regexp.MustCompile(`^(phone|mobile|tel|telephone|msisdn|cell)(number|no)?$`)},
	{"email", regexp.MustCompile(`^(e?mail)(address)?$`)},
}

// suggest returns a -columns value for the columns of header that look like
// fields under other names, "" when none does.
func suggest(header []string) string {
	var pairs []string
	taken := map[string]bool{}
	for _, name := range header {
		name = strings.TrimSpace(strings.TrimPrefix(name, "\ufeff"))
		if f := canonicalField(name); f != "" {
			taken[f] = true
		}
	}
	squash := strings.NewReplacer(" ", "", "_", "", "-", "", ".", "")
	for _, name := range header {
		name = strings.TrimSpace(strings.TrimPrefix(name, "\ufeff"))
		key := squash.Replace(strings.ToLower(name))
		for _, l := range likely {
			if !taken[l.field] && canonicalField(name) == "" && l.re.MatchString(key) {
				taken[l.field] = true
				pairs = append(pairs, name+"="+l.field)
				break
			}
		}
	}
	return strings.Join(pairs, ",")
}
