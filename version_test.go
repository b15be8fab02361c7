package yespo_test

import (
	"bufio"
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
)

// TestVersionMatchesChangelog keeps the version every User-Agent carries,
// and every module is released at (.ci/release-check), equal to the
// CHANGELOG's top entry: "## X.Y.Z — unreleased" or "## X.Y.Z — YYYY-MM-DD".
func TestVersionMatchesChangelog(t *testing.T) {
	f, err := os.Open("CHANGELOG.md")
	require.NoError(t, err)
	defer f.Close()
	heading := regexp.MustCompile(`^## (\S+)`)
	entry := regexp.MustCompile(`^## \d+\.\d+\.\d+ — (unreleased|\d{4}-\d{2}-\d{2})$`)
	s := bufio.NewScanner(f)
	for s.Scan() {
		if m := heading.FindStringSubmatch(s.Text()); m != nil {
			require.Regexp(t, entry, s.Text(), "the top entry's heading")
			require.Equal(t, m[1], yespo.Version, "yespo.Version against the CHANGELOG's top entry")
			return
		}
	}
	require.NoError(t, s.Err())
	t.Fatal("CHANGELOG.md has no \"## X.Y.Z\" entry")
}
