package raft

import (
	"errors"
	"fmt"

	pb "github.com/quorate/raft/raftpb"
)

// raftLog is a node's view of the replicated log: the stable part, read
// through Storage, followed by the unstable tail held in memory until the
// application persists it. It also tracks how far the log is committed and
// how far the application has applied it.
//
// Indexes below storage's FirstIndex are compacted into a snapshot; the
// entry right before it (firstIndex()-1) is only known by its term.
//
// NB: assertf's arguments are boxed before it is called, which allocates.
// On paths taken per message or per entry, checks are therefore written as
// `if violated { assertf(false, ...) }`, so that nothing is allocated
// unless an invariant is actually broken.
type raftLog struct {
	// storage holds the entries that have been persisted, up to
	// unstable.offset-1 (entries of Storage from unstable.offset on, if any,
	// are stale and about to be overwritten).
	storage Storage
	// unstable holds what is not persisted yet.
	unstable unstable

	// committed is the highest index known to be committed (Raft paper 5.3).
	// Invariant: applied <= applying <= committed <= lastIndex().
	committed uint64
	// applying is the highest index handed to the application for applying
	// (in CommittedEntries), whether or not it confirmed applying it.
	applying uint64
	// applied is the highest index the application confirmed applied.
	applied uint64

	logger Logger

	// maxApplyingEntsSize bounds the total size of committed entries handed
	// to the application and not yet confirmed applied
	// (Config.MaxCommittedSizePerReady).
	maxApplyingEntsSize entryEncodingSize
	// applyingEntsSize is the total size of the entries in (applied,
	// applying], as reported by acceptApplying and appliedTo.
	applyingEntsSize entryEncodingSize
	// applyingEntsPaused is true while no more committed entries may be
	// handed out until the application confirms applying some: either the
	// size bound is reached, or the last batch was cut short by it.
	applyingEntsPaused bool
}

// newLog returns a log over storage, with no bound on the size of committed
// entries handed out at once. See newLogWithSize.
func newLog(storage Storage, logger Logger) *raftLog {
	return newLogWithSize(storage, logger, noSizeLimit)
}

// newLogWithSize returns a log over storage that hands out at most
// maxApplyingEntsSize bytes of committed entries not yet confirmed applied
// (but always at least one entry). The log starts committed and applied up
// to the storage's snapshot; the unstable tail starts after its last entry.
// It panics if storage fails.
func newLogWithSize(storage Storage, logger Logger, maxApplyingEntsSize entryEncodingSize) *raftLog {
	firstIndex, err := storage.FirstIndex()
	if err != nil {
		assertf(false, "reading the first index of storage: %v", err)
	}
	lastIndex, err := storage.LastIndex()
	if err != nil {
		assertf(false, "reading the last index of storage: %v", err)
	}
	return &raftLog{
		storage: storage,
		unstable: unstable{
			offset:           lastIndex + 1,
			offsetInProgress: lastIndex + 1,
			logger:           logger,
		},
		committed:           firstIndex - 1,
		applying:            firstIndex - 1,
		applied:             firstIndex - 1,
		logger:              logger,
		maxApplyingEntsSize: maxApplyingEntsSize,
	}
}

// String summarises the log's indexes for log messages.
func (l *raftLog) String() string {
	return fmt.Sprintf("committed=%d, applied=%d, applying=%d, unstable.offset=%d, unstable.offsetInProgress=%d, len(unstable.entries)=%d",
		l.committed, l.applied, l.applying, l.unstable.offset, l.unstable.offsetInProgress, len(l.unstable.entries))
}

// firstIndex returns the index of the first entry that may be in the log.
func (l *raftLog) firstIndex() uint64 {
	if i, ok := l.unstable.maybeFirstIndex(); ok {
		return i
	}
	i, err := l.storage.FirstIndex()
	if err != nil {
		assertf(false, "reading the first index of storage: %v", err)
	}
	return i
}

// lastIndex returns the index of the last entry in the log.
func (l *raftLog) lastIndex() uint64 {
	if i, ok := l.unstable.maybeLastIndex(); ok {
		return i
	}
	i, err := l.storage.LastIndex()
	if err != nil {
		assertf(false, "reading the last index of storage: %v", err)
	}
	return i
}

