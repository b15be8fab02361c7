package yespobolt_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/yespo-go/yespo"
	"github.com/yespo-go/yespo/yespobolt"
)

var (
	ctx    = context.Background()
	target = yespo.JournalTarget{AppUUID: "3b9d8f4e-7c1a-4e2b-9f6d-1a2b3c4d5e6f", BaseURL: "https://yespo.io/api/"}
	quiet  = slog.New(slog.DiscardHandler)
)

func tok(i int) yespo.Token {
	return yespo.Token{Token: fmt.Sprint(1_000_000 + i), Phone: fmt.Sprintf("+38050%07d", i)}
}

// recs makes the records Append takes from tokens, without payloads.
func recs(tokens ...yespo.Token) []yespo.JournalRecord {
	out := make([]yespo.JournalRecord, len(tokens))
	for i, t := range tokens {
		out[i] = yespo.JournalRecord{Token: t}
	}
	return out
}

// openBound opens the journal in dir and binds it to target.
func openBound(t *testing.T, dir string) *yespobolt.Journal {
	t.Helper()
	j, err := yespobolt.Open(dir, yespobolt.WithLogger(quiet))
	require.NoError(t, err)
	require.NoError(t, j.Open(ctx, target))
	return j
}

// filled is the directory of a closed journal holding n tokens.
func filled(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "journal")
	j := openBound(t, dir)
	for i := 0; i < n; i += 1000 {
		var toks []yespo.Token
		for k := i; k < min(n, i+1000); k++ {
			toks = append(toks, tok(k))
		}
		_, err := j.Append(ctx, recs(toks...))
		require.NoError(t, err)
	}
	require.NoError(t, j.Close())
	return dir
}

// dbFile is the bbolt file of the journal in dir.
func dbFile(dir string) string { return filepath.Join(dir, yespobolt.FileName) }

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
func assertRefusedUnchanged(t *testing.T, path, want string) error {
	t.Helper()
	before := snapshot(t, path)
	j, err := yespobolt.Open(path, yespobolt.WithLogger(quiet))
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
	return err
}

// editDB changes the bbolt file of a closed journal with f, as damage or a
// newer version would.
func editDB(t *testing.T, dir string, f func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(dbFile(dir), 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(f))
	require.NoError(t, db.Close())
}

func TestOpenCreatesAPrivateDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	j := openBound(t, dir)
	_, err := j.Append(ctx, recs(tok(1)))
	require.NoError(t, err)
	require.NoError(t, j.Close())
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm(), "it holds phones and emails")
	info, err = os.Stat(dbFile(dir))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	empty := t.TempDir() // as mktemp -d makes it, opened to 0755 by someone
	require.NoError(t, os.Chmod(empty, 0o755))
	j = openBound(t, empty)
	require.NoError(t, j.Close())
	info, err = os.Stat(empty)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm(), "an empty directory becomes private")
}

func TestAppendRemoveReclaimAcrossRuns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	j := openBound(t, dir)
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

	j = openBound(t, dir) // the next run
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
	st, err = j.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, st.Depth, "the count survives the reopen")
}

func TestPayloadIsKeptAcrossAReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	j := openBound(t, dir)
	event := []byte(`{"event":"welcome","params":[{"name":"chat","value":"1000001"}]}`)
	entries, err := j.Append(ctx, []yespo.JournalRecord{{Token: tok(1), Payload: event}, {Token: tok(2)}})
	require.NoError(t, err)
	assert.Equal(t, event, entries[0].Payload)
	assert.Nil(t, entries[1].Payload)
	require.NoError(t, j.Close())

	j = openBound(t, dir)
	defer j.Close()
	got, err := j.Reclaim(ctx, 10)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, tok(1), got[0].Token)
	assert.Equal(t, event, got[0].Payload, "the payload comes back unchanged")
	assert.Equal(t, tok(2), got[1].Token)
	assert.Nil(t, got[1].Payload, "no payload stays none")
}

