package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/yespotest"
)

// fakeEnv is a yespotest server and the environment that points the tool at it.
func fakeEnv(t *testing.T) (*yespotest.Server, string, func(string) string) {
	t.Helper()
	srv := yespotest.NewServer()
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	env := map[string]string{"YESPO_API_KEY": srv.APIKey, "YESPO_APP_UUID": app, "YESPO_BASE_URL": srv.URL}
	return srv, app, func(k string) string { return env[k] }
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	return recs
}

func runTool(t *testing.T, env func(string) string, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, env, &out, &errOut)
	return code, out.String() + errOut.String()
}

func TestImportCSV(t *testing.T) {
	srv, app, env := fakeEnv(t)
	path := writeFile(t, "subs.csv", "Email,TOKEN,phone,contactId,extra\n"+
		"a@example.com,1001,,,x\n"+
		",1002,+380501111111,,\n"+
		"not-an-email,1003,,,\n"+
		",,+380502222222,,\n"+
		",1004,,abc,\n"+
		"A@Example.COM ,1005,,,\n")
	code, out := runTool(t, env, path)
	assert.Equal(t, exitRejects, code, out)
	assert.Contains(t, out, "3 rows sent, 0 failed, 3 rejected.")
	for _, tok := range []string{"1001", "1002", "1005"} {
		_, ok := srv.ContactByToken(app, tok)
		assert.True(t, ok, tok)
	}
	rejects := readCSV(t, path+".rejects.csv")
	require.Len(t, rejects, 4)
	assert.Equal(t, []string{"line", "reason", "record"}, rejects[0])
	assert.Equal(t, "4", rejects[1][0], "the file's line: the header is line 1")
	assert.Contains(t, rejects[1][1], "email")
	assert.Equal(t, "5", rejects[2][0])
	assert.Contains(t, rejects[2][1], "token: must not be empty")
	assert.Equal(t, "6", rejects[3][0])
	assert.Contains(t, rejects[3][1], `contactId "abc"`)
	assert.NoFileExists(t, path+".checkpoint", "a finished run leaves no checkpoint")
	assert.NoFileExists(t, path+".failed.csv", "no failures, no file")
}

func TestImportJSONLWithNormalize(t *testing.T) {
	srv, app, env := fakeEnv(t)
	path := writeFile(t, "subs.jsonl", `{"token":"1","phone":"+38 (050) 123-45-67"}`+"\n\n"+
		`{"token":"2","email":" Bob@Example.COM","contactId":"7"}`+"\n"+
		`{"token":"3","externalCustomerId":"crm-3","contactId":8}`+"\n"+
		`not json`+"\n")
	code, out := runTool(t, env, "-normalize", path)
	assert.Equal(t, exitRejects, code, out)
	c, ok := srv.ContactByToken(app, "1")
	require.True(t, ok)
	assert.Equal(t, "+380501234567", c.Phone)
	c, ok = srv.ContactByToken(app, "2")
	require.True(t, ok)
	assert.Equal(t, "Bob@example.com", c.Email)
	_, ok = srv.ContactByToken(app, "3")
	assert.True(t, ok)
	rejects := readCSV(t, path+".rejects.csv")
	require.Len(t, rejects, 2)
	assert.Equal(t, "5", rejects[1][0], "the file's line, blank lines counted")
	assert.Contains(t, rejects[1][1], "not a JSON object")
}

func TestDryRunSendsNothing(t *testing.T) {
	srv, _, env := fakeEnv(t)
	path := writeFile(t, "subs.csv", "token,phone\n1,+380501111111\n2,050\n3,+15550100001\n")
	code, out := runTool(t, env, "-dry-run", path)
	assert.Equal(t, exitRejects, code)
	assert.Contains(t, out, "2 rows valid, 0 failed, 1 rejected.")
	assert.Empty(t, srv.Requests())
}

