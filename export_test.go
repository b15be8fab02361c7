package yespo

// Unpaced lifts the Client's pace, for benchmarks of the library's own cost
// against a local sink: a sink has no budget to find, and the pace would
// hold the benchmark to Yespo's 200 requests per second. Each attempt still
// takes its turn (a lock and a channel), so that cost stays in the figures.
func Unpaced(c *Client) {
	for _, b := range []*budget{c.account, c.lookup, c.event} {
		b.mu.Lock()
		b.rate = newRateControl(1e9)
		b.mu.Unlock()
	}
}

// JournalQueue counts the Adds waiting for the Batcher's next journal
// Append.
func JournalQueue(b *Batcher) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.jr.queue)
}
