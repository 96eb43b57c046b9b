package raft

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	pb "github.com/quorate/raft/raftpb"
)

// This file holds the Storage interface, through which raft reads the log
// the application has persisted, its error values, and MemoryStorage, the
// in-memory implementation used by tests and by applications that keep the
// log in memory. MemoryStorage owns its log, snapshot and HardState behind
// its mutex; the invariants are written on its fields.

// ErrCompacted is returned by Storage.Entries and Storage.Term when the
// requested index precedes the storage's first available index because it
// was compacted into a snapshot, and by MemoryStorage.Compact when the log
// is already compacted up to the requested index.
var ErrCompacted = errors.New("requested index is unavailable due to compaction")

// ErrSnapOutOfDate is returned by MemoryStorage.CreateSnapshot and
// MemoryStorage.ApplySnapshot when the given index is not newer than the
// snapshot the storage already has.
var ErrSnapOutOfDate = errors.New("requested index is older than the existing snapshot")

// ErrUnavailable is returned by Storage.Entries and Storage.Term when the
// requested index is past the last entry the storage holds.
var ErrUnavailable = errors.New("requested entry at index is unavailable")

// ErrSnapshotTemporarilyUnavailable is returned by Storage.Snapshot when the
// snapshot cannot be produced right now. Raft treats it as "try again later"
// and keeps the follower that needs the snapshot waiting rather than failing.
var ErrSnapshotTemporarilyUnavailable = errors.New("snapshot is temporarily unavailable")

// Storage is the interface through which raft reads the stable (persisted)
// part of the log. The application implements it over whatever it persists
// to; raft never writes through it: entries, snapshots and HardState handed
// out in a Ready (or a MsgStorageAppend) must be persisted by the
// application, after which they must be visible through Storage.
//
// Conceptually the storage holds a snapshot covering indexes up to some i,
// followed by the entries i+1, ..., LastIndex(). The entry at i itself is
// kept only as a "dummy": its term stays known (see Term) but its content is
// not available.
//
// If any Storage method returns an error other than the ones documented
// below, the raft instance stops working and refuses to take part in
// elections; the application is then responsible for cleanup and recovery.
type Storage interface {
	// InitialState returns the HardState and ConfState saved in the storage.
	// Raft calls it once, when a node is created, to restore its state.
	InitialState() (pb.HardState, pb.ConfState, error)

	// Entries returns the consecutive log entries in [lo, hi), starting at
	// lo. maxSize bounds the total size of the returned entries (as encoded,
	// the sum of Entry.Size()), but Entries returns at least one entry when
	// the range is not empty, even if that entry alone exceeds maxSize.
	//
	// The caller owns the returned slice and may append to it; the entries
	// in it must not be modified, by the caller or the storage, because raft
	// may hand them back to the application in a Ready. A Storage must
	// therefore protect its own state from such appends: return a freshly
	// allocated slice, or one capped with a full slice expression so that an
	// append copies (as MemoryStorage does).
	//
	// It returns ErrCompacted if lo has been compacted away (lo <=
	// FirstIndex()-1), and ErrUnavailable if some entry in [lo, hi) is not
	// available.
	Entries(lo, hi, maxSize uint64) ([]pb.Entry, error)

	// Term returns the term of the entry at index i, which must be in the
	// range [FirstIndex()-1, LastIndex()]. The term of the entry just before
	// FirstIndex() is retained for matching purposes even though the rest of
	// that entry may have been compacted away. It returns ErrCompacted for
	// an index below that range and ErrUnavailable for one above it.
	Term(i uint64) (uint64, error)

	// LastIndex returns the index of the last entry in the log, or the index
	// of the latest snapshot when the log holds no entries after it.
	LastIndex() (uint64, error)

	// FirstIndex returns the index of the first entry that may be available
	// through Entries; older entries have been incorporated into the latest
	// snapshot. When the storage holds only the dummy entry, FirstIndex is
	// LastIndex()+1 and no entry is available.
	FirstIndex() (uint64, error)

	// Snapshot returns the most recent snapshot. If it cannot be produced
	// right now, Snapshot must return ErrSnapshotTemporarilyUnavailable: raft
	// then knows the storage needs time to prepare it and tries again later.
	Snapshot() (pb.Snapshot, error)
}