// lastTerm returns the term of the last entry in the log.
func (l *raftLog) lastTerm() uint64 {
	return l.lastEntryID().term
}

// lastEntryID returns the ID of the last entry in the log.
func (l *raftLog) lastEntryID() entryID {
	last := l.lastIndex()
	t, err := l.term(last)
	if err != nil {
		assertf(false, "reading the term of the last entry %d: %v", last, err)
	}
	return entryID{term: t, index: last}
}

// term returns the term of the entry at index i. The valid range is
// [firstIndex()-1, lastIndex()]: the term of the entry just before the first
// is kept (by the snapshot) so that appends right after it can be matched.
// It returns ErrCompacted below that range and ErrUnavailable above it, and
// panics on any other storage error. It does not allocate, and reads
// Storage at most once.
func (l *raftLog) term(i uint64) (uint64, error) {
	// The unstable tail answers most lookups (recent entries) without
	// touching Storage.
	if t, ok := l.unstable.maybeTerm(i); ok {
		return t, nil
	}
	// Past the unstable entries, or past a lone unstable snapshot: nothing.
	if i >= l.unstable.offset {
		return 0, ErrUnavailable
	}
	// Below an unstable snapshot (its own index was answered above) every
	// entry is compacted, whatever Storage still holds.
	if l.unstable.snapshot != nil {
		return 0, ErrCompacted
	}
	// NB: every entry below unstable.offset is in Storage, since the tail
	// only leaves unstable once persisted; Storage itself answers
	// ErrCompacted below its first index minus one.
	t, err := l.storage.Term(i)
	if err == nil || errors.Is(err, ErrCompacted) || errors.Is(err, ErrUnavailable) {
		return t, err
	}
	assertf(false, "reading the term of entry %d from storage: %v", i, err)
	return 0, err
}

// matchTerm reports whether the log holds the entry id.
func (l *raftLog) matchTerm(id entryID) bool {
	t, err := l.term(id.index)
	return err == nil && t == id.term
}

// isUpToDate reports whether a log ending at their is at least as up to date
// as this one (Raft paper 5.4.1): a later last term wins, and with equal
// last terms the longer log wins.
func (l *raftLog) isUpToDate(their entryID) bool {
	our := l.lastEntryID()
	return their.term > our.term || (their.term == our.term && their.index >= our.index)
}

// findConflict returns the index of the first entry of ents that the log
// does not hold: either its term differs from the log's entry at that
// index, or it is past the end of the log. It returns 0 when the log holds
// all of ents. The entries must be contiguous.
func (l *raftLog) findConflict(ents []pb.Entry) uint64 {
	for i := range ents {
		id := pbEntryID(&ents[i])
		if l.matchTerm(id) {
			continue
		}
		if id.index <= l.lastIndex() {
			l.logger.Infof("found a conflict at index %d: existing term %d, conflicting term %d",
				id.index, l.zeroTermOnOutOfBounds(l.term(id.index)), id.term)
		}
		return id.index
	}
	return 0
}

// findConflictByTerm returns the last entry (index, term) of the log with
// index <= index and term <= term. If the term of some index at or below
// index is unknown (compacted, or past the end of the log), it returns that
// index with term 0: it could match, so the search stops there.
//
// A follower rejecting an append at (index, term) uses it to hint where its
// log may match the leader's, and the leader uses it on the hint to find
// where its own log may match the follower's: every entry between the
// result and index has a term above `term`, so none of them can match, and
// the leader skips a whole term per round trip instead of one entry (Raft
// paper 5.3, the optimisation at the end of the section).
func (l *raftLog) findConflictByTerm(index, term uint64) (uint64, uint64) {
	for ; index > 0; index-- {
		t, err := l.term(index)
		if err != nil {
			return index, 0
		}
		if t <= term {
			return index, t
		}
	}
	return 0, 0
}

