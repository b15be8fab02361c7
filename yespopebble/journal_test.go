package yespopebble_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespopebble"
)

var (
	ctx    = context.Background()
	target = yespo.JournalTarget{AppUUID: "3b9d8f4e-7c1a-4e2b-9f6d-1a2b3c4d5e6f", BaseURL: "https://yespo.io/api/"}
)

func tok(i int) yespo.Token {
	return yespo.Token{Token: fmt.Sprint(1_000_000 + i), Phone: fmt.Sprintf("+38050%07d", i)}
}

// openBound opens the journal at path and binds it to target.
func openBound(t *testing.T, path string) *yespopebble.Journal {
	t.Helper()
	j, err := yespopebble.Open(path)
	require.NoError(t, err)
	require.NoError(t, j.Open(ctx, target))
	return j
}

// filled is the path of a closed journal holding n tokens.
func filled(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal")
	j := openBound(t, path)
	for i := range n {
		_, err := j.Append(ctx, recs(tok(i)))
		require.NoError(t, err)
	}
	require.NoError(t, j.Close())
	return path
}

// snapshot is every file under path (or path itself) and its bytes.
func snapshot(t *testing.T, path string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		files[p] = string(data)
		return err
	})
	require.NoError(t, err)
	return files
}

// assertRefusedUnchanged opens path, expects an error containing want, and
// checks that every file there is byte for byte what it was.
func assertRefusedUnchanged(t *testing.T, path, want string) {
	t.Helper()
	before := snapshot(t, path)
	j, err := yespopebble.Open(path)
	if err == nil {
		err = j.Open(ctx, target)
		_ = j.Close()
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), want)
	after := snapshot(t, path)
	assert.Equal(t, len(before), len(after), "files were added or removed")
	for name, data := range before {
		assert.True(t, data == after[name], "%s was changed", name)
	}
}

func TestOpenCreatesAPrivateDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	j := openBound(t, dir)
	_, err := j.Append(ctx, recs(tok(1)))
	require.NoError(t, err)
	require.NoError(t, j.Close())
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Zero(t, info.Mode().Perm()&0o077, "directory mode %v: it holds phones and emails", info.Mode().Perm())
	n := 0
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		n++
		assert.Zero(t, info.Mode().Perm()&0o077, "%s: mode %v", p, info.Mode().Perm())
		return err
	}))
	assert.Greater(t, n, 3, "the mark, Pebble's log, manifest and options")
}

func TestAppendRemoveReclaimAcrossRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	j := openBound(t, path)
	entries, err := j.Append(ctx, recs(tok(1), tok(2), tok(3)))
	require.NoError(t, err)
	require.Len(t, entries, 3)
	assert.Equal(t, tok(2), entries[1].Token)
	got, err := j.Reclaim(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, got, "a run does not reclaim its own entries")
	require.NoError(t, j.Remove(ctx, []string{entries[0].ID, entries[0].ID}))
	st, err := j.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, st.Depth)
	assert.Equal(t, entries[1].Added.UnixNano(), st.Oldest.UnixNano())
	require.NoError(t, j.Close())

	j = openBound(t, path) // the next run
	defer j.Close()
	_, err = j.Append(ctx, recs(tok(4)))
	require.NoError(t, err)
	first, err := j.Reclaim(ctx, 1)
	require.NoError(t, err)
	rest, err := j.Reclaim(ctx, 10)
	require.NoError(t, err)
	none, err := j.Reclaim(ctx, 10)
	require.NoError(t, err)
	require.Len(t, first, 1)
	require.Len(t, rest, 1)
	assert.Equal(t, tok(2), first[0].Token, "in append order")
	assert.Equal(t, tok(3), rest[0].Token)
	assert.Empty(t, none, "nothing is handed out twice, nor this run's own")
	assert.Equal(t, entries[1].ID, first[0].ID)
}

