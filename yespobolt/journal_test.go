package yespobolt_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
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
)

func tok(i int) yespo.Token {
	return yespo.Token{Token: fmt.Sprint(1_000_000 + i), Phone: fmt.Sprintf("+38050%07d", i)}
}

// openBound opens the journal at path and binds it to target.
func openBound(t *testing.T, path string) *yespobolt.Journal {
	t.Helper()
	j, err := yespobolt.Open(path)
	require.NoError(t, err)
	require.NoError(t, j.Open(ctx, target))
	return j
}

// filled is the path of a closed journal holding n tokens.
func filled(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.db")
	j := openBound(t, path)
	for i := range n {
		_, err := j.Append(ctx, []yespo.Token{tok(i)})
		require.NoError(t, err)
	}
	require.NoError(t, j.Close())
	return path
}

// assertRefusedUnchanged opens path, expects an error containing want, and
// checks that the file is byte for byte what it was.
func assertRefusedUnchanged(t *testing.T, path, want string) {
	t.Helper()
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	j, err := yespobolt.Open(path)
	if err == nil {
		err = j.Open(ctx, target)
		_ = j.Close()
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), want)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, string(before) == string(after), "the refused file was changed")
}

func TestOpenCreatesAPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	j := openBound(t, path)
	defer j.Close()
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Zero(t, info.Mode().Perm()&0o077, "mode %v: it holds phones and emails", info.Mode().Perm())
}

func TestAppendRemoveReclaimAcrossRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	j := openBound(t, path)
	entries, err := j.Append(ctx, []yespo.Token{tok(1), tok(2), tok(3)})
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
	_, err = j.Append(ctx, []yespo.Token{tok(4)})
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
	j, err := yespobolt.Open(path)
	require.NoError(t, err)
	defer j.Close()
	other := yespo.JournalTarget{AppUUID: target.AppUUID, BaseURL: "http://127.0.0.1:8080/api/"}
	err = j.Open(ctx, other)
	require.ErrorIs(t, err, yespo.ErrJournalTarget)
	assert.Contains(t, err.Error(), target.BaseURL)
	assert.Contains(t, err.Error(), other.BaseURL)
	_, err = j.Append(ctx, []yespo.Token{tok(9)})
	require.Error(t, err, "an unbound journal takes nothing")
	require.NoError(t, j.Open(ctx, target))
	st, err := j.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, st.Depth)
}

func TestTruncatedFileIsRefusedUntouched(t *testing.T) {
	path := filled(t, 3000) // several pages beyond the four of an empty file
	info, err := os.Stat(path)
	require.NoError(t, err)
	for _, size := range []int64{10, 4096, info.Size() / 2} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			cut := filepath.Join(t.TempDir(), "cut.db")
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(cut, data[:size], 0o600))
			assertRefusedUnchanged(t, cut, "truncated")
		})
	}
}

func TestForeignFilesAreRefusedUntouched(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(text, []byte("phone,email\n+380501234567,a@example.com\n"), 0o600))
	assertRefusedUnchanged(t, text, "not a journal")

	big := filepath.Join(dir, "big.bin")
	require.NoError(t, os.WriteFile(big, make([]byte, 64<<10), 0o600))
	assertRefusedUnchanged(t, big, "not a journal")

	other := filepath.Join(dir, "other.db")
	db, err := bolt.Open(other, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("sessions"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte("v"))
	}))
	require.NoError(t, db.Close())
	assertRefusedUnchanged(t, other, "bbolt file of something else")
}

func TestNewerFormatsAreRefusedUntouched(t *testing.T) {
	path := filled(t, 1)
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("yespobolt")).Put([]byte("format"), []byte("2"))
	}))
	require.NoError(t, db.Close())
	assertRefusedUnchanged(t, path, "newer version")

	path = filled(t, 1)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	pageSize := int(binary.NativeEndian.Uint32(data[16+8:]))
	for _, off := range []int{16 + 4, pageSize + 16 + 4} { // both meta pages: bbolt format 3
		binary.NativeEndian.PutUint32(data[off:], 3)
	}
	require.NoError(t, os.WriteFile(path, data, 0o600))
	assertRefusedUnchanged(t, path, "newer version")
}

func TestSecondOpenerGetsAClearErrorAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	j := openBound(t, path)
	defer j.Close()
	done := make(chan error, 1)
	go func() {
		_, err := yespobolt.Open(path)
		done <- err
	}()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Contains(t, err.Error(), "in use by another process")
	case <-time.After(10 * time.Second): // 50x the lock timeout
		t.Fatal("a second Open hangs")
	}
}

func TestClosedJournalRefusesEverything(t *testing.T) {
	j := openBound(t, filepath.Join(t.TempDir(), "journal.db"))
	require.NoError(t, j.Close())
	_, err := j.Append(ctx, []yespo.Token{tok(1)})
	require.ErrorIs(t, err, yespobolt.ErrClosed)
	require.ErrorIs(t, j.Remove(ctx, []string{"1"}), yespobolt.ErrClosed)
	_, err = j.Reclaim(ctx, 1)
	require.ErrorIs(t, err, yespobolt.ErrClosed)
	_, err = j.Stats(ctx)
	require.ErrorIs(t, err, yespobolt.ErrClosed)
	require.NoError(t, j.Close())
}

func TestDamagedEntryIsAnErrorNotASkip(t *testing.T) {
	path := filled(t, 2)
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("entries")).Put(binary.BigEndian.AppendUint64(nil, 1), []byte{1, 2, 3})
	}))
	require.NoError(t, db.Close())
	j := openBound(t, path)
	defer j.Close()
	_, err = j.Reclaim(ctx, 10)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "entry 1")
}

func TestConcurrentAppendsShareCommits(t *testing.T) {
	j := openBound(t, filepath.Join(t.TempDir(), "journal.db"))
	defer j.Close()
	const n = 1000
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			_, err := j.Append(ctx, []yespo.Token{tok(i)})
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
	assert.Less(t, j.Commits(), int64(n/10), "1,000 concurrent appends share commits")
	t.Logf("%d commits for %d concurrent appends", j.Commits(), n)
}

func TestAppendHonoursACancelledContext(t *testing.T) {
	j := openBound(t, filepath.Join(t.TempDir(), "journal.db"))
	defer j.Close()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := j.Append(cctx, []yespo.Token{tok(1)})
	require.True(t, errors.Is(err, context.Canceled))
	st, err := j.Stats(ctx)
	require.NoError(t, err)
	assert.Zero(t, st.Depth)
}