// maybeAppend handles the entries of an append from the leader (Raft paper
// 5.3). If the log does not hold a.prev, it returns ok == false and changes
// nothing. Otherwise it appends the entries of a that the log does not hold
// yet, truncating the log at the first conflicting entry, commits up to
// min(committed, a.lastIndex()) and returns a.lastIndex().
//
// It panics if the conflict is at or below the commit index: a committed
// entry is never overwritten (Leader Completeness, paper 5.4), so a leader
// asking for it means some log was corrupted.
func (l *raftLog) maybeAppend(a logSlice, committed uint64) (lastnewi uint64, ok bool) {
	if !l.matchTerm(a.prev) {
		return 0, false
	}
	lastnewi = a.lastIndex()
	if ci := l.findConflict(a.entries); ci != 0 {
		if ci <= l.committed {
			assertf(false, "entry %d conflicts with a committed entry: committed index is %d", ci, l.committed)
		}
		l.append(a.entries[ci-a.prev.index-1:]...)
	}
	l.commitTo(min(committed, lastnewi))
	return lastnewi, true
}

// append appends ents to the log, truncating any entries from ents[0].Index
// on, and returns the new last index. It panics if that would truncate a
// committed entry or leave a gap.
func (l *raftLog) append(ents ...pb.Entry) uint64 {
	if len(ents) == 0 {
		return l.lastIndex()
	}
	after := ents[0].Index - 1
	if after < l.committed {
		assertf(false, "appending after index %d would truncate committed entries up to %d", after, l.committed)
	}
	l.unstable.truncateAndAppend(ents)
	return l.lastIndex()
}

// commitTo raises the commit index to tocommit; a lower tocommit is
// ignored, as the commit index never decreases. It panics if tocommit is
// past the last index: that would mean the log lost entries that a leader
// knows this node holds.
func (l *raftLog) commitTo(tocommit uint64) {
	if tocommit <= l.committed {
		return
	}
	if last := l.lastIndex(); tocommit > last {
		assertf(false, "commit index %d is past the last index %d: was the log corrupted, truncated or lost?",
			tocommit, last)
	}
	l.committed = tocommit
}

// maybeCommit commits up to at.index if that raises the commit index and the
// log holds the entry at (a leader only commits entries of its own term by
// counting replicas, Raft paper 5.4.2). It reports whether it committed.
func (l *raftLog) maybeCommit(at entryID) bool {
	if at.index > l.committed && l.matchTerm(at) {
		l.commitTo(at.index)
		return true
	}
	return false
}

// appliedTo records that the application applied the entries up to index i,
// whose total size (of those newly confirmed) is size, releasing that much
// of the applying size budget; once everything handed out is applied, the
// whole budget is free again. It panics if i is below the applied index or
// above the commit index.
func (l *raftLog) appliedTo(i uint64, size entryEncodingSize) {
	if i < l.applied || i > l.committed {
		assertf(false, "applied index %d out of range [%d, %d] (applied, committed)", i, l.applied, l.committed)
	}
	l.applied = i
	switch {
	case i >= l.applying:
		l.applying = i
		l.applyingEntsSize = 0
	case l.applyingEntsSize > size:
		l.applyingEntsSize -= size
	default:
		l.applyingEntsSize = 0
	}
	// NB: with nothing outstanding there is nothing to wait for, even when
	// the bound is 0.
	l.applyingEntsPaused = l.applyingEntsSize != 0 && l.applyingEntsSize >= l.maxApplyingEntsSize
}

// acceptApplying records that the committed entries up to index i, of total
// size `size`, were handed to the application (as returned by
// nextCommittedEnts with the same allowUnstable). Handing out more pauses
// when the size bound is reached, or when this batch stopped short of what
// could be applied, which means the bound cut it: the next batch then waits
// for appliedTo.
func (l *raftLog) acceptApplying(i uint64, size entryEncodingSize, allowUnstable bool) {
	if i > l.committed {
		assertf(false, "applying index %d is past the commit index %d", i, l.committed)
	}
	l.applying = i
	l.applyingEntsSize += size
	l.applyingEntsPaused = (l.applyingEntsSize != 0 && l.applyingEntsSize >= l.maxApplyingEntsSize) ||
		i < l.maxAppliableIndex(allowUnstable)
}