func TestFailedBatchesAreWrittenForRetry(t *testing.T) {
	srv, app, env := fakeEnv(t)
	srv.FailRandomly(1, yespotest.Fault{Status: 400, Body: "Bad request"})
	path := writeFile(t, "subs.csv", crmRows(5))
	code, out := runTool(t, env, "-batch", "2", path)
	assert.Equal(t, exitFailures, code, out)
	failed := readCSV(t, path+".failed.csv")
	require.Len(t, failed, 6)
	assert.Equal(t, []string{"line", "error", "token", "contactId", "externalCustomerId", "phone", "email"}, failed[0])

	// The failed file is an input as it is.
	srv.FailRandomly(0)
	code, out = runTool(t, env, path+".failed.csv")
	assert.Equal(t, exitOK, code, out)
	for i := range 5 {
		_, ok := srv.ContactByToken(app, fmt.Sprint(i))
		assert.True(t, ok)
	}
}

func TestBadInvocations(t *testing.T) {
	_, _, env := fakeEnv(t)
	code, out := runTool(t, env)
	assert.Equal(t, exitError, code)
	assert.Contains(t, out, "exactly one input file")
	code, out = runTool(t, env, filepath.Join(t.TempDir(), "missing.csv"))
	assert.Equal(t, exitError, code)
	assert.Contains(t, out, "no such file")
	code, out = runTool(t, env, writeFile(t, "x.csv", "phone\n+380501111111\n"))
	assert.Equal(t, exitError, code)
	assert.Contains(t, out, `no "token" column`)
}

func TestWithoutKeyRefuses(t *testing.T) {
	path := writeFile(t, "subs.csv", "token,email\n1,a@example.com\n")
	code, out := runTool(t, func(string) string { return "" }, path)
	assert.Equal(t, exitError, code, out)
	assert.Contains(t, out, "YESPO_API_KEY is not set")
	assert.Contains(t, out, "-fake")
	assert.NoFileExists(t, path+".checkpoint")
}

func TestFakeSaysSo(t *testing.T) {
	path := writeFile(t, "subs.csv", "token,email\n1,a@example.com\n")
	code, out := runTool(t, func(string) string { return "" }, "-fake", path)
	assert.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "1 rows sent, 0 failed, 0 rejected.")
	assert.Contains(t, out, "in-process fake Yespo (-fake): nothing was sent to Yespo")
}

func TestHelpExitsZero(t *testing.T) {
	code, out := runTool(t, func(string) string { return "" }, "-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "Exit codes:")
}

func TestRowMessages(t *testing.T) {
	_, _, env := fakeEnv(t)
	path := writeFile(t, "subs.csv", "token,externalCustomerId,contactId\n"+
		"100000077,crm-77\n"+ // a field short
		"100000078,crm-78,1,extra\n"+ // one too many
		"100000079,crm-79,\n")
	code, out := runTool(t, env, path)
	assert.Equal(t, exitRejects, code, out)
	rejects := readCSV(t, path+".rejects.csv")
	require.Len(t, rejects, 3)
	assert.Equal(t, "2 fields, the header has 3", rejects[1][1])
	assert.Equal(t, "4 fields, the header has 3", rejects[2][1])

	path = writeFile(t, "phones.csv", "token,phone\n1,+38 050 123\n")
	code, out = runTool(t, env, path)
	assert.Equal(t, exitRejects, code, out)
	rejects = readCSV(t, path+".rejects.csv")
	assert.Contains(t, rejects[1][1], "(try -normalize)")
	assert.NotContains(t, rejects[1][1], "NormalizePhone")
}

func TestHeaderWithoutToken(t *testing.T) {
	_, _, env := fakeEnv(t)
	path := writeFile(t, "subs.csv", "token;phone\n1;+380501111111\n")
	code, out := runTool(t, env, path)
	assert.Equal(t, exitError, code, out)
	assert.Contains(t, out, `no "token" column; it reads "token;phone" (1 field, separated by ',')`)
	assert.Contains(t, out, "run with -sep ';'")

	code, out = runTool(t, env, "-sep", ";", path)
	assert.Equal(t, exitOK, code, out)

	path = writeFile(t, "ids.csv", "subscriber,phone\n1,+380501111111\n")
	code, out = runTool(t, env, path)
	assert.Equal(t, exitError, code, out)
	assert.Contains(t, out, `it reads "subscriber,phone" (2 fields`)
	assert.Contains(t, out, "name the columns token, contactId")
	assert.Contains(t, out, `or map yours with -columns "chat_id=token,customer id=externalCustomerId"`)

	// An operator's export: its own names, and a hint that maps them.
	path = writeFile(t, "export.csv", "chat_id,email,phone,customer id\n1,,,crm-1\n")
	code, out = runTool(t, env, path)
	assert.Equal(t, exitError, code, out)
	assert.Contains(t, out, `run with -columns "chat_id=token,customer id=externalCustomerId"`)
	code, out = runTool(t, env, "-columns", "chat_id=token,customer id=externalCustomerId", path)
	assert.Equal(t, exitOK, code, out)

	// A token but no identifier: every row would be rejected.
	path = writeFile(t, "noid.csv", "token,Mobile\n1,+380501111111\n")
	code, out = runTool(t, env, path)
	assert.Equal(t, exitError, code, out)
	assert.Contains(t, out, `no identifier column`)
	assert.Contains(t, out, `run with -columns "Mobile=phone"`)
}

// A key without the right stops the import at the first answer: exit 1,
// the server's answer and what to check, no failed file.
func TestForbiddenStops(t *testing.T) {
	srv, _, env := fakeEnv(t)
	srv.FailNext(1, yespotest.Fault{Status: 403, Body: "Access denied"})
	path := writeFile(t, "subs.csv", crmRows(50))
	code, out := runTool(t, env, "-batch", "5", path)
	assert.Equal(t, exitError, code, out)
	assert.Contains(t, out, "403 Forbidden: Access denied")
	assert.Contains(t, out, "no right to add application tokens")
	assert.Len(t, srv.Requests(), 1)
	assert.NoFileExists(t, path+".failed.csv")

	code, out = runTool(t, env, "-batch", "5", path)
	assert.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "50 rows sent, 0 failed, 0 rejected.")
}

