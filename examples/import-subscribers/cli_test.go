package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Flags after the file name count; a usage error is one line that points
// to -h, not the whole usage.
func TestFlagsAnywhereAndOneLineErrors(t *testing.T) {
	env := func(string) string { return "" }
	cfg, err := parseFlags([]string{"-fake", "subs.csv", "-rps", "50", "-batch=20"}, env, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "subs.csv", cfg.path)
	assert.Equal(t, 50.0, cfg.rps)
	assert.Equal(t, 20, cfg.batch)
	assert.True(t, cfg.rpsSet)

	cfg, err = parseFlags([]string{"-fake", "--", "-odd-name.csv"}, env, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "-odd-name.csv", cfg.path)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-fake", "subs.csv", "-nope"}, "flag provided but not defined: -nope"},
		{[]string{"-fake", "subs.csv", "-rps", "fast"}, `invalid value "fast" for flag -rps`},
		{[]string{"-fake", "a.csv", "b.csv"}, "give exactly one input file (got 2)"},
		{[]string{"-fake"}, "give exactly one input file (got 0)"},
		{[]string{"-fake", "-sep", "ab", "a.csv"}, `-sep "ab"`},
		{[]string{"-fake", "-columns", "chat_id", "a.csv"}, `-columns: "chat_id" is not NAME=FIELD`},
		{[]string{"-fake", "-columns", "chat_id=chat", "a.csv"}, `the field must be one of token, contactId`},
		{[]string{"-fake", "-columns", "a=token,b=Token", "a.csv"}, `two columns for token: "a" and "b"`},
		{[]string{"-fake", "-format", "xml", "a.csv"}, `-format "xml"`},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), c.args, env, &out, &errOut)
		assert.Equal(t, exitError, code, c.args)
		lines := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
		assert.Len(t, lines, 1, "one line for %v: %s", c.args, errOut.String())
		assert.Contains(t, lines[0], c.want)
		assert.True(t, strings.HasSuffix(lines[0], "(run with -h for help)"), lines[0])
		assert.Empty(t, out.String())
	}
}

func TestColumnsMapCSVAndJSONL(t *testing.T) {
	srv, app, env := fakeEnv(t)
	path := writeFile(t, "export.csv", "Chat_ID,email,phone,customer id\n"+
		"1,,,crm-1\n"+
		"2,b@example.com,,\n"+
		"3,,,\n")
	code, out := runTool(t, env, "-columns", "chat_id=token, Customer ID = externalCustomerId", path)
	assert.Equal(t, exitRejects, code, out)
	c, ok := srv.ContactByToken(app, "1")
	require.True(t, ok)
	assert.Equal(t, "crm-1", c.ExternalCustomerID)
	rejects := readCSV(t, path+".rejects.csv")
	require.Len(t, rejects, 2)
	assert.Equal(t, "4", rejects[1][0])

	path = writeFile(t, "export.jsonl", `{"chat_id":10,"customer id":"crm-10"}`+"\n"+
		`{"chat_id":"11","Email":"c@example.com"}`+"\n"+
		`{"chat_id":12,"token":"13","email":"d@example.com"}`+"\n"+
		`{"chat_id":{"x":1},"email":"e@example.com"}`+"\n")
	code, out = runTool(t, env, "-columns", "chat_id=token,customer id=externalCustomerId", path)
	assert.Equal(t, exitRejects, code, out)
	for _, tok := range []string{"10", "11", "12"} {
		_, ok := srv.ContactByToken(app, tok)
		assert.True(t, ok, tok)
	}
	_, ok = srv.ContactByToken(app, "13")
	assert.False(t, ok, "a key named token is ignored when -columns gives token another name")
	rejects = readCSV(t, path+".rejects.csv")
	require.Len(t, rejects, 2)
	assert.Equal(t, "4", rejects[1][0])
	assert.Contains(t, rejects[1][1], `chat_id: want a string or a number`)

	// A name -columns gives that the header does not have is refused,
	// unless the header names the field itself (a failed.csv of an
	// import run with -columns, imported with the same command).
	path = writeFile(t, "subs.csv", "user,email\n1,a@example.com\n")
	code, out = runTool(t, env, "-columns", "chat_id=token", path)
	assert.Equal(t, exitError, code, out)
	assert.Contains(t, out, `-columns maps "chat_id" to token, but the CSV header has no column "chat_id" (nor "token")`)
	path = writeFile(t, "failed.csv", "line,error,token,contactId,externalCustomerId,phone,email\n2,x,21,,,,a@example.com\n")
	code, out = runTool(t, env, "-columns", "chat_id=token", path)
	assert.Equal(t, exitOK, code, out)
	_, ok = srv.ContactByToken(app, "21")
	assert.True(t, ok)
}

// A CSV record over several lines: rejects give the line it starts on.
func TestRejectsGiveTheFilesLine(t *testing.T) {
	_, _, env := fakeEnv(t)
	path := writeFile(t, "subs.csv", "token,email\n"+
		"1,\"a@example.com\"\n"+
		"2,\"two\nlines\"\n"+
		"\n"+
		"3,not-an-email\n")
	code, out := runTool(t, env, path)
	assert.Equal(t, exitRejects, code, out)
	rejects := readCSV(t, path+".rejects.csv")
	require.Len(t, rejects, 3)
	assert.Equal(t, "3", rejects[1][0])
	assert.Equal(t, "6", rejects[2][0])
}
