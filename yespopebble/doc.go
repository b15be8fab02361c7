/*
Package yespopebble is an embedded journal for a yespo.Batcher: one
directory on local disk, no server, for a single process. A token
Batcher.Add accepted is synced to disk before Add returns, and leaves the
journal only once Yespo accepted it or refused it for good, so that a crash,
a deploy or an outage of Yespo loses nothing: the next Batcher on the
journal sends what is left, first.

	j, err := yespopebble.Open("/var/lib/mybot/yespo.journal")
	if err != nil {
		return err // not a journal, damaged, newer format, in use: it says which
	}
	defer j.Close() // after the Batcher's Close
	b, err := client.NewBatcher(appUUID, yespo.BatcherOptions{Journal: j})

Delivery is at least once: a batch Yespo accepted just before a crash is
sent again by the next run, which Yespo takes as a no-op (a token is kept
once). Tokens of a journal are only ever sent to the app and base URL it
was first opened for: a Batcher for another refuses it with an error
matching yespo.ErrJournalTarget that names both.

# The directory

It holds a Pebble store (github.com/cockroachdb/pebble, CockroachDB's
storage engine) and a small file of ours, YESPO-JOURNAL, that marks it as a
journal. Open creates the directory with mode 0700 and every file in it
with 0600: it holds phone numbers and emails. Open refuses, without writing
to it, a file that is not a directory, a directory of something else, a
journal of a newer format, and a damaged one: Open reads every entry once,
read-only, before it writes anything, and a journal closed cleanly must
hold as many entries as the mark says it held (a table file or a manifest
cut short or lost is refused; a log cut short after a crash is what the
crash left, and Pebble reads it up to the cut). A second process (or a
second Journal in this one) opening the directory gets an error at once.
Keep it on a local disk (not NFS) and back it up like any database, after
Close: a copy taken while it is open may be torn.

# Speed

An Append is one Pebble batch, written to Pebble's log with one fdatasync,
and the Batcher puts all the Adds that arrived while one Append ran into the
next (group commit): a burst of a thousand Adds costs a few syncs, and one
Add waits about two syncs of the disk. Pebble's log is zero-filled ahead of its writes, so that a sync
does not also update the file system's metadata; see BENCHMARKS.md for the
figures. Remove does not wait for a sync: the next Append's, or Close, makes
it durable, and one lost to a power cut only means a token is sent twice.

A write that fails (a full disk) is an error from Add; the journal then
refuses every call, and the process should restart once the disk has room.
Pebble stops the process itself if one of its background writes fails.

For replicas sharing one journal, see yesporedis.NewJournal.
*/
package yespopebble