// Ctrl-C after the last row was read, its batch in flight: the batch
// finishes, and the run is done, not interrupted.
func TestInterruptAfterEverythingIsSentIsDone(t *testing.T) {
	srv := yespotest.NewServer(yespotest.WithLatency(300 * time.Millisecond))
	t.Cleanup(srv.Close)
	app := srv.NewApp()
	env := map[string]string{"YESPO_API_KEY": srv.APIKey, "YESPO_APP_UUID": app, "YESPO_BASE_URL": srv.URL}
	path := writeFile(t, "subs.csv", "token,email\n1,a@example.com\n2,b@example.com\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut bytes.Buffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{path}, func(k string) string { return env[k] }, &out, &errOut) }()
	require.Eventually(t, func() bool { return len(srv.Requests()) == 1 }, 10*time.Second, time.Millisecond)
	cancel()
	code := <-done
	assert.Equal(t, exitOK, code, out.String()+errOut.String())
	assert.Contains(t, out.String(), "2 rows sent, 0 failed, 0 rejected.")
	assert.NotContains(t, out.String(), "Interrupted")
	assert.NoFileExists(t, path+".checkpoint")
}

// A trial run (-dry-run, -fake) keeps its hands off a real import's
// checkpoint and failed file.
func TestTrialRunsLeaveRealImportAlone(t *testing.T) {
	_, _, env := fakeEnv(t)
	path := writeFile(t, "subs.csv", "token,email\n1,a@example.com\n")
	require.NoError(t, os.WriteFile(path+".failed.csv", []byte("row,error\n1,x\n"), 0o644))
	code, out := runTool(t, env, "-dry-run", path)
	assert.Equal(t, exitOK, code, out)
	assert.FileExists(t, path+".failed.csv")
	assert.NoFileExists(t, path+".checkpoint")

	require.NoError(t, os.WriteFile(path+".checkpoint", []byte(`{"row":0}`), 0o644))
	for _, flag := range []string{"-dry-run", "-fake"} {
		code, out = runTool(t, env, flag, path)
		assert.Equal(t, exitError, code, out)
		assert.Contains(t, out, "unfinished")
	}
}

// crmRows is a CSV of n valid rows: tokens 0 to n-1, each with an
// externalCustomerId.
func crmRows(n int) string {
	var b strings.Builder
	b.WriteString("token,externalCustomerId\n")
	for i := range n {
		fmt.Fprintf(&b, "%d,crm-%d\n", i, i)
	}
	return b.String()
}
