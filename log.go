package raft

import (
	"errors"
	"fmt"

	pb "github.com/quorate/raft/raftpb"
)

// raftLog is a peer's replicated log (paper 5.3): a stable prefix, read
// through Storage, followed by an unstable tail held in memory until the
// application has persisted it; how far the log is committed; and, in
// apply, how far the application has applied it.
//
// Indexes below storage's FirstIndex are compacted into a snapshot; of the
// entry right before it (firstIndex()-1) only the term is known.
//
// raftLog reads Storage only for what is below the unstable tail. A Storage
// error other than ErrCompacted and ErrUnavailable there is a broken
// invariant: the application promised to keep what it persisted readable.
//
// NB: invariantBroken's arguments are boxed before it is called, which
// allocates. On paths taken per message or per entry, checks are written as
// `if violated { invariantBroken(...) }`, so that nothing is allocated
// unless an invariant is broken.
type raftLog struct {
	// storage holds the persisted entries, up to unstable.offset-1 (entries
	// it holds from unstable.offset on, if any, are stale and about to be
	// overwritten).
	// Invariant: with no unstable entries or snapshot, its last index is
	// unstable.offset-1, since everything handed out was persisted there
	// and Storage is written only with what raft hands out.
	storage Storage
	// unstable holds what is not persisted yet.
	unstable unstable
	// commitIdx is the highest index known to be committed (paper 5.3).
	// Invariant: apply.applied <= apply.applying <= commitIdx <= lastIndex().
	commitIdx uint64
	// apply tracks the committed entries handed out to the application.
	apply applyTracker

	// cfg holds the logger and the bound of apply; it is the peer's.
	cfg *settings
}

// openLog returns a log over storage, committed and applied up to the
// storage's snapshot, with an unstable tail starting after the storage's
// last entry. It logs to cfg.logger, and at most cfg.maxApplying bytes of
// committed entries are handed out and not yet applied at a time (but
// always at least one entry). It panics if storage cannot tell its bounds.
func openLog(storage Storage, cfg *settings) raftLog {
	snapIndex := mustRead(storage.FirstIndex()) - 1
	next := mustRead(storage.LastIndex()) + 1
	u := unstable{offset: next, offsetInProgress: next}
	if t, err := storage.Term(next - 1); err == nil {
		u.belowTerm, u.belowKnown = t, true
	}
	return raftLog{
		storage:   storage,
		unstable:  u,
		commitIdx: snapIndex,
		apply:     applyTracker{applying: snapIndex, applied: snapIndex},
		cfg:       cfg,
	}
}

// mustRead returns an index read from Storage, or panics with the error.
func mustRead(index uint64, err error) uint64 {
	if err != nil {
		invariantBroken("reading the bounds of the stored log: %v", err)
	}
	return index
}

// String summarises the log's indexes for log messages.
func (l *raftLog) String() string {
	return fmt.Sprintf("committed=%d, applied=%d, applying=%d, unstable.offset=%d, unstable.offsetInProgress=%d, len(unstable.entries)=%d",
		l.commitIdx, l.apply.applied, l.apply.applying, l.unstable.offset, l.unstable.offsetInProgress, len(l.unstable.entries))
}

// committed returns the commit index.
func (l *raftLog) committed() uint64 { return l.commitIdx }

// applied returns the highest index the application confirmed applied.
func (l *raftLog) applied() uint64 { return l.apply.applied }

// firstIndex returns the index of the first entry that may be in the log.
func (l *raftLog) firstIndex() uint64 {
	if snap := l.unstable.snapshot; snap != nil {
		return snap.Metadata.Index + 1
	}
	return mustRead(l.storage.FirstIndex())
}

// lastIndex returns the index of the last entry in the log.
// NB: with nothing unstable, the last entry is Storage's, at offset-1 (see
// storage): Storage is not asked.
func (l *raftLog) lastIndex() uint64 {
	if last, ok := l.unstable.lastIndex(); ok {
		return last
	}
	return l.unstable.offset - 1
}

