package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/yespotest"
)

// The tests in this file run the built binary on files as real exports
// break them.

// storedTokens is every token srv holds for app.
func storedTokens(srv *yespotest.Server) map[string]bool {
	stored := map[string]bool{}
	for _, c := range srv.Contacts() {
		for _, ct := range c.Tokens {
			stored[ct.Token] = true
		}
	}
	return stored
}

// An unclosed quote on line 12 of a 1,000-row CSV rejects line 12 alone:
// the other 999 rows are sent, whether no later quote follows (the quote
// runs to the end of the file) or a later quoted field pairs with it. A
// field that spans lines legitimately still does.
func TestBinaryUnclosedQuoteRejectsItsLineAlone(t *testing.T) {
	for _, laterQuote := range []bool{false, true} {
		t.Run(fmt.Sprintf("laterQuote=%v", laterQuote), func(t *testing.T) {
			srv := yespotest.NewServer()
			t.Cleanup(srv.Close)
			app := srv.NewApp()
			var b strings.Builder
			b.WriteString("token,externalCustomerId,note\n")
			for i := 1; i <= 1000; i++ {
				switch {
				case i == 11: // line 12
					fmt.Fprintf(&b, "%d,crm-%d,\"unclosed note\n", i, i)
				case i == 500 && laterQuote: // line 501
					fmt.Fprintf(&b, "%d,crm-%d,\"quoted, properly\"\n", i, i)
				case i == 700: // lines 701-702
					fmt.Fprintf(&b, "%d,crm-%d,\"two\nlines\"\n", i, i)
				default:
					fmt.Fprintf(&b, "%d,crm-%d,\n", i, i)
				}
			}
			path := writeFile(t, "subs.csv", b.String())
			code, stdout, stderr := runBinary(t, environ(serverEnv(srv, app)...), "-batch", "100", path)
			require.Equal(t, exitRejects, code, stdout+stderr)
			assert.Contains(t, stdout, "999 rows sent, 0 failed, 1 rejected.")
			stored := storedTokens(srv)
			assert.Len(t, stored, 999)
			for i := 1; i <= 1000; i++ {
				assert.Equal(t, i != 11, stored[strconv.Itoa(i)], "row %d", i)
			}
			rejects := readCSV(t, path+".rejects.csv")
			require.Len(t, rejects, 2, "one rejected row")
			assert.Equal(t, "12", rejects[1][0], "the header is line 1")
			assert.Contains(t, rejects[1][1], "unclosed quote")
			assert.Equal(t, `11,crm-11,"unclosed note`, rejects[1][2])
			assert.NoFileExists(t, path+".checkpoint")
		})
	}
}

// Resumed after a Ctrl-C, a file with broken quotes still counts every
// record once over both runs.
func TestBinaryUnclosedQuotesAcrossAResume(t *testing.T) {
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	var b strings.Builder
	b.WriteString("token,externalCustomerId\n")
	broken := map[int]bool{}
	for i := 1; i <= 3000; i++ {
		if i%250 == 0 {
			fmt.Fprintf(&b, "%d,\"crm-%d\n", i, i)
			broken[i] = true
			continue
		}
		fmt.Fprintf(&b, "%d,crm-%d\n", i, i)
	}
	path := writeFile(t, "subs.csv", b.String())
	env := environ(serverEnv(srv, app)...)
	args := []string{"-batch", "50", "-rps", "20", "-progress-every", "10ms", path}
	p := start(t, env, args...)
	p.waitLine(`^progress: \d+%: ([5-9]\d\d|\d{4,}) sent`)
	require.NoError(t, p.cmd.Process.Signal(os.Interrupt))
	require.Equal(t, exitInterrupted, p.wait(), p.output())

	code, stdout, stderr := runBinary(t, env, args...)
	require.Equal(t, exitRejects, code, stdout+stderr)
	assert.Contains(t, stdout, fmt.Sprintf("%d rows sent, 0 failed, %d rejected. (The whole file, over several runs;", 3000-len(broken), len(broken)))
	stored := storedTokens(srv)
	assert.Len(t, stored, 3000-len(broken))
	rejects := readCSV(t, path+".rejects.csv")[1:]
	require.Len(t, rejects, len(broken))
	for _, rec := range rejects {
		line, err := strconv.Atoi(rec[0])
		require.NoError(t, err)
		assert.True(t, broken[line-1], "line %d", line)
		assert.Contains(t, rec[1], "unclosed quote")
	}
}