// maxAppliableIndex returns the highest index that may be handed out for
// applying: committed, and, unless allowUnstable, persisted. Applying an
// entry this node has not persisted is safe when it is committed, since a
// quorum holds it, but the application may want to see its own writes first.
func (l *raftLog) maxAppliableIndex(allowUnstable bool) uint64 {
	hi := l.committed
	if !allowUnstable {
		hi = min(hi, l.unstable.offset-1)
	}
	return hi
}

// hasNextCommittedEnts reports whether nextCommittedEnts would return
// entries.
func (l *raftLog) hasNextCommittedEnts(allowUnstable bool) bool {
	if l.applyingEntsPaused || l.unstable.snapshot != nil {
		return false
	}
	return l.applying < l.maxAppliableIndex(allowUnstable)
}

// nextCommittedEnts returns the committed entries to hand to the
// application next: from applying+1 to at most maxAppliableIndex, bounded by
// what is left of the applying size budget (but at least one entry). It
// returns nil while a snapshot is pending (the entries after it cannot be
// applied before it) or while handing out is paused.
func (l *raftLog) nextCommittedEnts(allowUnstable bool) []pb.Entry {
	if !l.hasNextCommittedEnts(allowUnstable) {
		return nil
	}
	lo, hi := l.applying+1, l.maxAppliableIndex(allowUnstable)+1
	ents, err := l.slice(lo, hi, l.maxApplyingEntsSize-l.applyingEntsSize)
	if err != nil {
		assertf(false, "reading committed entries [%d, %d): %v", lo, hi, err)
	}
	return ents
}

// hasNextUnstableEnts reports whether there are unstable entries not yet
// handed out for persisting.
func (l *raftLog) hasNextUnstableEnts() bool {
	return len(l.unstable.nextEntries()) != 0
}

// nextUnstableEnts returns the unstable entries not yet handed out for
// persisting. acceptUnstable marks them handed out.
func (l *raftLog) nextUnstableEnts() []pb.Entry {
	return l.unstable.nextEntries()
}

// hasUnstableEnts reports whether the log holds entries not yet
// acknowledged as persisted, whether or not they were handed out for
// persisting.
func (l *raftLog) hasUnstableEnts() bool {
	return len(l.unstable.entries) != 0
}

// hasNextUnstableSnapshot reports whether there is an unstable snapshot not
// yet handed out for persisting.
func (l *raftLog) hasNextUnstableSnapshot() bool {
	return l.unstable.nextSnapshot() != nil
}

// nextUnstableSnapshot returns the unstable snapshot if it was not handed out
// for persisting yet, or nil.
func (l *raftLog) nextUnstableSnapshot() *pb.Snapshot {
	return l.unstable.nextSnapshot()
}

// acceptUnstable marks everything nextUnstableEnts and nextUnstableSnapshot
// returned as handed out for persisting.
func (l *raftLog) acceptUnstable() {
	l.unstable.acceptInProgress()
}

// stableTo records that the log is persisted up to and including id. A
// stale acknowledgement, for an entry since overwritten, is ignored.
func (l *raftLog) stableTo(id entryID) {
	l.unstable.stableTo(id)
}

// stableSnapTo records that the snapshot at index i is persisted.
func (l *raftLog) stableSnapTo(i uint64) {
	l.unstable.stableSnapTo(i)
}

// hasPendingSnapshot reports whether there is an unstable snapshot, handed
// out for persisting or not.
func (l *raftLog) hasPendingSnapshot() bool {
	return l.unstable.snapshot != nil
}

// snapshot returns the unstable snapshot if there is one, else the latest
// snapshot of Storage (or its error, e.g. ErrSnapshotTemporarilyUnavailable).
func (l *raftLog) snapshot() (pb.Snapshot, error) {
	if l.unstable.snapshot != nil {
		return *l.unstable.snapshot, nil
	}
	return l.storage.Snapshot()
}

// restore replaces the log with snapshot s: every entry is dropped, the log
// continues after s, and everything up to s is committed. It panics if s is
// older than the commit index.
func (l *raftLog) restore(s pb.Snapshot) {
	if s.Metadata.Index < l.committed {
		assertf(false, "restoring snapshot at index %d below the commit index %d", s.Metadata.Index, l.committed)
	}
	l.logger.Infof("log [%s] starts to restore snapshot [index: %d, term: %d]", l, s.Metadata.Index, s.Metadata.Term)
	l.committed = s.Metadata.Index
	l.unstable.restore(s)
}

