package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo/yespotest"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestDemoOnTheFake(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), nil, env(nil), &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	assert.Contains(t, lines[0], "in-process fake Yespo", "the first line says it runs on the fake")
	table := lines[len(lines)-3:]
	assert.Regexp(t, `^CONTACT\s+EXTERNAL ID\s+PHONE\s+EMAIL\s+TOKENS$`, table[0])
	assert.Regexp(t, `^1\s+crm-1\s+\+15550100001\s+-\s+100001, 100002 \(muted 1h0m0s\), 100003$`, table[1])
	assert.Regexp(t, `^2\s+-\s+-\s+bob@example.com\s+100004$`, table[2])
}

// With the variables set it talks to whatever they point at: here a fake
// standing in for Yespo, which the program does not know is one.
func TestTalksToConfiguredServer(t *testing.T) {
	srv := yespotest.NewServer()
	defer srv.Close()
	app := srv.NewApp()
	var out bytes.Buffer
	err := run(context.Background(), []string{"-token", "42,email=x@example.com", "-token", "43,phone=+15550100009"},
		env(map[string]string{"YESPO_API_KEY": srv.APIKey, "YESPO_APP_UUID": app, "YESPO_BASE_URL": srv.URL}), &out)
	require.NoError(t, err)
	assert.Contains(t, out.String(), "Talking to Yespo at "+srv.URL)
	assert.Regexp(t, `(?m)^42\s+1$`, out.String())
	assert.Regexp(t, `(?m)^43\s+2$`, out.String())
	c, ok := srv.ContactByToken(app, "43")
	require.True(t, ok)
	assert.False(t, c.Tokens[0].MutedUntil.IsZero(), "the second token is muted")
}

func TestErrors(t *testing.T) {
	cases := map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"half the config": {nil, map[string]string{"YESPO_API_KEY": "k"}, "set both YESPO_API_KEY and YESPO_APP_UUID"},
		"bad token":       {[]string{"-token", "1,phone=050"}, nil, "phone"},
		"bad key":         {[]string{"-token", "1,fax=1"}, nil, `unknown key "fax"`},
		"stray argument":  {[]string{"subscribers.csv"}, nil, "unexpected argument"},
		"wrong app":       {nil, map[string]string{"YESPO_API_KEY": "k", "YESPO_APP_UUID": "not-a-uuid", "YESPO_BASE_URL": "http://127.0.0.1:1/api/"}, "appUUID"},
	}
	for name, tc := range cases {
		var out bytes.Buffer
		err := run(context.Background(), tc.args, env(tc.env), &out)
		require.Error(t, err, name)
		assert.Contains(t, err.Error()+out.String(), tc.want, name)
	}
}