// A token must be a Telegram chat id: other rows are rejected, each with
// its reason, exit 2; -any-token sends them.
func TestBinaryTokensMustBeChatIDs(t *testing.T) {
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	env := environ(serverEnv(srv, app)...)
	valid := []string{"1001", "-1001234567890", "0", "4503599627370495", "-4503599627370495"}
	invalid := []struct{ token, why string }{
		{"alice@example.com", "is not a whole number"},
		{"not-a-number", "is not a whole number"},
		{"+123", `starts with "+"`},
		{"0123", "has a leading zero"},
		{"-0123", "has a leading zero"},
		{" 123", "has white space"},
		{"12 34", "has white space"},
		{"-0", "is a negative zero"},
		{"-", "is not a whole number"},
		{"1.5", "is not a whole number"},
		{"1e5", "is not a whole number"},
		{"4503599627370496", "is out of range"},
		{"-4503599627370496", "is out of range"},
		{"99999999999999999999999", "is out of range"},
		{"１２３", "is not a whole number"}, // fullwidth digits
	}
	var b strings.Builder
	b.WriteString("token,email\n")
	for _, tok := range valid {
		fmt.Fprintf(&b, "%s,user%s@example.com\n", tok, tok)
	}
	for _, c := range invalid {
		fmt.Fprintf(&b, "%s,someone@example.com\n", c.token)
	}
	path := writeFile(t, "subs.csv", b.String())
	code, stdout, stderr := runBinary(t, env, path)
	require.Equal(t, exitRejects, code, stdout+stderr)
	assert.Contains(t, stdout, fmt.Sprintf("%d rows sent, 0 failed, %d rejected.", len(valid), len(invalid)))
	stored := storedTokens(srv)
	assert.Len(t, stored, len(valid))
	for _, tok := range valid {
		assert.True(t, stored[tok], tok)
	}
	rejects := readCSV(t, path+".rejects.csv")[1:]
	require.Len(t, rejects, len(invalid))
	for i, c := range invalid {
		assert.Equal(t, strconv.Itoa(len(valid)+i+2), rejects[i][0], c.token)
		assert.Contains(t, rejects[i][1], fmt.Sprintf("token %q is not a Telegram chat id: it %s", c.token, c.why))
		assert.Contains(t, rejects[i][1], "-any-token")
	}

	// Another app type's tokens, with -any-token: all go, but "12 34",
	// which no token may be (white space).
	other := yespotest.NewServer()
	t.Cleanup(other.Close)
	otherApp := other.NewApp()
	code, stdout, stderr = runBinary(t, environ(serverEnv(other, otherApp)...), "-any-token", path)
	require.Equal(t, exitRejects, code, stdout+stderr)
	assert.Contains(t, stdout, fmt.Sprintf("%d rows sent, 0 failed, 1 rejected.", len(valid)+len(invalid)-1))
	stored = storedTokens(other)
	assert.True(t, stored["alice@example.com"])
	assert.True(t, stored["123"], "white space around a token is trimmed, as before")
	rejects = readCSV(t, path+".rejects.csv")[1:]
	require.Len(t, rejects, 1)
	assert.Equal(t, "12 34", strings.SplitN(rejects[0][2], ",", 2)[0])
}

// In JSON lines a chat id is a number written in full (1001 or 1001.0) or
// a string that reads as one in CSV.
func TestBinaryJSONLChatIDs(t *testing.T) {
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	lines := []struct{ token, want, why string }{
		{`1001`, "1001", ""},
		{`-1001234567890`, "-1001234567890", ""},
		{`1002.0`, "1002", ""},
		{`"1003"`, "1003", ""},
		{`4503599627370495`, "4503599627370495", ""},
		{`1e5`, "", "token 1e5 is not a Telegram chat id: it is written with an exponent"},
		{`1E5`, "", "token 1E5 is not a Telegram chat id: it is written with an exponent"},
		{`1004.5`, "", "token 1004.5 is not a Telegram chat id: it is not a whole number"},
		{`-0`, "", "token -0 is not a Telegram chat id: it is a negative zero"},
		{`4503599627370496`, "", "token 4503599627370496 is not a Telegram chat id: it is out of range"},
		{`"0123"`, "", `token "0123" is not a Telegram chat id: it has a leading zero`},
		{`"+123"`, "", `token "+123" is not a Telegram chat id: it starts with "+"`},
		{`"alice@example.com"`, "", `token "alice@example.com" is not a Telegram chat id: it is not a whole number`},
		{`" 1005"`, "", `token " 1005" is not a Telegram chat id: it has white space`},
	}
	var b strings.Builder
	sent := 0
	for i, l := range lines {
		fmt.Fprintf(&b, `{"token":%s,"externalCustomerId":"crm-%d"}`+"\n", l.token, i)
		if l.why == "" {
			sent++
		}
	}
	path := writeFile(t, "subs.jsonl", b.String())
	code, stdout, stderr := runBinary(t, environ(serverEnv(srv, app)...), path)
	require.Equal(t, exitRejects, code, stdout+stderr)
	assert.Contains(t, stdout, fmt.Sprintf("%d rows sent, 0 failed, %d rejected.", sent, len(lines)-sent))
	stored := storedTokens(srv)
	assert.Len(t, stored, sent)
	rejects := readCSV(t, path+".rejects.csv")[1:]
	require.Len(t, rejects, len(lines)-sent)
	r := 0
	for i, l := range lines {
		if l.why == "" {
			assert.True(t, stored[l.want], l.token)
			continue
		}
		assert.Equal(t, strconv.Itoa(i+1), rejects[r][0], l.token)
		assert.Contains(t, rejects[r][1], l.why)
		r++
	}
}

