/*
Package yespobolt is an embedded journal for a yespo.Batcher: one directory
on local disk, no server, for a single process, pure Go (bbolt). A token
Batcher.Add accepted is committed to disk before Add returns, and leaves the
journal only once Yespo accepted it or refused it for good, so that a crash,
a deploy or an outage of Yespo loses nothing: the next Batcher on the
journal sends what is left, first.

	j, err := yespobolt.Open("/var/lib/mybot/yespo.journal")
	if err != nil {
		return err // not a journal, truncated, newer format, in use: it says which
	}
	defer j.Close() // after the Batcher's Close
	b, err := client.NewBatcher(appUUID, yespo.BatcherOptions{Journal: j})

Delivery is at least once: a batch Yespo accepted just before a crash is
sent again by the next run, which Yespo takes as a no-op (a token is kept
once). Each entry keeps its token and the payload the Batcher gave it.

# The target

Tokens of a journal are only ever sent to the app and base URL it was
opened for. A Batcher for another target gets an error matching
yespo.ErrJournalTarget when the journal holds tokens: it says how many, for
which app and base URL, and the two ways out — run against that target until
the journal is empty to deliver them, or remove the directory to drop them.
An empty journal is re-bound to the new target instead, with one Warn
record (WithLogger) naming both.

# The directory

It holds one bbolt (go.etcd.io/bbolt) file, journal.db. Open creates the
directory with mode 0700 and the file with 0600: they hold phone numbers and
emails. Open refuses, without writing to it, a path that is a file (0.3.0's
journal was the file itself: the error says how to move it into a
directory), a directory of something else, a file that is not a bbolt file
or is a bbolt file of something else, one of a newer format (bbolt's or
ours), one shorter than its header says (bbolt memory-maps the file and
would crash on it; Open reads the header itself first), and a damaged one:
Open reads the journal read-only first, decoding every entry once (a page
bbolt cannot read is an error then, not a crash) and checking their number
against the count the journal keeps. A second process (or a second Journal in this
one) opening the directory gets an error at once (bbolt's lock, tried for
200 ms). Keep it on a local disk (not NFS) and back it up like any database,
after Close: a copy taken while it is open may be torn.

# Speed

Each Append is one bbolt transaction, committed with two fdatasync calls
(the data pages, then the meta page); Removes and Appends that arrive while
one commits share the next (group commit), and the Batcher puts all the
Adds that arrived while one Append ran into the next Append: a burst of a
thousand Adds costs a few commits. Stats costs two key reads: the depth is a
count kept in the same transactions as the entries, the oldest entry the
first key. See BENCHMARKS.md for the figures.

A commit that fails (a full disk) is an error from Add, with the file
system's words; bbolt rolls it back, and the journal takes writes again once
the disk has room.

For replicas sharing one journal, see yesporedis.NewJournal.
*/
package yespobolt