// MemoryStorage is a Storage backed by memory. It is safe for concurrent
// use: every method takes the embedded mutex, which the application may also
// hold to group several calls atomically (the methods must then not be
// called with the mutex held, as it is not reentrant).
//
// Slices returned by Entries alias the storage's array; they are capped so
// that appending to them copies, and MemoryStorage never overwrites an entry
// in place once it has been appended (a conflicting Append builds a new
// array), so entries handed out stay valid while raft or the application
// still holds them.
type MemoryStorage struct {
	// Mutex guards every field below. MemoryStorage methods take it
	// themselves; an application may hold it around a group of calls made by
	// other goroutines, not around its own calls to these methods.
	sync.Mutex

	hardState pb.HardState
	snapshot  pb.Snapshot
	// dummyIndex and dummyTerm are those of the dummy entry, the one just
	// before the log: the last entry compacted away (or of the snapshot
	// the log restarted from), of which nothing else is kept. NB: two
	// fields rather than an element of ents, which would take a whole
	// pb.Entry (48 bytes) of every log's array. dummyIndex is written with
	// the mutex held, like every field, but atomically, so that FirstIndex
	// (which raft asks for often) reads it without taking the mutex.
	dummyIndex atomic.Uint64
	dummyTerm  uint64
	// ents are the entries after the dummy: ents[i] has index
	// dummyIndex+1+i.
	// Invariant: Append never writes into a position of the array that
	// Entries may have handed out.
	//
	// NB: the dummy and the snapshot move separately. ApplySnapshot puts both
	// on the snapshot's last entry; CreateSnapshot moves only the snapshot,
	// to an entry of the log; Compact moves only the dummy (the application
	// compacts what a snapshot covers, but that is not checked).
	ents []pb.Entry
	// regrow is the capacity an array that Append grows gets at least: the
	// length of the log when Compact last shrank it, so that a log compacted
	// at a steady interval allocates one array per interval rather than
	// doubling its way up from a single entry after each compaction. It
	// never makes an array larger than the one Compact let go of.
	regrow int
}

// NewMemoryStorage returns an empty MemoryStorage: no snapshot, no entries,
// a zero HardState, FirstIndex 1 and LastIndex 0.
func NewMemoryStorage() *MemoryStorage {
	ms := &MemoryStorage{}
	// An empty storage is one restarted from the empty snapshot, whose last
	// entry has index 0 and term 0.
	ms.restartFrom(pb.Snapshot{})
	return ms
}

// InitialState implements Storage: it returns the HardState set by
// SetHardState and the ConfState of the latest snapshot.
func (ms *MemoryStorage) InitialState() (pb.HardState, pb.ConfState, error) {
	ms.Lock()
	defer ms.Unlock()
	return ms.hardState, ms.snapshot.Metadata.ConfState, nil
}

// SetHardState saves the current HardState. It never fails.
func (ms *MemoryStorage) SetHardState(st pb.HardState) error {
	ms.Lock()
	ms.hardState = st
	ms.Unlock()
	return nil
}

// Entries implements Storage. The returned slice aliases the storage and is
// capped (cap == len) so that appending to it copies. It panics if hi is past
// LastIndex()+1 or lo > hi: raft never asks for entries it does not know of.
//
// NB: the mutex is released by hand rather than deferred, which costs some
// 20 instructions a call in the commit cycle, where raft reads every
// committed batch through here; every return unlocks it, and so does the
// out-of-bounds panic, before it is raised.
func (ms *MemoryStorage) Entries(lo, hi, maxSize uint64) ([]pb.Entry, error) {
	ms.Lock()
	dummy, last := ms.dummyIndex.Load(), ms.lastIndex()
	switch {
	case lo <= dummy:
		ms.Unlock()
		return nil, ErrCompacted
	case lo > hi || hi > last+1:
		ms.Unlock()
		invariantBroken("MemoryStorage.Entries(%d, %d) out of bounds: entries are (%d, %d]", lo, hi, dummy, last)
	case last == dummy:
		// Only the dummy is left: the snapshot covers the whole log.
		ms.Unlock()
		return nil, ErrUnavailable
	}
	ents := slices.Clip(limitSize(ms.ents[lo-dummy-1:hi-dummy-1], entryEncodingSize(maxSize)))
	ms.Unlock()
	return ents, nil
}