// -fake keeps FILE.fake.checkpoint: Ctrl-C and the same command resumes;
// a real run meanwhile neither reads it nor removes it; the rejects file
// is the same as a real run's.
func TestBinaryFakeRunResumes(t *testing.T) {
	const rows = 3000
	path, invalid := subscribers(t, rows)
	fakeCP := path + ".fake.checkpoint"
	args := []string{"-fake", "-batch", "50", "-rps", "20", "-progress-every", "10ms", path}

	p := start(t, environ(), args...)
	p.waitLine(`^progress: \d+%: ([5-9]\d\d|\d{4,}) sent`)
	require.NoError(t, p.cmd.Process.Signal(os.Interrupt))
	require.Equal(t, exitInterrupted, p.wait(), p.output())
	assert.Contains(t, p.stdout.String(), "Run the same command again to resume.")
	cp, ok := readCheckpoint(fakeCP)
	require.True(t, ok, "a checkpoint named for the fake")
	assert.Equal(t, fakeBaseURL, cp.Target.BaseURL)
	doneBefore := cp.Done
	assert.NoFileExists(t, path+".checkpoint", "the real import's checkpoint is not the fake's")
	assert.FileExists(t, path+".rejects.csv")

	// A real run starts from the first row: the fake's checkpoint is not
	// its own.
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	code, stdout, stderr := runBinary(t, environ(serverEnv(srv, app)...), "-batch", "500", path)
	require.Equal(t, exitRejects, code, stdout+stderr)
	assert.NotContains(t, stderr, "resuming")
	assertImported(t, path, rows, srv, invalid)
	assert.Contains(t, stdout, fmt.Sprintf("%d rows sent, 0 failed, %d rejected.\n", rows-len(invalid), len(invalid)))
	realRejects, err := os.ReadFile(path + ".rejects.csv")
	require.NoError(t, err)
	assert.FileExists(t, fakeCP, "a real run leaves the fake's checkpoint alone")

	// The trial resumes where it stopped, and reports on the whole file.
	code, stdout, stderr = runBinary(t, environ(), args...)
	require.Equal(t, exitRejects, code, stdout+stderr)
	assert.Contains(t, stderr, "resuming "+path+" ("+fakeCP+"): "+doneBefore.String()+" so far")
	assert.Contains(t, stdout, fmt.Sprintf("%d rows sent, 0 failed, %d rejected. (The whole file, over several runs; this run: %d rows sent,",
		rows-len(invalid), len(invalid), int64(rows-len(invalid))-doneBefore.Sent))
	assert.Contains(t, stdout, "nothing was sent to Yespo")
	assert.NoFileExists(t, fakeCP, "the run that finishes the file removes its checkpoint")
	fakeRejects, err := os.ReadFile(path + ".rejects.csv")
	require.NoError(t, err)
	// The same lines; a resume may write them in another order.
	assert.ElementsMatch(t, strings.Split(string(realRejects), "\n"), strings.Split(string(fakeRejects), "\n"), "the rejects file, as in a real run")

	// An unfinished real import still keeps a trial off its files.
	require.NoError(t, os.WriteFile(path+".checkpoint", []byte(`{}`), 0o644))
	code, stdout, stderr = runBinary(t, environ(), args...)
	assert.Equal(t, exitError, code, stdout+stderr)
	assert.Contains(t, stderr, "unfinished")
	assert.NoFileExists(t, fakeCP)
}

