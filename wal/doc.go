/*
Package wal is durable storage for a raft node: a write-ahead log and a
snapshot file in one directory, behind the raft.Storage interface.

	store, err := wal.Open(dir, wal.Options{})     // recovers what is on disk
	cfg.Storage = store                             // raft reads through it
	err = store.Save(rd)                            // in the Ready loop, before sending rd.Messages

A Store replaces raft.MemoryStorage: where a host called Append,
SetHardState and ApplySnapshot on a MemoryStorage and synced something of
its own, it calls Save (or, with Config.AsyncStorageWrites, SaveAppends),
which does both. CreateSnapshot and Compact work as MemoryStorage's do, and
are durable when they return; unlike MemoryStorage's, they return errors
rather than panic on bad arguments, and Compact refuses to pass the
snapshot, since the entries it would drop would then be lost. The package has no dependency besides the
raft module and the standard library.

# What is durable when

  - Save(rd) with rd.MustSync, or with a snapshot in rd, returns nil only
    once rd's HardState, entries and snapshot, and everything saved before,
    are on stable storage (fdatasync of the log, and of the directory when
    a file was created in it). The Ready's messages may then be sent.
  - Save(rd) without MustSync (a Ready that only moves the commit index)
    writes without syncing: rd survives a crash of the process, but a crash
    of the machine may lose it, together with any later unsynced write;
    never an earlier write without the later ones. The next synced call
    makes it durable too. Losing a commit index is safe: raft learns it
    again from the leader.
  - SaveAppends(msgs...) persists MsgStorageAppend messages in order with at
    most one fsync for all of them (only if one of them needs it, as
    raft.MustSync says), then returns their Responses to deliver.
  - CreateSnapshot, ApplySnapshot and Compact are durable when they return
    nil. A snapshot's data goes to its own file, written under a temporary
    name, synced, renamed and its directory synced before the log records
    that it is the current snapshot.
  - Close syncs nothing: everything acknowledged as durable already is.

A crash therefore loses at most the writes that no synced call covered: the
state after Open is the state after some prefix of the writes made, no
shorter than what the last successful synced call covered. Nothing that
was never written appears.

This relies on the file system keeping, across a machine crash, a prefix of
what was appended to a file since it was last synced, as ext4 (in its
default data=ordered mode) and XFS do. A disk that acknowledges a flush
before the data is stable defeats any fsync-based store, this one included.

# What an error leaves

  - Invalid input is an error that changes nothing: entries that are not
    consecutive, leave a gap after the last index, have decreasing terms,
    or would replace a committed entry with a different one; a commit index
    past the last entry; a HardState whose term goes back; a snapshot not
    newer than the current one (raft.ErrSnapOutOfDate); compacting past the
    snapshot or the last index. The store stays usable. SaveAppends stops
    at the first invalid message, after persisting those before it.
  - An I/O error from a write or a sync fails the store: the call and every
    later write return an error wrapping ErrFailed (and the I/O error).
    Reads keep answering the state of the writes that reached the files.
    The host should stop the raft node, close the store and Open it again
    (after fixing the cause): Open recovers what reached the disk. A write
    is never half applied silently: a failed store refuses to go on rather
    than guessing what a failed fsync kept.
  - Read errors are returned by Entries and Snapshot as they are; damage
    found when reading is a *CorruptError.

# Recovery

Open reads every segment once, checking every record's CRC-32C. A record
cut short, a last record whose checksum fails, or zero bytes up to the end,
at the very end of the last segment, is a write torn by a crash: it is cut
off (it was never acknowledged). Damage anywhere else, a segment of a
format version this package does not read (see Files), a missing segment
in the middle or a missing snapshot file
is a *CorruptError naming the file and the byte offset: Open never skips
data and never panics, whatever the files hold. Open also removes what an
interrupted write left behind: temporary files, snapshot files other than
the current one, and segments that compaction had already released.

Opening reads the log once at the speed of the disk and of CRC-32C: 1 GiB
of 4 KiB entries opens in under half a second from the page cache (see
BenchmarkOpen), and in the time it takes to read it from a cold disk.

# Files

The directory holds segment files, named by a sequence number
(0000000000000001.wal, ...), and the current snapshot's file, named by its
term and index. A new segment is started when the current one would pass
Options.SegmentBytes (64 MiB by default). Each segment starts with a header
that carries the format version, then a record of the store's state at
that point (HardState, snapshot, compacted and last index), so that
segments before it can be deleted once every entry they hold is compacted.
Records are length-prefixed and checksummed one by one (CRC-32C), and each
has room for a raft group ID, so that a later version can keep many groups
in one log (this version stores group 0 only and rejects others). The
entries of one Save are packed, in order and each with its own length,
into records of up to 8 KiB (an entry too large for that has a record of
its own): one checksum over many small entries costs far less than one per
entry. A crash keeps or loses such a record whole.

The format version is 2. Segments of version 1 (whose entries each have a
record of their own) are read; Open then starts a new segment, so that a
segment never mixes versions. A segment of any other version is a
*CorruptError.

# Memory and reads

The terms of all retained entries are kept in memory, one word per change
of term, so Term never reads the disk and never allocates; the location of
each entry costs 4 bytes (up to 8 while its segment is the one being
written). The most recent entries stay in a cache of
Options.CacheBytes (8 MiB by default): Entries answers from it without
touching the disk, and without allocating when the range lies within one of
its 512-entry chunks. Older entries are read from their segment with their
checksum verified. The snapshot's data is read from its file on the first
Snapshot call after Open, then kept.

# Cost of a write

A synced Save costs what writing its bytes to a file and fdatasyncing it
costs, plus the store's own work before and after the write: encoding and
checksumming the records, and updating the log index and the cache. The
data of entries of 2 KiB or more is not copied: the write passes it to the
file system where it lies (writev on Linux). For 256 entries of 128 bytes
that work is about 15-20 us, for 256 of 4 KiB about 100 us, mostly the
checksum of 1 MiB (BenchmarkAppendCPU, on an idle core). BenchmarkAppendPaired compares Save
with that floor, the same bytes written and fdatasynced to one file on the
same disk in the same run; BenchmarkFloorAgainstFloor shows how far noise
alone moves such a comparison.

# Concurrency and determinism

A Store is safe for concurrent use; every method takes one lock, so raft
may read while an append goroutine calls SaveAppends. It starts no
goroutine and no timer. Driven from one goroutine over a deterministic
vfs.FS, such as the in-memory faultfs.FS, it is deterministic: a simulation
can crash it (faultfs.FS.Crash) at any point and Open it again.

Two processes must not open the same directory at once; the store takes no
lock on it.
*/
package wal