// lastTerm returns the term of the last entry in the log.
func (l *raftLog) lastTerm() uint64 {
	return l.lastEntryID().term
}

// lastEntryID returns the ID of the last entry in the log.
// NB: with unstable entries, as after every append, it is the last of them,
// read in place rather than through lastIndex and term.
func (l *raftLog) lastEntryID() entryID {
	if n := len(l.unstable.entries); n != 0 {
		return pbEntryID(&l.unstable.entries[n-1])
	}
	last := l.lastIndex()
	t, err := l.term(last)
	if err != nil {
		invariantBroken("the last entry %d has no term: %v", last, err)
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
	if t, ok := l.unstable.termAt(i); ok {
		return t, nil
	}
	switch {
	case i >= l.unstable.offset:
		// Past the unstable entries, or past a lone unstable snapshot.
		return 0, ErrUnavailable
	case l.unstable.snapshot != nil:
		// Below an unstable snapshot (whose own index was answered above)
		// every entry is compacted, whatever Storage still holds.
		return 0, ErrCompacted
	}
	// NB: every entry below unstable.offset is in Storage, since the tail
	// only leaves unstable once persisted; Storage itself answers
	// ErrCompacted below its first index minus one.
	t, err := l.storage.Term(i)
	if err != nil && !errors.Is(err, ErrCompacted) && !errors.Is(err, ErrUnavailable) {
		invariantBroken("reading the term of entry %d from storage: %v", i, err)
	}
	return t, err
}

// matchTerm reports whether the log holds the entry id.
func (l *raftLog) matchTerm(id entryID) bool {
	// NB: the unstable tail, which answers term's first question, asked
	// here, where it is inlined: a follower matches every append this way,
	// and the call to term costs more than the answer (about a dozen
	// instructions).
	if t, ok := l.unstable.termAt(id.index); ok {
		return t == id.term
	}
	t, err := l.term(id.index)
	return err == nil && t == id.term
}

// isUpToDate reports whether a log ending at their is at least as up to date
// as this one (paper 5.4.1): a later last term wins, and with equal last
// terms the longer log wins.
func (l *raftLog) isUpToDate(their entryID) bool {
	our := l.lastEntryID()
	if their.term != our.term {
		return their.term > our.term
	}
	return their.index >= our.index
}

// findConflict returns the index of the first entry of ents that the log
// does not hold: either its term differs from the log's entry at that
// index, or it is past the end of the log. It returns 0 when the log holds
// all of ents. The entries must be contiguous.
func (l *raftLog) findConflict(ents []pb.Entry) uint64 {
	n := l.heldPrefix(ents)
	if n == len(ents) {
		return 0
	}
	at := pbEntryID(&ents[n])
	if at.index <= l.lastIndex() {
		l.cfg.logger.Infof("entry %d conflicts: term %d here, %d in the append",
			at.index, l.zeroTermOnOutOfBounds(l.term(at.index)), at.term)
	}
	return at.index
}

// committedConflict returns the index of the first entry of ls that
// conflicts with an entry the log has committed, or 0. A leader never asks
// for that unless this log lost entries it acknowledged (Leader
// Completeness, paper 5.4); maybeAppend would panic.
func (l *raftLog) committedConflict(ls logSlice) uint64 {
	if !l.matchTerm(ls.prev) {
		return 0
	}
	n := l.heldPrefix(ls.entries)
	if n == len(ls.entries) || ls.entries[n].Index > l.commitIdx {
		return 0
	}
	return ls.entries[n].Index
}

// heldPrefix returns how many of ents, from the first on, the log holds.
// NB: by Log Matching (paper 5.3) these are all the ones it holds; the scan
// still checks each, so that a malformed append cannot make it skip one.
func (l *raftLog) heldPrefix(ents []pb.Entry) int {
	n := 0
	for n < len(ents) && l.matchTerm(pbEntryID(&ents[n])) {
		n++
	}
	return n
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
// the leader skips a whole term per round trip instead of one entry (paper
// 5.3, the optimisation at the end of the section).
func (l *raftLog) findConflictByTerm(index, term uint64) (uint64, uint64) {
	for i := index; i > 0; i-- {
		if t, err := l.term(i); err != nil || t <= term {
			return i, l.zeroTermOnOutOfBounds(t, err)
		}
	}
	return 0, 0
}

// maybeAppend takes the entries of an append from the leader (paper 5.3).
// If the log does not hold ls.prev, it returns ok == false and changes
// nothing. Otherwise it appends the entries of ls that the log does not
// hold yet, truncating the log at the first conflicting entry, commits up
// to min(leaderCommit, ls.lastIndex()) and returns ls.lastIndex().
//
// It panics if the conflict is at or below the commit index: a committed
// entry is never overwritten (Leader Completeness, paper 5.4), so a leader
// asking for it means some log was corrupted.
func (l *raftLog) maybeAppend(ls *logSlice, leaderCommit uint64) (last uint64, ok bool) {
	if !l.matchTerm(ls.prev) {
		return 0, false
	}
	// fresh are the entries of ls that the log does not hold yet. NB: in a
	// steady flow every append follows the log's last entry, and then all
	// of its entries are fresh: known without findConflict's lookup of a
	// term past the end of the log.
	var fresh []pb.Entry
	switch {
	case len(ls.entries) == 0:
	case ls.prev.index == l.lastIndex():
		fresh = ls.entries
	default:
		if from := l.findConflict(ls.entries); from != 0 {
			fresh = ls.entries[from-ls.prev.index-1:]
		}
	}
	if len(fresh) != 0 {
		if from := fresh[0].Index; from <= l.commitIdx {
			invariantBroken("entry %d conflicts with a committed entry: committed index is %d", from, l.commitIdx)
		}
		// A leader's entries are never written to again (see
		// RawNode.Step), so the log may keep their array.
		l.appendEntries(fresh, true)
	}
	// NB: ls.lastIndex() spelt out: the value receiver would copy ls.
	last = ls.prev.index + uint64(len(ls.entries))
	l.commitTo(min(leaderCommit, last))
	return last, true
}

// append appends a copy of ents to the log, truncating any entries from
// ents[0].Index on, and returns the new last index. It panics if that would
// truncate a committed entry or leave a gap.
func (l *raftLog) append(ents ...pb.Entry) uint64 {
	return l.appendEntries(ents, false)
}

// appendEntries is append, keeping ents' array rather than a copy when
// shared: the caller promises nothing writes to it any more.
func (l *raftLog) appendEntries(ents []pb.Entry, shared bool) uint64 {
	if len(ents) > 0 {
		if ents[0].Index <= l.commitIdx {
			invariantBroken("appending at index %d would overwrite committed entries up to %d", ents[0].Index, l.commitIdx)
		}
		if u := &l.unstable; ents[0].Index == u.offset+uint64(len(u.entries)) {
			// NB: the common case, ents right after the last entry, goes
			// straight to appendInPlace; truncateAndAppend would find the
			// same, one call further down.
			u.appendInPlace(ents, shared)
		} else if how := u.truncateAndAppend(ents, shared); how != "" {
			l.cfg.logger.Infof("%s the unstable entries from index %d", how, ents[0].Index)
		}
	}
	return l.lastIndex()
}

// commitTo raises the commit index to tocommit; a lower tocommit is
// ignored, as the commit index never decreases. It panics if tocommit is
// past the last index: that would mean the log lost entries that a leader
// knows this node holds.
//
// NB: kept small enough to inline, since most calls (every append that
// carries the commit index it carried before) change nothing.
func (l *raftLog) commitTo(tocommit uint64) {
	if tocommit > l.commitIdx {
		l.raiseCommit(tocommit)
	}
}

// raiseCommit is commitTo for a tocommit above the commit index.
func (l *raftLog) raiseCommit(tocommit uint64) {
	if last := l.lastIndex(); tocommit > last {
		invariantBroken("commit index %d is past the last index %d: was the log corrupted, truncated or lost?",
			tocommit, last)
	}
	l.commitIdx = tocommit
}

// maybeCommit commits up to at.index if that raises the commit index and the
// log holds the entry at (a leader only commits entries of its own term by
// counting replicas, paper 5.4.2). It reports whether it committed.
func (l *raftLog) maybeCommit(at entryID) bool {
	if at.index <= l.commitIdx || !l.matchTerm(at) {
		return false
	}
	l.commitTo(at.index)
	return true
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
// stale acknowledgement, for an entry since overwritten, is ignored: it
// returns the term the entry at id.index now has, for the caller to log,
// and 0 otherwise. NB: the logging left to the caller makes this inlined,
// which spares every acknowledgement of an append a call.
func (l *raftLog) stableTo(id entryID) (staleTerm uint64) {
	return l.unstable.stableTo(id)
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
	if snap := l.unstable.snapshot; snap != nil {
		return *snap, nil
	}
	return l.storage.Snapshot()
}

// restore replaces the log with snapshot s: every entry is dropped, the log
// continues after s, and everything up to s is committed. It panics if s is
// older than the commit index.
func (l *raftLog) restore(s pb.Snapshot) {
	if s.Metadata.Index < l.commitIdx {
		invariantBroken("restoring snapshot at index %d below the commit index %d", s.Metadata.Index, l.commitIdx)
	}
	l.cfg.logger.Infof("log (%s) is replaced by the snapshot at %d@%d", l, s.Metadata.Index, s.Metadata.Term)
	l.commitIdx = s.Metadata.Index
	l.unstable.restore(s)
}

// entries returns the entries from index i to the end of the log, bounded by
// maxSize (but at least one entry if i <= lastIndex()).
func (l *raftLog) entries(i uint64, maxSize entryEncodingSize) ([]pb.Entry, error) {
	last := l.lastIndex()
	switch {
	case i > last:
		return nil, nil
	case i >= l.unstable.offset:
		// All of [i, last] is unstable entries, where a leader's new entries
		// are. NB: taken from them directly, since every bound slice would
		// check holds; capped, as slice caps it.
		ents := limitSize(l.unstable.entries[i-l.unstable.offset:], maxSize)
		return ents[:len(ents):len(ents)], nil
	}
	return l.slice(i, last+1, maxSize)
}

// unappliedConfChange reports whether a committed entry below index before
// that the application has not applied yet is a configuration change (0:
// no bound). It reads the entries a page at a time, bounded like the
// application's batches, so that a long unapplied tail is not loaded at
// once.
func (l *raftLog) unappliedConfChange(before uint64) (bool, error) {
	hi := l.commitIdx + 1
	if before != 0 {
		hi = min(hi, before)
	}
	found := false
	err := l.forEachConfChange(l.apply.applied+1, hi, func(*pb.Entry) bool {
		found = true
		return false
	})
	return found, err
}

// forEachConfChange calls fn with each configuration change in [lo, hi),
// in order, until fn returns false. It reads the entries a page at a time,
// bounded like the application's batches, so that a long tail is not
// loaded at once.
func (l *raftLog) forEachConfChange(lo, hi uint64, fn func(*pb.Entry) bool) error {
	for lo < hi {
		page, err := l.slice(lo, hi, l.cfg.maxApplying)
		if err != nil {
			return err
		}
		for i := range page {
			if isConfChange(&page[i]) && !fn(&page[i]) {
				return nil
			}
		}
		lo += uint64(len(page))
	}
	return nil
}

// slice returns the entries in [lo, hi), or a prefix of them bounded by
// maxSize; it returns at least one entry when lo < hi. It returns
// ErrCompacted if lo is compacted, and panics if hi is past lastIndex()+1
// or lo > hi. The caller may append to the result without affecting the log.
func (l *raftLog) slice(lo, hi uint64, maxSize entryEncodingSize) ([]pb.Entry, error) {
	if err := l.checkBounds(lo, hi); err != nil || lo == hi {
		return nil, err
	}
	split := l.unstable.offset
	if lo >= split {
		// NB: capped, so that appending to it cannot write into unstable.
		ents := limitSize(l.unstable.slice(lo, hi), maxSize)
		return ents[:len(ents):len(ents)], nil
	}
	stable, err := l.storedSlice(lo, min(hi, split), maxSize)
	if err != nil || hi <= split || uint64(len(stable)) < split-lo {
		// All of it is stable, or Storage already stopped at the size bound.
		return stable, err
	}
	return l.extendWithUnstable(stable, split, hi, maxSize), nil
}

// storedSlice reads [lo, hi) from Storage, bounded by maxSize. It returns
// ErrCompacted if Storage compacted lo away meanwhile and panics on any
// other failure: persisted entries must stay readable.
func (l *raftLog) storedSlice(lo, hi uint64, maxSize entryEncodingSize) ([]pb.Entry, error) {
	ents, err := l.storage.Entries(lo, hi, uint64(maxSize))
	// NB: a read that worked is told apart first, so that it does not pay
	// for errors.Is.
	switch {
	case err == nil && len(ents) != 0:
	case errors.Is(err, ErrCompacted):
		return nil, err
	default:
		invariantBroken("reading entries [%d, %d) from storage: got %d entries, error %v", lo, hi, len(ents), err)
	}
	return ents, nil
}

// extendWithUnstable returns stable followed by as many unstable entries
// from split on (up to hi) as fit within maxSize in total.
func (l *raftLog) extendWithUnstable(stable []pb.Entry, split, hi uint64, maxSize entryEncodingSize) []pb.Entry {
	more := l.unstable.slice(split, hi)
	room := maxSize - min(maxSize, entsSize(stable))
	n := len(limitSize(more, room))
	if n == 1 && entryEncodingSize(more[0].Size()) > room {
		// limitSize keeps a first entry whatever its size; here the batch
		// already has one.
		n = 0
	}
	if n == 0 {
		return stable
	}
	// NB: a fresh array, so that neither Storage's nor unstable's array is
	// written to by the join.
	joined := make([]pb.Entry, 0, len(stable)+n)
	return append(append(joined, stable...), more[:n]...)
}

// checkBounds returns ErrCompacted if lo is below firstIndex(), and panics
// if [lo, hi) is not a range within [firstIndex(), lastIndex()+1].
func (l *raftLog) checkBounds(lo, hi uint64) error {
	if lo > hi {
		invariantBroken("invalid slice [%d, %d)", lo, hi)
	}
	// NB: nothing from unstable.offset on is compacted (Storage compacts
	// only applied entries, and unstable ones are not), which spares asking
	// Storage for its first index when the slice is all unstable.
	if lo < l.unstable.offset && lo < l.firstIndex() {
		return ErrCompacted
	}
	if last := l.lastIndex(); hi > last+1 {
		invariantBroken("slice [%d, %d) out of bounds [%d, %d]", lo, hi, l.firstIndex(), last)
	}
	return nil
}

// zeroTermOnOutOfBounds returns t, or 0 if err says the index was out of the
// log's bounds (ErrCompacted, ErrUnavailable). It panics on any other error.
func (l *raftLog) zeroTermOnOutOfBounds(t uint64, err error) uint64 {
	switch {
	case err == nil:
		return t
	case errors.Is(err, ErrCompacted), errors.Is(err, ErrUnavailable):
		return 0
	}
	invariantBroken("unexpected error reading a term: %v", err)
	return 0
}