// Term implements Storage.
func (ms *MemoryStorage) Term(i uint64) (uint64, error) {
	ms.Lock()
	defer ms.Unlock()
	return ms.term(i)
}

// term returns the term of the entry at index i, the dummy included. It
// returns ErrCompacted for an index before the dummy and ErrUnavailable for
// one past the last entry.
func (ms *MemoryStorage) term(i uint64) (uint64, error) {
	switch dummy := ms.dummyIndex.Load(); {
	case i < dummy:
		return 0, ErrCompacted
	case i == dummy:
		return ms.dummyTerm, nil
	case i-dummy > uint64(len(ms.ents)):
		return 0, ErrUnavailable
	default:
		return ms.ents[i-dummy-1].Term, nil
	}
}

// LastIndex implements Storage. It never fails.
func (ms *MemoryStorage) LastIndex() (uint64, error) {
	ms.Lock()
	defer ms.Unlock()
	return ms.lastIndex(), nil
}

func (ms *MemoryStorage) lastIndex() uint64 {
	return ms.dummyIndex.Load() + uint64(len(ms.ents))
}

// FirstIndex implements Storage. It never fails. NB: it takes no lock (see
// dummyIndex): a value read while another goroutine compacts is the one
// before or after, as with the lock.
func (ms *MemoryStorage) FirstIndex() (uint64, error) {
	return ms.firstIndex(), nil
}

func (ms *MemoryStorage) firstIndex() uint64 {
	return ms.dummyIndex.Load() + 1
}

// Snapshot implements Storage: it returns the latest snapshot created or
// applied, or an empty one. It never fails.
func (ms *MemoryStorage) Snapshot() (pb.Snapshot, error) {
	ms.Lock()
	defer ms.Unlock()
	return ms.snapshot, nil
}

// ApplySnapshot replaces the storage's content with snap: the log is
// discarded and restarts after the snapshot's index. It returns
// ErrSnapOutOfDate, changing nothing, if snap is not newer than the snapshot
// the storage already has.
func (ms *MemoryStorage) ApplySnapshot(snap pb.Snapshot) error {
	ms.Lock()
	defer ms.Unlock()
	if !ms.isNewSnapshot(snap.Metadata.Index) {
		return ErrSnapOutOfDate
	}
	ms.restartFrom(snap)
	return nil
}

// restartFrom makes snap the storage's snapshot and drops the whole log, even
// entries past the snapshot: the only entry left is the dummy standing for
// the snapshot's last entry.
func (ms *MemoryStorage) restartFrom(snap pb.Snapshot) {
	ms.snapshot = snap
	ms.dummyIndex.Store(snap.Metadata.Index)
	ms.dummyTerm, ms.ents = snap.Metadata.Term, nil
	// A log restarted from a snapshot has no steady length to regrow to.
	ms.regrow = 0
}

// isNewSnapshot reports whether a snapshot up to index i would be newer than
// the one the storage holds.
func (ms *MemoryStorage) isNewSnapshot(i uint64) bool {
	return i > ms.snapshot.Metadata.Index
}

// CreateSnapshot records a snapshot of the state up to and including entry i,
// with the given ConfState (kept unchanged when cs is nil) and application
// data, and returns it. The application calls it after applying entry i; it
// may then call Compact to drop the entries the snapshot covers. It returns
// ErrSnapOutOfDate if i is not newer than the current snapshot, and panics
// if i is past LastIndex() (or was compacted away without a snapshot).
func (ms *MemoryStorage) CreateSnapshot(i uint64, cs *pb.ConfState, data []byte) (pb.Snapshot, error) {
	ms.Lock()
	defer ms.Unlock()
	if !ms.isNewSnapshot(i) {
		return pb.Snapshot{}, ErrSnapOutOfDate
	}
	term, err := ms.term(i)
	if err != nil {
		invariantBroken("MemoryStorage.CreateSnapshot(%d) is outside the log: dummy index %d, last index %d",
			i, ms.dummyIndex.Load(), ms.lastIndex())
	}
	meta := &ms.snapshot.Metadata
	meta.Index, meta.Term = i, term
	if cs != nil {
		meta.ConfState = *cs
	}
	ms.snapshot.Data = data
	return ms.snapshot, nil
}

