package yespobolt

// SetCommitHook makes f run before each commit, until restore is called.
func SetCommitHook(f func()) (restore func()) {
	commitHook = f
	return func() { commitHook = nil }
}

// Queued returns how many Appends and Removes wait for the next commit.
func (j *Journal) Queued() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.queue)
}
