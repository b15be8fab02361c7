package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A checkpoint resumes only for what it was written for.
func TestLoadCheckpointChecksWhatItIsFor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "subs.csv.checkpoint")
	a := target{AppUUID: "0f8fad5b-d9cb-469f-a165-70867728950e", BaseURL: "https://yespo.io/api/"}
	in := identity{Size: 100, ModTime: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Head: "ab"}
	cp := checkpoint{Version: checkpointVersion, Target: a, Input: in, Prefix: span{10, 50, 2, 5}, Spans: []span{{60, 70, 7, 7}}, Done: counts{Sent: 4, Rejected: 1}}
	require.NoError(t, cp.save(path))

	got, err := loadCheckpoint(path, a, in)
	require.NoError(t, err)
	assert.Equal(t, cp, *got)

	b := a
	b.AppUUID = "123e4567-e89b-12d3-a456-426614174000"
	_, err = loadCheckpoint(path, b, in)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "into app 0f8fad5b-d9cb-469f-a165-70867728950e at https://yespo.io/api/, but this run is for app 123e4567-e89b-12d3-a456-426614174000 at https://yespo.io/api/")
	assert.Contains(t, err.Error(), "run with -restart (or delete "+path+")")

	other := in
	other.Head = "cd"
	_, err = loadCheckpoint(path, a, other)
	assert.ErrorContains(t, err, "the input changed since")

	require.NoError(t, os.WriteFile(path, []byte(`{"row":805,"offset":30000,"done":{"sent":800}}`), 0o644))
	_, err = loadCheckpoint(path, a, in)
	assert.ErrorContains(t, err, "written by an earlier version of import-subscribers, which did not record the app")

	require.NoError(t, os.WriteFile(path, []byte(`{"version":2,`), 0o644))
	_, err = loadCheckpoint(path, a, in)
	assert.ErrorContains(t, err, "is damaged")

	got, err = loadCheckpoint(filepath.Join(t.TempDir(), "none"), a, in)
	assert.NoError(t, err)
	assert.Nil(t, got)
}
