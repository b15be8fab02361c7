package readmecheck

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// copies says which README blocks each file holds, verbatim: the handler
// and the fake Yespo in both packages, and each library's test in its own.
var copies = map[string][]string{
	"gotelegram/bot.go":      {"handler"},
	"gotelegram/bot_test.go": {"fake-yespo", "test-gotelegram"},
	"tgbotapi/bot.go":        {"handler"},
	"tgbotapi/bot_test.go":   {"fake-yespo", "test-tgbotapi"},
}

// testingSection is the README heading whose Go blocks must all be checked.
const testingSection = "## Testing your bot"

var marker = regexp.MustCompile(`^<!-- readmecheck: ([a-z-]+) -->$`)

// readmeBlocks returns the README's marked Go blocks by name, and the
// number of Go blocks in the testing section that carry no marker.
func readmeBlocks(t *testing.T) (blocks map[string]string, unmarkedInTesting int) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	blocks = map[string]string{}
	var name, section string
	var body *strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case body != nil && line == "```":
			if name != "" {
				blocks[name] = body.String()
			} else if section == testingSection {
				unmarkedInTesting++
			}
			body, name = nil, ""
		case body != nil:
			body.WriteString(line + "\n")
		case line == "```go":
			body = &strings.Builder{}
		case marker.MatchString(line):
			name = marker.FindStringSubmatch(line)[1]
			if _, dup := blocks[name]; dup {
				t.Errorf("README: readmecheck block %q marked twice", name)
			}
		case strings.HasPrefix(line, "## "):
			section, name = line, ""
		case strings.TrimSpace(line) != "":
			name = "" // a marker belongs to the block right after it
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks, unmarkedInTesting
}

// TestREADMEBlocksAreCompiled fails when a README block the packages below
// compile and run has changed, or when a Go block of "Testing your bot" is
// not among them. After editing the README, copy the block into the files
// named in the failure (their package clause and imports stay).
func TestREADMEBlocksAreCompiled(t *testing.T) {
	blocks, unmarked := readmeBlocks(t)
	if unmarked > 0 {
		t.Errorf("README %q has %d Go block(s) without a <!-- readmecheck: NAME --> line before them: nothing compiles them", testingSection, unmarked)
	}
	used := map[string]bool{}
	for file, names := range copies {
		src, err := os.ReadFile(filepath.FromSlash(file))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			used[name] = true
			block, ok := blocks[name]
			switch {
			case !ok:
				t.Errorf("README has no Go block marked <!-- readmecheck: %s --> (for %s)", name, file)
			case !strings.Contains(string(src), block):
				t.Errorf("%s does not hold the README's block %q as it is now: copy it there\n%s", file, name, block)
			}
		}
	}
	for name := range blocks {
		if !used[name] {
			t.Errorf("README block %q is marked for readmecheck, but no file here holds it: add it to copies", name)
		}
	}
}
