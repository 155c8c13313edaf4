// Package store keeps callgate's state in one SQLite file: tenants, app
// keys, callback configs, messages, deliveries, attempts and receipts.
//
// All writes go through a single writer goroutine that commits whatever is
// queued in one transaction (group commit): it never waits for a batch to
// fill, so a lone write costs one commit and a burst shares one. Each write
// runs inside its own savepoint, so one failing write does not undo the
// others in its batch. Reads use a separate pool of read-only connections,
// which WAL mode lets run beside the writer.
//
// A write returns only after its transaction is committed. With
// synchronous=NORMAL (the default) a committed write survives the process
// being killed; with FULL it also survives a power loss.
package store