func TestTargetIsRecordedAndChecked(t *testing.T) {
	dir := filled(t, 2)
	j, err := yespobolt.Open(dir, yespobolt.WithLogger(quiet))
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

// A journal that holds tokens for another target is refused, unchanged,
// with what the operator needs: how many, for whom, and the two ways out.
func TestAnotherTargetIsRefusedWithAdvice(t *testing.T) {
	dir := filled(t, 3)
	other := yespo.JournalTarget{AppUUID: "11111111-2222-4333-a444-555555555555", BaseURL: target.BaseURL}
	before := snapshot(t, dir)
	j, err := yespobolt.Open(dir, yespobolt.WithLogger(quiet))
	require.NoError(t, err)
	err = j.Open(ctx, other)
	require.NoError(t, j.Close())
	require.ErrorIs(t, err, yespo.ErrJournalTarget)
	msg := err.Error()
	for _, want := range []string{
		"holds 3 token(s) for app " + target.AppUUID + " at " + target.BaseURL,
		"not for app " + other.AppUUID,
		"to deliver them, run against app " + target.AppUUID + " at " + target.BaseURL,
		"to drop them, remove " + dir,
	} {
		assert.Contains(t, msg, want)
	}
	assert.Equal(t, before, snapshot(t, dir), "the refused journal is byte for byte what it was")
}

// An empty journal opened for another target (a new app uuid) is re-bound
// to it, with one log record; its tokens then belong to the new target.
func TestEmptyJournalIsReboundWithOneLogLine(t *testing.T) {
	dir := filled(t, 2)
	j := openBound(t, dir)
	got, err := j.Reclaim(ctx, 10)
	require.NoError(t, err)
	ids := []string{got[0].ID, got[1].ID}
	require.NoError(t, j.Remove(ctx, ids))
	require.NoError(t, j.Close())

	var logs strings.Builder
	other := yespo.JournalTarget{AppUUID: "11111111-2222-4333-a444-555555555555", BaseURL: "http://127.0.0.1:8080/api/"}
	j, err = yespobolt.Open(dir, yespobolt.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	require.NoError(t, j.Open(ctx, other))
	_, err = j.Append(ctx, recs(tok(7)))
	require.NoError(t, err)
	require.NoError(t, j.Close())
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 1, logs.String())
	for _, want := range []string{"level=WARN", "re-bound", target.AppUUID, target.BaseURL, other.AppUUID, other.BaseURL} {
		assert.Contains(t, lines[0], want)
	}

	j, err = yespobolt.Open(dir, yespobolt.WithLogger(quiet))
	require.NoError(t, err)
	defer j.Close()
	err = j.Open(ctx, target)
	require.ErrorIs(t, err, yespo.ErrJournalTarget, "the old target's claim is gone")
	assert.Contains(t, err.Error(), "holds 1 token(s) for app "+other.AppUUID)
}

func TestTruncatedFileIsRefusedUntouched(t *testing.T) {
	src := filled(t, 3000) // several pages beyond the four of an empty file
	data, err := os.ReadFile(dbFile(src))
	require.NoError(t, err)
	for _, size := range []int{10, 4096, len(data) / 2} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "journal")
			require.NoError(t, os.Mkdir(dir, 0o700))
			require.NoError(t, os.WriteFile(dbFile(dir), data[:size], 0o600))
			assertRefusedUnchanged(t, dir, "truncated")
		})
	}
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

	pebble := filepath.Join(dir, "pebble") // yespopebble's, which a development build wrote
	require.NoError(t, os.Mkdir(pebble, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(pebble, "YESPO-JOURNAL"), []byte("yespo-go token journal\nformat 1\nclosed 3\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(pebble, "000002.log"), []byte("entries"), 0o600))
	assertRefusedUnchanged(t, pebble, "Pebble journal")

	big := filepath.Join(dir, "big") // a journal.db that is no bbolt file
	require.NoError(t, os.Mkdir(big, 0o700))
	require.NoError(t, os.WriteFile(dbFile(big), make([]byte, 64<<10), 0o600))
	assertRefusedUnchanged(t, big, "not a journal")

	store := filepath.Join(dir, "bolt-store") // a bbolt file of another program
	require.NoError(t, os.Mkdir(store, 0o700))
	db, err := bolt.Open(dbFile(store), 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("sessions"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte("v"))
	}))
	require.NoError(t, db.Close())
	assertRefusedUnchanged(t, store, "bbolt file of something else")

	old := filepath.Join(filled(t, 1), yespobolt.FileName) // 0.3.0's journal was the file itself
	err = assertRefusedUnchanged(t, old, "a journal is now a directory")
	assert.Contains(t, err.Error(), "mkdir -m 0700 "+old)
}

func TestNewerFormatsAreRefusedUntouched(t *testing.T) {
	dir := filled(t, 1)
	editDB(t, dir, func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("yespobolt")).Put([]byte("format"), []byte("2"))
	})
	assertRefusedUnchanged(t, dir, "newer version")

	dir = filled(t, 1) // bbolt's own format, as a newer bbolt would write it
	data, err := os.ReadFile(dbFile(dir))
	require.NoError(t, err)
	pageSize := int(binary.NativeEndian.Uint32(data[16+8:]))
	for _, off := range []int{16 + 4, pageSize + 16 + 4} { // both meta pages: bbolt format 3
		binary.NativeEndian.PutUint32(data[off:], 3)
	}
	require.NoError(t, os.WriteFile(dbFile(dir), data, 0o600))
	assertRefusedUnchanged(t, dir, "newer version")
}

func TestDamagedEntryIsRefusedNotSkipped(t *testing.T) {
	dir := filled(t, 2)
	editDB(t, dir, func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("entries")).Put(binary.BigEndian.AppendUint64(nil, 1), []byte{1, 2, 3})
	})
	assertRefusedUnchanged(t, dir, "entry 1")

	dir = filled(t, 3) // an entry lost: the count kept says so
	editDB(t, dir, func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("entries")).Delete(binary.BigEndian.AppendUint64(nil, 2))
	})
	assertRefusedUnchanged(t, dir, "damaged")
}

func TestSecondOpenerGetsAClearErrorAtOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	j := openBound(t, dir)
	defer j.Close()
	done := make(chan error, 1)
	go func() {
		_, err := yespobolt.Open(dir)
		done <- err
	}()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Contains(t, err.Error(), "in use by another process")
	case <-time.After(10 * time.Second): // 50× bbolt's lock timeout
		t.Fatal("a second Open hangs")
	}
}

func TestClosedJournalRefusesEverything(t *testing.T) {
	j := openBound(t, filepath.Join(t.TempDir(), "journal"))
	require.NoError(t, j.Close())
	_, err := j.Append(ctx, recs(tok(1)))
	require.ErrorIs(t, err, yespobolt.ErrClosed)
	require.ErrorIs(t, j.Remove(ctx, []string{"1"}), yespobolt.ErrClosed)
	_, err = j.Reclaim(ctx, 1)
	require.ErrorIs(t, err, yespobolt.ErrClosed)
	_, err = j.Stats(ctx)
	require.ErrorIs(t, err, yespobolt.ErrClosed)
	require.ErrorIs(t, j.Open(ctx, target), yespobolt.ErrClosed)
	require.NoError(t, j.Close())
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

// One Append of many records is one bbolt transaction, however many.
func TestAnAppendIsOneTransaction(t *testing.T) {
	j := openBound(t, filepath.Join(t.TempDir(), "journal"))
	defer j.Close()
	before := j.Commits()
	toks := make([]yespo.Token, 1000)
	for i := range toks {
		toks[i] = tok(i)
	}
	entries, err := j.Append(ctx, recs(toks...))
	require.NoError(t, err)
	require.Len(t, entries, 1000)
	assert.Equal(t, int64(1), j.Commits()-before)
	st, err := j.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1000, st.Depth)
}

// Group commit, with a barrier instead of luck: while one commit is held,
// 999 Appends queue; all of them go into the next commit, one.
func TestAppendsDuringACommitShareTheNext(t *testing.T) {
	j := openBound(t, filepath.Join(t.TempDir(), "journal"))
	defer j.Close()
	var held atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	defer yespobolt.SetCommitHook(func() {
		if held.CompareAndSwap(false, true) {
			close(entered)
			<-release
		}
	})()
	before := j.Commits()
	const n = 1000
	errs := make(chan error, n)
	appendOne := func(i int) {
		_, err := j.Append(ctx, recs(tok(i)))
		errs <- err
	}
	go appendOne(0)
	<-entered // the first commit holds token 0 and waits
	for i := 1; i < n; i++ {
		go appendOne(i)
	}
	deadline := time.Now().Add(10 * time.Second)
	for j.Queued() < n-1 {
		require.True(t, time.Now().Before(deadline), "the Appends did not queue: %d of %d", j.Queued(), n-1)
		time.Sleep(time.Millisecond)
	}
	close(release)
	for range n {
		require.NoError(t, <-errs)
	}
	assert.Equal(t, int64(2), j.Commits()-before, "the held commit, then one for the 999 queued behind it")
	st, err := j.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, n, st.Depth)
}

// A page of the file overwritten with garbage, each in turn: a page of the
// journal's tree is refused as damaged, unchanged; a free one is no harm.
// Never a crash: bbolt panics on such a page, on a goroutine of its own
// when it opens a file for writing.
func TestDamagedPagesAreRefusedNotACrash(t *testing.T) {
	src := filled(t, 3000)
	data, err := os.ReadFile(dbFile(src))
	require.NoError(t, err)
	pageSize := int(binary.NativeEndian.Uint32(data[16+8:]))
	refused := 0
	for pg := 2; pg < len(data)/pageSize; pg++ { // past the two meta pages
		dir := filepath.Join(t.TempDir(), "journal")
		require.NoError(t, os.Mkdir(dir, 0o700))
		damaged := slices.Clone(data)
		for i := pg * pageSize; i < (pg+1)*pageSize; i++ {
			damaged[i] = 0xA5
		}
		require.NoError(t, os.WriteFile(dbFile(dir), damaged, 0o600))
		j, err := yespobolt.Open(dir, yespobolt.WithLogger(quiet))
		if err == nil {
			require.NoError(t, j.Close())
			continue
		}
		refused++
		assert.Contains(t, err.Error(), "damaged", "page %d", pg)
		after, rerr := os.ReadFile(dbFile(dir))
		require.NoError(t, rerr)
		assert.True(t, slices.Equal(damaged, after), "page %d: the refused file was changed", pg)
	}
	assert.Greater(t, refused, 10, "the tree of 3,000 entries spans pages")
}