func TestTargetIsRecordedAndChecked(t *testing.T) {
	path := filled(t, 2)
	j, err := yespopebble.Open(path)
	require.NoError(t, err)
	defer j.Close()
	other := yespo.JournalTarget{AppUUID: target.AppUUID, BaseURL: "http://127.0.0.1:8080/api/"}
	err = j.Open(ctx, other)
	require.ErrorIs(t, err, yespo.ErrJournalTarget)
	assert.Contains(t, err.Error(), target.BaseURL)
	assert.Contains(t, err.Error(), other.BaseURL)
	_, err = j.Append(ctx, recs(tok(9)))
	require.Error(t, err, "an unbound journal takes nothing")
	require.NoError(t, j.Open(ctx, target))
	st, err := j.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, st.Depth)
}

// flushed is the path of a closed journal holding n tokens, enough that
// Pebble wrote table files beside its log.
func flushed(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "journal")
	j := openBound(t, dir)
	for i := 0; i < n; i += 1000 {
		toks := make([]yespo.Token, 1000)
		for k := range toks {
			toks[k] = tok(i + k)
		}
		_, err := j.Append(ctx, recs(toks...))
		require.NoError(t, err)
	}
	require.NoError(t, j.Close())
	return dir
}

// files returns the names in dir that match pattern.
func files(t *testing.T, dir, pattern string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, pattern))
	require.NoError(t, err)
	return names
}

func TestTruncatedFilesAreRefusedUntouched(t *testing.T) {
	src := flushed(t, 60_000) // past one 4 MiB memtable: a table file beside the log
	require.NotEmpty(t, files(t, src, "*.sst"))
	cut := func(dir, name string) {
		info, err := os.Stat(name)
		require.NoError(t, err)
		require.NoError(t, os.Truncate(name, info.Size()/2))
	}
	for _, c := range []struct {
		pattern string
		damage  func(dir, name string)
	}{
		{"*.sst", cut},
		{"MANIFEST-*", cut}, // Pebble reads it up to the cut: the count in the mark tells
		{"YESPO-JOURNAL", cut},
		{"*.sst", func(_, name string) { require.NoError(t, os.Remove(name)) }},
	} {
		t.Run(c.pattern, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "journal")
			require.NoError(t, os.CopyFS(dir, os.DirFS(src)))
			c.damage(dir, files(t, dir, c.pattern)[0])
			assertRefusedUnchanged(t, dir, "refusing to open")
		})
	}
}

// A crash in the middle of a write leaves a torn end of the log: the
// entries synced before it are all there.
func TestTornLogTailIsRecovered(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	j := openBound(t, dir)
	for i := range 100 {
		_, err := j.Append(ctx, recs(tok(i)))
		require.NoError(t, err)
	}
	logs := files(t, dir, "*.log")
	require.Len(t, logs, 1)
	data, err := os.ReadFile(logs[0])
	require.NoError(t, err)
	end := len(data) // the log is zero-filled beyond its last record
	for end > 0 && data[end-1] == 0 {
		end--
	}
	require.Greater(t, end, 100*40, "the records are in the log")
	snapshot := filepath.Join(t.TempDir(), "crashed") // as a SIGKILL in the next write would leave it
	require.NoError(t, os.CopyFS(snapshot, os.DirFS(dir)))
	require.NoError(t, j.Close())
	torn := filepath.Join(snapshot, filepath.Base(logs[0]))
	f, err := os.OpenFile(torn, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("\x17\x42half of a record, cut by a crash"), int64(end))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, os.Remove(filepath.Join(snapshot, "LOCK")))

	j = openBound(t, snapshot)
	defer j.Close()
	got, err := j.Reclaim(ctx, 1000)
	require.NoError(t, err)
	assert.Len(t, got, 100)
}

func TestForeignFilesAreRefusedUntouched(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(text, []byte("phone,email\n+380501234567,a@example.com\n"), 0o600))
	assertRefusedUnchanged(t, text, "not a journal")

	other := filepath.Join(dir, "app-data")
	require.NoError(t, os.Mkdir(other, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(other, "users.csv"), []byte("id\n1\n"), 0o600))
	assertRefusedUnchanged(t, other, "something else")

	store := filepath.Join(dir, "pebble-store") // a Pebble store of another program
	db, err := pebble.Open(store, &pebble.Options{})
	require.NoError(t, err)
	require.NoError(t, db.Set([]byte("session"), []byte("v"), pebble.Sync))
	require.NoError(t, db.Close())
	assertRefusedUnchanged(t, store, "something else")

	marked := filled(t, 1) // a mark that is not ours
	require.NoError(t, os.WriteFile(filepath.Join(marked, "YESPO-JOURNAL"), []byte("hello\n"), 0o600))
	assertRefusedUnchanged(t, marked, "not a journal")
}

