package raft

import (
	"math"

	pb "github.com/quorate/raft/raftpb"
)

// unstable is the part of the log that raft holds in memory and that has
// not been acknowledged as persisted yet: possibly a snapshot received from
// the leader, followed by entries. Its content is handed out to the
// application for persisting (in a Ready or a MsgStorageAppend), and leaves
// unstable once the application acknowledges it (stableTo, stableSnapTo);
// from then on raft reads it through Storage.
//
// NB: slices of entries handed out (to be persisted, in CommittedEntries, or
// inside a MsgApp to a follower) may be used by the application long after
// raft moved on, so unstable never writes into an array position it has
// handed out: appends go past the end of the array's used part, and a
// truncation moves the kept prefix to a fresh array. The array positions
// before entries[0] (persisted and dropped) are never reused either.
type unstable struct {
	// snapshot is the snapshot to persist, if any. It is always newer than
	// anything in Storage.
	// Invariant: snapshot == nil || offset == snapshot.Metadata.Index+1.
	snapshot *pb.Snapshot
	// entries are the entries to persist, following the snapshot (if any) or
	// the entries in Storage; they may replace a conflicting suffix of the
	// entries in Storage.
	// Invariant: entries[i].Index == offset+i.
	entries []pb.Entry
	// offset is the index of entries[0], or the index the next entry would
	// have when entries is empty. Entries below offset are in Storage.
	offset uint64
	// belowTerm is the term of the entry at offset-1 when belowKnown: the
	// last entry of Storage or of the unstable snapshot. It is what a
	// follower matches the next append against and what a leader sends
	// ahead of new entries, so knowing it spares those lookups Storage.
	// NB: the term alone, since the index is offset-1; moving offset
	// without setting both is a bug.
	belowTerm  uint64
	belowKnown bool

	// snapshotInProgress is true once the snapshot has been handed out for
	// persisting and until it is acknowledged.
	// Invariant: snapshotInProgress implies snapshot != nil.
	snapshotInProgress bool
	// lastCap is the capacity of the array allocated last, or 0 after the
	// array was released. Each new array doubles it, up to steadyUnstableCap,
	// so that a steady flow of appends soon allocates rarely while a group
	// that appended a single entry and fell idle keeps a small array.
	// NB: an int32 beside the flags, where it takes no room of its own.
	lastCap int32
	// offsetInProgress is the index of the first entry not yet handed out for
	// persisting: entries[:offsetInProgress-offset] are being persisted.
	// Invariant: offset <= offsetInProgress <= offset+len(entries).
	offsetInProgress uint64

	// retained is the payload size of the persisted entries that were
	// dropped from the front of entries but whose array the slice still
	// keeps alive. shrinkEntriesArray uses it to release that memory.
	retained entryPayloadSize
}

const (
	// steadyUnstableCap is the capacity the arrays of a steady flow of
	// appends grow to. Since array positions are never reused, such a flow
	// of single-entry appends and acknowledgements then allocates one array
	// per steadyUnstableCap entries rather than one per entry.
	steadyUnstableCap = 64
	// maxRetainedPayload bounds the payload bytes of persisted entries that
	// an empty unstable keeps alive through its backing array.
	maxRetainedPayload entryPayloadSize = 64 << 10
)

// lastIndex returns the index of the last entry in the log, if the
// unstable entries or snapshot determine it.
func (u *unstable) lastIndex() (uint64, bool) {
	switch {
	case len(u.entries) > 0:
		return u.offset + uint64(len(u.entries)) - 1, true
	case u.snapshot != nil:
		return u.snapshot.Metadata.Index, true
	}
	return 0, false
}

// termAt returns the term of the entry at index i, if it is one of the
// unstable entries, or the entry before them when that is known (the last
// entry the unstable snapshot covers, or the last one persisted).
func (u *unstable) termAt(i uint64) (uint64, bool) {
	if i >= u.offset {
		if k := i - u.offset; k < uint64(len(u.entries)) {
			return u.entries[k].Term, true
		}
		return 0, false
	}
	if u.belowKnown && i == u.offset-1 {
		return u.belowTerm, true
	}
	if snap := u.snapshot; snap != nil && snap.Metadata.Index == i {
		return snap.Metadata.Term, true
	}
	return 0, false
}

