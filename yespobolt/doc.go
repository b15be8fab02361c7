/*
Package yespobolt is an embedded journal for a yespo.Batcher: one file on
local disk, no server, for a single process. A token Batcher.Add accepted is
in the file before Add returns, and leaves it only once Yespo accepted it or
refused it for good, so that a crash, a deploy or an outage of Yespo loses
nothing: the next Batcher on the file sends what is left, first.

	j, err := yespobolt.Open("/var/lib/mybot/yespo.journal")
	if err != nil {
		return err // not a journal, truncated, newer format, in use: it says which
	}
	defer j.Close() // after the Batcher's Close
	b, err := client.NewBatcher(appUUID, yespo.BatcherOptions{Journal: j})

Delivery is at least once: a batch Yespo accepted just before a crash is
sent again by the next run, which Yespo takes as a no-op (a token is kept
once). Tokens of a journal are only ever sent to the app and base URL it
was first opened for: a Batcher for another refuses it with an error
matching yespo.ErrJournalTarget that names both.

# The file

It is a bbolt (go.etcd.io/bbolt) database, created with mode 0600: it holds
phone numbers and emails. Open refuses, without writing to it, a file that
is not a bbolt file, a bbolt file of something else, one of a newer format,
and one shorter than its header says (bbolt memory-maps the file and would
crash on it; Open reads the header itself first). A second process (or a
second Journal in this one) opening the file gets an error at once: bbolt
holds an exclusive lock on it. Keep it on a local disk (not NFS) and back
it up like any database; a copy taken while it is open may be torn.

Each append and remove is a bbolt transaction, committed with two fdatasync
calls. Calls that arrive while one commits share the next commit (group
commit): a burst of a thousand Adds costs a few commits. The commit time of
the disk bounds what one Add waits; see BENCHMARKS.md.

For replicas sharing one journal, see yesporedis.NewJournal.
*/
package yespobolt