func TestNewerFormatsAreRefusedUntouched(t *testing.T) {
	dir := filled(t, 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "YESPO-JOURNAL"), []byte("yespo-go token journal\nformat 2\n"), 0o600))
	assertRefusedUnchanged(t, dir, "newer version")

	dir = filled(t, 1) // Pebble's own format, as a newer Pebble would write it
	markers := files(t, dir, "marker.format-version.*")
	require.Len(t, markers, 1)
	require.NoError(t, os.Rename(markers[0], filepath.Join(dir, "marker.format-version.000099.999")))
	assertRefusedUnchanged(t, dir, "refusing to open")
}

func TestSecondOpenerGetsAClearErrorAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	j := openBound(t, path)
	defer j.Close()
	done := make(chan error, 1)
	go func() {
		_, err := yespopebble.Open(path)
		done <- err
	}()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Contains(t, err.Error(), "in use by another process")
	case <-time.After(10 * time.Second): // the lock is tried once, not waited for
		t.Fatal("a second Open hangs")
	}
}

func TestClosedJournalRefusesEverything(t *testing.T) {
	j := openBound(t, filepath.Join(t.TempDir(), "journal"))
	require.NoError(t, j.Close())
	_, err := j.Append(ctx, recs(tok(1)))
	require.ErrorIs(t, err, yespopebble.ErrClosed)
	require.ErrorIs(t, j.Remove(ctx, []string{"1"}), yespopebble.ErrClosed)
	_, err = j.Reclaim(ctx, 1)
	require.ErrorIs(t, err, yespopebble.ErrClosed)
	_, err = j.Stats(ctx)
	require.ErrorIs(t, err, yespopebble.ErrClosed)
	require.NoError(t, j.Close())
}

func TestDamagedEntryIsAnErrorNotASkip(t *testing.T) {
	dir := filled(t, 2)
	lock, err := pebble.LockDirectory(dir, vfs.Default) // as the journal's files would be damaged underneath it
	require.NoError(t, err)
	db, err := pebble.Open(dir, &pebble.Options{Lock: lock})
	require.NoError(t, err)
	require.NoError(t, db.Set(binary.BigEndian.AppendUint64([]byte{'e'}, 1), []byte{1, 2, 3}, pebble.Sync))
	require.NoError(t, db.Close())
	require.NoError(t, lock.Close())
	assertRefusedUnchanged(t, dir, "entry 1")
}

func TestConcurrentAppendsShareSyncs(t *testing.T) {
	j := openBound(t, filepath.Join(t.TempDir(), "journal"))
	defer j.Close()
	const n = 1000
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			_, err := j.Append(ctx, recs(tok(i)))
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	st, err := j.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, n, st.Depth)
	assert.Less(t, j.Syncs(), int64(n/10), "1,000 concurrent appends share syncs")
	t.Logf("%d syncs for %d concurrent appends", j.Syncs(), n)
}

func TestAppendHonoursACancelledContext(t *testing.T) {
	j := openBound(t, filepath.Join(t.TempDir(), "journal"))
	defer j.Close()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := j.Append(cctx, recs(tok(1)))
	require.True(t, errors.Is(err, context.Canceled))
	st, err := j.Stats(ctx)
	require.NoError(t, err)
	assert.Zero(t, st.Depth)
}

// recs makes the records Append takes from tokens, without payloads.
func recs(tokens ...yespo.Token) []yespo.JournalRecord {
	out := make([]yespo.JournalRecord, len(tokens))
	for i, t := range tokens {
		out[i] = yespo.JournalRecord{Token: t}
	}
	return out
}