// nextEntries returns the entries not yet handed out for persisting, or nil.
// The slice is capped so that appending to it cannot touch unstable's array.
func (u *unstable) nextEntries() []pb.Entry {
	start := u.offsetInProgress - u.offset
	n := uint64(len(u.entries))
	if start == n {
		return nil
	}
	return u.entries[start:n:n]
}

// nextSnapshot returns the snapshot if it has not been handed out for
// persisting yet, or nil.
func (u *unstable) nextSnapshot() *pb.Snapshot {
	if u.snapshot == nil || u.snapshotInProgress {
		return nil
	}
	return u.snapshot
}

// acceptInProgress marks everything nextEntries and nextSnapshot returned as
// handed out for persisting, so that they are not returned again.
func (u *unstable) acceptInProgress() {
	if len(u.entries) != 0 {
		u.offsetInProgress = u.offset + uint64(len(u.entries))
	}
	if u.snapshot != nil {
		u.snapshotInProgress = true
	}
}

// stableTo records that the entries up to and including id are persisted,
// and drops them from unstable.
//
// NB: an acknowledgement can be stale. If, after the entries were handed
// out, a newer leader overwrote the entry at id.index, the entry persisted
// was the old one: the new one is not persisted and must stay. The term
// check detects this, since two entries with the same index and term are
// the same entry (Log Matching, Raft paper 5.3). An acknowledgement of an
// entry that is no longer unstable at all is ignored too.
//
// It returns the term of the unstable entry at id.index when it ignored the
// acknowledgement for being stale, and 0 otherwise.
func (u *unstable) stableTo(id entryID) (staleTerm uint64) {
	term, ok := u.termAt(id.index)
	if !ok || id.index < u.offset {
		// Either already dropped, truncated away, or the snapshot's own
		// index, which only stableSnapTo acknowledges.
		return 0
	}
	if term != id.term {
		return term
	}
	n := id.index + 1 - u.offset
	u.offset = id.index + 1
	u.belowTerm, u.belowKnown = id.term, true
	u.offsetInProgress = max(u.offsetInProgress, u.offset)
	if n == uint64(cap(u.entries)) {
		// All of the array is persisted and it has no room left: nothing
		// in it is worth keeping. NB: what shrinkEntriesArray would conclude,
		// without summing the payloads it then forgets; a follower taking
		// the leader's arrays (see appendInPlace) gets here every time.
		u.entries, u.retained = nil, 0
		return 0
	}
	u.retained += payloadsSize(u.entries[:n])
	u.entries = u.entries[n:]
	u.shrinkEntriesArray()
	return 0
}

// shrinkEntriesArray lets go of the backing array when it holds much more
// than the live entries, so that a burst of entries does not pin memory
// after it is persisted: when it has no room left (then it is empty), when
// fewer than a quarter of the remaining capacity is in use, or when
// unstable is empty but still keeps more than maxRetainedPayload bytes of
// persisted payloads alive.
func (u *unstable) shrinkEntriesArray() {
	n := len(u.entries)
	if cap(u.entries) == 0 {
		// Nothing left to append into: only persisted entries would be
		// kept alive. The growth goes on with the next array.
		u.entries, u.retained = nil, 0
		return
	}
	if c := cap(u.entries); c > steadyUnstableCap && n*4 < c {
		u.reallocate(n)
		return
	}
	if n == 0 && u.retained > maxRetainedPayload {
		u.reallocate(0)
	}
}

// reallocate moves the entries to a fresh array with room for at least
// extra more.
func (u *unstable) reallocate(extra int) {
	u.retained = 0
	if len(u.entries) == 0 && extra == 0 {
		u.release()
		return
	}
	size := max(2*(len(u.entries)+extra), min(2*int(u.lastCap), steadyUnstableCap))
	if len(u.entries) == 0 {
		// A batch into an empty unstable gets an array of its own size: it
		// is likely persisted before anything follows it.
		size = max(extra, min(2*int(u.lastCap), steadyUnstableCap))
	}
	u.lastCap = int32(min(size, math.MaxInt32))
	fresh := make([]pb.Entry, len(u.entries), size)
	copy(fresh, u.entries)
	u.entries = fresh
}

