package main

import (
	"fmt"
	"strings"
)

// checkHeader refuses a CSV header that would reject every row — no token
// column, or no identifier column — and says how to fix it: another
// separator (-sep), or the export's own names mapped with -columns.
func checkHeader(header []string, index map[string]int, sep rune) error {
	_, hasToken := index["token"]
	hasID := false
	for _, f := range fields[1:] {
		_, ok := index[f]
		hasID = hasID || ok
	}
	if hasToken && hasID {
		return nil
	}
	seen := strings.Join(header, string(sep))
	if len(seen) > 200 {
		seen = seen[:200] + "…"
	}
	what := `no "token" column`
	if hasToken {
		what = "no identifier column (contactId, externalCustomerId, phone or email)"
	}
	msg := fmt.Sprintf(`the CSV header has %s; it reads %q (%d %s, separated by %s)`,
		what, seen, len(header), plural(len(header), "field", "fields"), sepName(sep))
	for _, other := range []rune{';', '\t', '|', ','} {
		if other != sep && strings.ContainsRune(seen, other) {
			return fmt.Errorf("%s: the file looks separated by %s: run with -sep %s", msg, sepName(other), sepFlag(other))
		}
	}
	if s := suggest(header); s != "" && (hasToken || strings.Contains(s, "=token")) && (hasID || strings.Count(s, "=") > strings.Count(s, "=token")) {
		return fmt.Errorf("%s: if its columns hold these fields, run with -columns %q", msg, s)
	}
	return fmt.Errorf(`%s: name the columns token, contactId, externalCustomerId, phone, email (any order and case; other columns are ignored), or map yours with -columns "chat_id=token,customer id=externalCustomerId"`, msg)
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
