package yespo

import (
	"runtime"
	"strconv"
	"strings"
)

// goid returns the id of the calling goroutine, read from the header of
// its stack trace ("goroutine 42 [running]:"). Close waits for the OnBatch
// calls in progress, except the one it is called from: OnBatch may call
// Close, and a Close that waited for its own caller would never return.
// Go offers no other way to tell; this costs about a microsecond per
// batch and per Close.
func goid() uint64 {
	var buf [64]byte
	s := strings.TrimPrefix(string(buf[:runtime.Stack(buf[:], false)]), "goroutine ")
	if i := strings.IndexByte(s, ' '); i > 0 {
		s = s[:i]
	}
	id, _ := strconv.ParseUint(s, 10, 64)
	return id
}