// release drops the array of an empty unstable, and with it the growth of
// the next one.
func (u *unstable) release() {
	u.entries = nil
	u.retained = 0
	u.lastCap = 0
}

// releaseIdle drops the array if unstable is empty: called once per tick, so
// that a group that fell idle keeps no spare capacity around, while a busy
// one reallocates at most once per tick for it.
func (u *unstable) releaseIdle() {
	if len(u.entries) == 0 && u.entries != nil {
		u.release()
	}
}

// stableSnapTo records that the snapshot at index i is persisted and drops
// it. An acknowledgement for another snapshot is ignored.
func (u *unstable) stableSnapTo(i uint64) {
	if u.snapshot != nil && u.snapshot.Metadata.Index == i {
		u.snapshot = nil
		u.snapshotInProgress = false
	}
}

// restore replaces the unstable content with snapshot s: every entry is
// dropped and the log continues after s.
func (u *unstable) restore(s pb.Snapshot) {
	u.offset = s.Metadata.Index + 1
	u.belowTerm, u.belowKnown = s.Metadata.Term, true
	u.offsetInProgress = u.offset
	u.release()
	u.snapshot = &s
	u.snapshotInProgress = false
}

// truncateAndAppend appends ents, which must be contiguous, to the log. If
// ents[0] does not follow the last entry, the log is first truncated so that
// it does: unstable entries from ents[0].Index on are discarded (and entries
// of Storage from there on become stale, to be overwritten when ents are
// persisted). The caller guarantees that no committed entry is truncated.
// If shared, nothing writes to ents' array any more (see appendInPlace).
//
// It returns what became of the entries from ents[0].Index on, for the
// caller to log: "" when there were none, else "replacing" (all unstable
// entries, and possibly stored ones) or "truncating" (a suffix).
func (u *unstable) truncateAndAppend(ents []pb.Entry, shared bool) (discarded string) {
	if len(ents) == 0 {
		return ""
	}
	from := ents[0].Index
	end := u.offset + uint64(len(u.entries))
	switch {
	case from == end:
		// The common case: ents directly follow the log.
		u.appendInPlace(ents, shared)
	case from <= u.offset:
		if u.snapshot != nil && from <= u.snapshot.Metadata.Index {
			invariantBroken("unstable: appending at index %d would overwrite the unstable snapshot at index %d",
				from, u.snapshot.Metadata.Index)
		}
		u.release()
		if from < u.offset {
			// The entry before from is in Storage; ask it when needed.
			u.belowKnown = false
		}
		u.offset = from
		u.offsetInProgress = from
		u.appendInPlace(ents, shared)
		return "replacing"
	case from < end:
		// NB: entries[from-offset:] may have been handed out and still be in
		// use, so they are not overwritten: the kept prefix moves to a fresh
		// array.
		u.entries = u.entries[:from-u.offset]
		u.reallocate(len(ents))
		u.entries = append(u.entries, ents...)
		u.offsetInProgress = min(u.offsetInProgress, from)
		return "truncating"
	default:
		invariantBroken("unstable: appending at index %d leaves a gap after the last index %d", from, end-1)
	}
	return ""
}

// appendInPlace appends ents after the last entry, into the spare capacity
// of the array when it has room (never handed out, see unstable), else into
// a fresh array. If shared, the caller promises that nothing writes to ents'
// array any more, and an empty unstable takes that array instead of copying
// it, capped at ents' length so that the next append moves to an array of
// unstable's own.
func (u *unstable) appendInPlace(ents []pb.Entry, shared bool) {
	if shared && len(u.entries) == 0 {
		u.entries = ents[:len(ents):len(ents)]
		u.retained = 0
		return
	}
	if cap(u.entries)-len(u.entries) < len(ents) {
		u.reallocate(len(ents))
	}
	u.entries = appendInRoom(u.entries, ents)
}

// slice returns the unstable entries in [lo, hi), which must lie within the
// unstable entries. The slice is capped so that appending to it copies.
func (u *unstable) slice(lo, hi uint64) []pb.Entry {
	end := u.offset + uint64(len(u.entries))
	if lo < u.offset || lo > hi || hi > end {
		invariantBroken("unstable.slice[%d,%d) out of bounds [%d,%d)", lo, hi, u.offset, end)
	}
	return u.entries[lo-u.offset : hi-u.offset : hi-u.offset]
}