// Compact discards the entries before compactIndex; the entry at
// compactIndex becomes the dummy entry whose term stays known. The
// application must only compact entries covered by a snapshot it created or
// applied. It returns ErrCompacted if the log is already compacted up to
// compactIndex, and panics if compactIndex is past LastIndex().
func (ms *MemoryStorage) Compact(compactIndex uint64) error {
	ms.Lock()
	defer ms.Unlock()
	offset := ms.dummyIndex.Load()
	if compactIndex <= offset {
		return ErrCompacted
	}
	if compactIndex > ms.lastIndex() {
		invariantBroken("MemoryStorage.Compact(%d) is past the last index %d", compactIndex, ms.lastIndex())
	}
	// The entry at compactIndex becomes the dummy.
	dropped := compactIndex - offset
	ms.dummyIndex.Store(compactIndex)
	ms.dummyTerm = ms.ents[dropped-1].Term
	kept := ms.ents[dropped:]
	// NB: reslicing keeps the dropped entries' memory alive until the array
	// is next reallocated. Copying the kept entries into a fresh array only
	// when at least as many are dropped as kept bounds that waste to a
	// factor of two while making the copy cost amortised O(1) per compacted
	// entry. The kept entries are not modified.
	if dropped >= uint64(len(kept)) {
		kept = append(make([]pb.Entry, 0, len(kept)), kept...)
		ms.regrow = len(ms.ents)
	}
	ms.ents = kept
	return nil
}

// Append adds entries to the log. They must be contiguous with increasing
// indexes, and entries[0] must not leave a gap after LastIndex() (Append
// panics on a gap). Entries already compacted away are ignored; entries that
// overlap the log replace it from entries[0].Index on, discarding the old
// suffix. Appending after the last entry is amortised O(len(entries)): the
// existing log is not copied. Append never fails.
//
// NB: the mutex is released by hand, as in Entries, on every return and
// before the panic; the application appends every Ready's entries through
// here.
func (ms *MemoryStorage) Append(entries []pb.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	ms.Lock()

	first := ms.firstIndex()
	last := entries[0].Index + uint64(len(entries)) - 1
	if last < first {
		// Everything is already covered by the snapshot.
		ms.Unlock()
		return nil
	}
	if first > entries[0].Index {
		entries = entries[first-entries[0].Index:]
	}

	at := entries[0].Index - ms.dummyIndex.Load() - 1
	switch {
	case at == uint64(len(ms.ents)):
		if n := len(ms.ents) + len(entries); n > cap(ms.ents) {
			// Doubling keeps the copy cost amortised O(1) per appended entry
			// whatever the log's length (and compacted prefixes are dropped
			// by the copy). An empty log gets an exact fit first: a group
			// that appends one batch and falls idle keeps no room.
			size := max(2*n, ms.regrow)
			if len(ms.ents) == 0 {
				size = max(n, ms.regrow)
			}
			grown := make([]pb.Entry, len(ms.ents), size)
			copy(grown, ms.ents)
			ms.ents = grown
		}
		ms.ents = appendInRoom(ms.ents, entries)
	case at < uint64(len(ms.ents)):
		// NB: the entries from `at` on may have been returned by Entries and
		// still be in use, so they are not overwritten in place: the kept
		// prefix moves to a fresh array. This only happens when a new leader
		// overwrites a conflicting suffix.
		ents := make([]pb.Entry, 0, at+uint64(len(entries)))
		ents = append(ents, ms.ents[:at]...)
		ms.ents = append(ents, entries...)
	default:
		last := ms.lastIndex()
		ms.Unlock()
		invariantBroken("MemoryStorage.Append: missing log entries between last index %d and appended index %d",
			last, entries[0].Index)
	}
	ms.Unlock()
	return nil
}