// No credentials of a base URL in any output — stdout, stderr, the
// rejects file, the checkpoint — whatever shape the URL has, through the
// environment or the flag, in a real run, a dry run or a trial.
func TestBinaryBaseURLCredentialsNeverShown(t *testing.T) {
	const user, pass = "sentinel-user-5b1f", "sentinel-pass-93ad"
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	host := strings.TrimSuffix(strings.TrimPrefix(srv.URL, "http://"), "/api/")
	urls := []string{
		"http://" + user + ":" + pass + "@" + host + "/api/",
		"http://" + user + "@" + host + "/api/",
		"http://" + user + ":" + pass + "@" + host + "/api/%zz",   // unparsable: a parser's error quotes it
		"http://" + user + ":" + pass + "@ho st/api/",             // a space in the host
		"http://" + user + ":pa/" + pass + "@" + host + "/api/",   // a '/' in the password
		"http://" + user + ":pa#" + pass + "@" + host + "/api/",   // a '#' in the password
		"http://" + user + ":" + pass + "@" + host + "/api/?x=1",  // a query
		user + ":" + pass + "@" + host + "/api/",                  // no scheme
		"http://" + user + ":" + pass + "@127.0.0.1:1/api/",       // nothing listens
		"http://" + user + ":" + pass + "@" + host + "/api/v1/@x", // an '@' in the path too
	}
	path := writeFile(t, "subs.csv", "token,email\n1,a@example.com\nnot-a-chat-id,b@example.com\n")
	outputs := func() string {
		var all strings.Builder
		matches, _ := filepath.Glob(path + ".*")
		for _, m := range matches {
			b, _ := os.ReadFile(m)
			all.Write(b)
		}
		return all.String()
	}
	for i, u := range urls {
		for _, via := range []string{"env", "flag"} {
			env := []string{"YESPO_API_KEY=" + srv.APIKey, "YESPO_APP_UUID=" + app}
			args := []string{path}
			if via == "env" {
				env = append(env, "YESPO_BASE_URL="+u)
			} else {
				args = append([]string{"-base-url", u}, args...)
			}
			modes := [][]string{nil}
			if i < 3 { // where the base URL is not used: a few shapes are enough
				modes = append(modes, []string{"-dry-run"}, []string{"-fake"})
			}
			for _, mode := range modes {
				code, stdout, stderr := runBinary(t, environ(env...), append(mode, args...)...)
				all := stdout + stderr + outputs()
				for _, secret := range []string{user, pass} {
					assert.NotContains(t, all, secret, "%s via %s %v", u, via, mode)
				}
				if mode == nil {
					assert.Equal(t, exitError, code, "%s via %s: refused", u, via)
					assert.Contains(t, stderr, "has credentials (user:password@) or an '@'")
					assert.Empty(t, srv.Requests(), "nothing sent")
				} else {
					assert.Equal(t, exitRejects, code, "%s via %s %v: the base URL is not used", u, via, mode)
				}
			}
		}
	}
	// The start line shows a base URL without credentials, as given.
	code, _, stderr := runBinary(t, environ(serverEnv(srv, app)...), path)
	assert.Equal(t, exitRejects, code, stderr)
	assert.Contains(t, stderr, "on Yespo at "+srv.URL+":")
}

// -h says what a chat id is, what -any-token does, what becomes of a
// broken line, and where a trial run keeps its checkpoint.
func TestBinaryHelpDocumentsTokensQuotesAndTheFakeCheckpoint(t *testing.T) {
	code, stdout, stderr := runBinary(t, environ(), "-h")
	require.Equal(t, exitOK, code)
	assert.Empty(t, stdout)
	for _, want := range []string{
		"-any-token",
		`A token must be a Telegram chat id: an optional "-", then digits; no "+",`,
		"under 2^52",
		"written without an\nexponent",
		"is rejected alone",
		"FILE.fake.checkpoint",
		"one with credentials, user:password@,\nis refused, and not shown",
		"2 some rows rejected (a token that is not a\nchat id included)",
	} {
		assert.Contains(t, stderr, want)
	}
}

// A line over 1 MiB, CSV or JSON, is a rejected row: the rows around it
// are sent.
func TestBinaryOverlongLineIsARejectedRow(t *testing.T) {
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	env := environ(serverEnv(srv, app)...)
	huge := strings.Repeat("é", maxRecord/2+1)
	for _, c := range []struct{ name, content string }{
		{"subs.csv", "token,externalCustomerId\n1,crm-1\n2," + huge + "\n3,crm-3\n"},
		{"subs.jsonl", `{"token":1,"externalCustomerId":"crm-1"}` + "\n" + `{"token":2,"externalCustomerId":"` + huge + `"}` + "\n" + `{"token":3,"externalCustomerId":"crm-3"}`},
	} {
		path := writeFile(t, c.name, c.content)
		code, stdout, stderr := runBinary(t, env, path)
		require.Equal(t, exitRejects, code, stdout+stderr)
		assert.Contains(t, stdout, "2 rows sent, 0 failed, 1 rejected.", c.name)
		rejects := readCSV(t, path+".rejects.csv")
		require.Len(t, rejects, 2, c.name)
		assert.Equal(t, map[bool]string{true: "3", false: "2"}[strings.HasSuffix(c.name, ".csv")], rejects[1][0], c.name)
		assert.Contains(t, rejects[1][1], "longer than 1048576 bytes")
		assert.Less(t, len(rejects[1][2]), 300, "the record is cut")
	}
	stored := storedTokens(srv)
	assert.Equal(t, map[string]bool{"1": true, "3": true}, stored)
}