// entries returns the entries from index i to the end of the log, bounded by
// maxSize (but at least one entry if i <= lastIndex()).
func (l *raftLog) entries(i uint64, maxSize entryEncodingSize) ([]pb.Entry, error) {
	if i > l.lastIndex() {
		return nil, nil
	}
	return l.slice(i, l.lastIndex()+1, maxSize)
}

// slice returns the entries in [lo, hi), or a prefix of them bounded by
// maxSize; it returns at least one entry when lo < hi. It returns
// ErrCompacted if lo is compacted, and panics if hi is past lastIndex()+1
// or lo > hi. The caller may append to the result without affecting the log.
func (l *raftLog) slice(lo, hi uint64, maxSize entryEncodingSize) ([]pb.Entry, error) {
	if err := l.checkBounds(lo, hi); err != nil {
		return nil, err
	}
	if lo == hi {
		return nil, nil
	}
	if lo >= l.unstable.offset {
		ents := limitSize(l.unstable.slice(lo, hi), maxSize)
		// NB: capped, so that appending to it cannot write into unstable.
		return ents[:len(ents):len(ents)], nil
	}

	cut := min(hi, l.unstable.offset)
	ents, err := l.storage.Entries(lo, cut, uint64(maxSize))
	if errors.Is(err, ErrCompacted) {
		return nil, err
	}
	if err != nil || len(ents) == 0 {
		assertf(false, "reading entries [%d, %d) from storage: got %d entries, error %v", lo, cut, len(ents), err)
	}
	if hi == cut || uint64(len(ents)) < cut-lo {
		// Either everything asked for is stable, or storage already stopped
		// at the size bound.
		return ents, nil
	}

	// Extend the stable entries with as many unstable ones as fit.
	size := entsSize(ents)
	more := l.unstable.slice(cut, hi)
	n := 0
	for n < len(more) {
		size += entryEncodingSize(more[n].Size())
		if size > maxSize {
			break
		}
		n++
	}
	if n == 0 {
		return ents, nil
	}
	// NB: a fresh array, so that neither Storage's nor unstable's array is
	// written to by the join.
	joined := make([]pb.Entry, 0, len(ents)+n)
	joined = append(joined, ents...)
	return append(joined, more[:n]...), nil
}

// checkBounds returns ErrCompacted if lo is below firstIndex(), and panics
// if [lo, hi) is not a range within [firstIndex(), lastIndex()+1].
func (l *raftLog) checkBounds(lo, hi uint64) error {
	if lo > hi {
		assertf(false, "invalid slice [%d, %d)", lo, hi)
	}
	first := l.firstIndex()
	if lo < first {
		return ErrCompacted
	}
	last := l.lastIndex()
	if hi > last+1 {
		assertf(false, "slice [%d, %d) out of bounds [%d, %d]", lo, hi, first, last)
	}
	return nil
}

// scan calls v with consecutive pages of the entries in [lo, hi), each
// bounded by pageSize (but holding at least one entry), until the range is
// covered or v returns an error, which scan then returns. It also returns
// the error of reading a page, e.g. ErrCompacted.
func (l *raftLog) scan(lo, hi uint64, pageSize entryEncodingSize, v func([]pb.Entry) error) error {
	for lo < hi {
		ents, err := l.slice(lo, hi, pageSize)
		if err != nil {
			return err
		}
		if len(ents) == 0 {
			assertf(false, "scan: empty page for [%d, %d)", lo, hi)
		}
		if err := v(ents); err != nil {
			return err
		}
		lo += uint64(len(ents))
	}
	return nil
}

// zeroTermOnOutOfBounds returns t, or 0 if err says the index was out of the
// log's bounds (ErrCompacted, ErrUnavailable). It panics on any other error.
func (l *raftLog) zeroTermOnOutOfBounds(t uint64, err error) uint64 {
	if err == nil {
		return t
	}
	if errors.Is(err, ErrCompacted) || errors.Is(err, ErrUnavailable) {
		return 0
	}
	assertf(false, "unexpected error reading a term: %v", err)
	return 0
}
