package wal

// Writing to a Store: Save and SaveAppends, snapshots and compaction. Each
// update is checked against the current state (check) before its records
// are encoded and appended and the in-memory state follows.

import (
	"errors"
	"fmt"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// maxWriteBytes bounds the encoded size of one update, so that offsets
// within a segment fit in 32 bits.
const maxWriteBytes = 2 << 30

// update is what one Ready or one MsgStorageAppend asks to persist.
type update struct {
	hardState pb.HardState // empty if unchanged
	ents      []pb.Entry
	snap      *pb.Snapshot // nil if none
}

// Save persists a Ready's Snapshot, Entries and HardState (each if not
// empty), in that order, with a single write, and syncs if rd.MustSync or
// if there is a snapshot (with one fsync of the log, after the snapshot's
// own file is durable). Entries at or below the compacted index are
// skipped; the others replace the log from their first index on, as a new
// leader's entries do.
//
// When Save returns nil with rd.MustSync (or a snapshot), everything in rd
// and everything saved before is durable, and the Ready's messages may be
// sent. Without them, rd is written but may be lost in a crash along with
// later unsynced writes (never an earlier one without the later ones).
//
// Invalid input (entries that are not consecutive, leave a gap after the
// last index, or have decreasing terms; a snapshot not newer than the
// current one, which is raft.ErrSnapOutOfDate; a commit index past the
// resulting last index) is an error that changes nothing. An I/O error
// fails the store (see ErrFailed).
func (s *Store) Save(rd raft.Ready) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	u := update{hardState: rd.HardState, ents: rd.Entries}
	if !raft.IsEmptySnap(rd.Snapshot) {
		u.snap = &rd.Snapshot
	}
	if err := s.write(&u); err != nil {
		return err
	}
	if rd.MustSync || u.snap != nil {
		return s.syncAndClean()
	}
	return nil
}

// SaveAppends persists the MsgStorageAppend messages msgs (from Ready with
// Config.AsyncStorageWrites), in order, with at most one fsync for all of
// them, and returns the concatenation of their Responses, to be delivered
// in order: those addressed to the local node go back through Step, the
// others to the peers they name.
//
// It syncs only if some message needs it (entries, a snapshot, or a change
// of term or vote; see raft.MustSync). The responses may be delivered once
// SaveAppends returns nil. If a message is invalid (see Save, and any
// message that is not a MsgStorageAppend), the messages before it are
// persisted (and synced if needed) and their responses returned along with
// the error; the invalid one and those after it are not. An I/O error fails
// the store and returns no responses.
func (s *Store) SaveAppends(msgs ...pb.Message) ([]pb.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return nil, err
	}
	var resps []pb.Message
	mustSync := false
	var invalid error
	for i := range msgs {
		m := &msgs[i]
		if m.Type != pb.MsgStorageAppend {
			invalid = fmt.Errorf("wal: SaveAppends got a %v message, want %v", m.Type, pb.MsgStorageAppend)
			break
		}
		u := update{hardState: pb.HardState{Term: m.Term, Vote: m.Vote, Commit: m.Commit}, ents: m.Entries, snap: m.Snapshot}
		if u.snap != nil && raft.IsEmptySnap(*u.snap) {
			u.snap = nil
		}
		prev := s.hardState
		if err := s.write(&u); err != nil {
			if s.failed != nil {
				return nil, err
			}
			invalid = err
			break
		}
		hs := u.hardState
		if raft.IsEmptyHardState(hs) {
			hs = prev
		}
		mustSync = mustSync || u.snap != nil || raft.MustSync(hs, prev, len(m.Entries))
		resps = append(resps, m.Responses...)
	}
	if mustSync {
		if err := s.syncAndClean(); err != nil {
			return nil, err
		}
	}
	return resps, invalid
}

// ApplySnapshot durably replaces the store's content with snap, a snapshot
// received from a leader: the log is discarded and continues after
// snap.Metadata.Index; the HardState is kept. It returns
// raft.ErrSnapOutOfDate, changing nothing, if snap is not newer than the
// current snapshot.
func (s *Store) ApplySnapshot(snap pb.Snapshot) error {
	return s.Save(raft.Ready{Snapshot: snap, MustSync: true})
}

// CreateSnapshot durably records a snapshot of the application's state up
// to and including entry i, with the given ConfState (the current
// snapshot's when cs is nil) and data, and returns it. The log is kept;
// call Compact to drop the entries the snapshot covers. It returns
// raft.ErrSnapOutOfDate if i is not newer than the current snapshot, and an
// error if i is past the last index.
func (s *Store) CreateSnapshot(i uint64, cs *pb.ConfState, data []byte) (pb.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return pb.Snapshot{}, err
	}
	if i <= s.snap.Index {
		return pb.Snapshot{}, raft.ErrSnapOutOfDate
	}
	term, ok := s.log.term(i)
	if !ok {
		return pb.Snapshot{}, fmt.Errorf("wal: CreateSnapshot(%d) is past the last index %d", i, s.log.last)
	}
	snap := pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: i, Term: term, ConfState: s.snap.ConfState}, Data: data}
	if cs != nil {
		snap.Metadata.ConfState = *cs
	}
	if err := s.writeSnapFile(&snap); err != nil {
		return pb.Snapshot{}, s.fail(err)
	}
	s.w.reset()
	s.w.buf = appendSnapRecord(s.w.buf, recSnapCreated, &snap.Metadata)
	if _, _, err := s.appendRecords(&s.w); err != nil {
		return pb.Snapshot{}, s.fail(err)
	}
	s.setSnapshot(&snap)
	if err := s.syncAndClean(); err != nil {
		return pb.Snapshot{}, err
	}
	return snap, nil
}

// Compact durably discards the entries up to and including i, which
// becomes the first index's predecessor whose term is kept, and removes
// the segment files that hold nothing else retained. The entries must be
// covered by the current snapshot: it returns an error if i is past the
// snapshot's index (compacting further would lose entries no snapshot
// holds), and raft.ErrCompacted if the log is already compacted to i.
func (s *Store) Compact(i uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	switch {
	case i <= s.log.compactIndex:
		return raft.ErrCompacted
	case i > s.log.last:
		return fmt.Errorf("wal: Compact(%d) is past the last index %d", i, s.log.last)
	case i > s.snap.Index:
		return fmt.Errorf("wal: Compact(%d) is past the snapshot's index %d", i, s.snap.Index)
	}
	term, _ := s.log.term(i)
	s.w.reset()
	s.w.buf = appendCompactRecord(s.w.buf, i, term)
	if _, _, err := s.appendRecords(&s.w); err != nil {
		return s.fail(err)
	}
	s.log.compact(i, term)
	s.cache.compact(i)
	return s.syncAndClean()
}

// syncAndClean syncs, then removes the files the synced records made
// obsolete.
func (s *Store) syncAndClean() error {
	if err := s.sync(); err != nil {
		return s.fail(err)
	}
	if err := s.removeObsolete(); err != nil {
		return s.fail(err)
	}
	return nil
}

// setSnapshot makes snap the current snapshot in memory; the previous
// snapshot's file becomes obsolete.
func (s *Store) setSnapshot(snap *pb.Snapshot) {
	if s.snap.Index > 0 {
		s.obsolete = append(s.obsolete, s.snapPath(&s.snap))
	}
	s.snap = snap.Metadata
	s.snapData, s.snapLoaded = snap.Data, true
}

// write checks u, writes its records (snapshot file first) without syncing
// and applies it to the in-memory state. It returns an error without
// changing anything if u is invalid, and fails the store on an I/O error.
func (s *Store) write(u *update) error {
	if err := s.check(u); err != nil {
		return err
	}
	w := &s.w
	w.reset()
	if u.snap != nil {
		w.buf = appendSnapRecord(w.buf, recSnapApplied, &u.snap.Metadata)
	}
	offs := w.appendEntries(s.offs[:0], u.ents)
	s.offs = offs
	if !raft.IsEmptyHardState(u.hardState) {
		w.buf = appendHardStateRecord(w.buf, u.hardState)
	}
	if w.len() > maxWriteBytes {
		return fmt.Errorf("wal: one write of %d bytes exceeds %d; save fewer entries at a time", w.len(), maxWriteBytes)
	}
	if w.len() == 0 {
		return nil
	}
	if u.snap != nil {
		if err := s.writeSnapFile(u.snap); err != nil {
			return s.fail(err)
		}
	}
	seg, at, err := s.appendRecords(w)
	if err != nil {
		return s.fail(err)
	}
	if u.snap != nil {
		s.setSnapshot(u.snap)
		s.log.reset(u.snap.Metadata.Index, u.snap.Metadata.Term)
		s.cache.reset()
	}
	if len(u.ents) > 0 {
		if first := u.ents[0].Index; first <= s.log.last {
			s.log.truncate(first)
		}
		s.log.appendAll(u.ents, seg.seq, uint32(at), offs)
		s.cache.append(u.ents)
	}
	if !raft.IsEmptyHardState(u.hardState) {
		s.hardState = u.hardState
	}
	return nil
}

// errInvalid marks the errors of invalid input to a write.
var errInvalid = errors.New("wal: invalid write")

// check validates u against the current state and drops from u.ents the
// entries already compacted.
func (s *Store) check(u *update) error {
	base, last, termAt, err := s.logUnder(u)
	if err != nil {
		return err
	}
	ents := u.ents
	if err := checkEntryOrder(ents); err != nil {
		return err
	}
	if len(ents) > 0 && ents[0].Index <= base {
		ents = ents[min(base-ents[0].Index+1, uint64(len(ents))):]
	}
	newLast := last
	if len(ents) > 0 {
		if err := s.checkNewEntries(ents, last, termAt, u.snap != nil); err != nil {
			return err
		}
		newLast = ents[len(ents)-1].Index
	}
	if err := s.checkHardState(u.hardState, newLast); err != nil {
		return err
	}
	u.ents = ents
	return nil
}

// invalidf returns an error of invalid input to a write, marked errInvalid.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errInvalid, fmt.Sprintf(format, args...))
}

// logUnder returns the log that u's entries go onto, as it is once u's
// snapshot, if any, is applied: the index of its dummy entry, its last
// index, and the term at an index (with false where the log has none). A
// snapshot not newer than the saved one is raft.ErrSnapOutOfDate.
func (s *Store) logUnder(u *update) (base, last uint64, termAt func(uint64) (uint64, bool), err error) {
	if u.snap == nil {
		return s.log.compactIndex, s.log.last, s.log.term, nil
	}
	m := &u.snap.Metadata
	if m.Index <= s.snap.Index {
		return 0, 0, nil, raft.ErrSnapOutOfDate
	}
	index, term := m.Index, m.Term
	return index, index, func(i uint64) (uint64, bool) { return term, i == index }, nil
}

// checkEntryOrder checks that ents have consecutive indexes and terms that
// never go down.
func checkEntryOrder(ents []pb.Entry) error {
	for k := 1; k < len(ents); k++ {
		if ents[k].Index != ents[k-1].Index+1 {
			return invalidf("entry %d follows entry %d", ents[k].Index, ents[k-1].Index)
		}
		if ents[k].Term < ents[k-1].Term {
			return invalidf("entry %d has term %d, below the term %d of entry %d", ents[k].Index, ents[k].Term, ents[k-1].Term, ents[k-1].Index)
		}
	}
	return nil
}

// checkNewEntries checks ents, the entries of a write past the compacted
// part of the log (at least one), against the log they go onto, whose last
// index is last and whose terms termAt gives: they must follow it without
// a gap or a term going down, be of a known type and within the size
// limit, and, unless a snapshot comes with them (withSnap), leave the
// committed entries as they are.
func (s *Store) checkNewEntries(ents []pb.Entry, last uint64, termAt func(uint64) (uint64, bool), withSnap bool) error {
	first := ents[0].Index
	if first > last+1 {
		return invalidf("entry %d leaves a gap after the last index %d", first, last)
	}
	if prev, _ := termAt(first - 1); ents[0].Term < prev {
		return invalidf("entry %d has term %d, below the term %d of entry %d", first, ents[0].Term, prev, first-1)
	}
	for k := range ents {
		if len(ents[k].Data) > maxEntryData {
			return invalidf("entry %d has %d bytes of data, more than %d", ents[k].Index, len(ents[k].Data), maxEntryData)
		}
		if !knownEntryType(ents[k].Type) {
			return invalidf("entry %d has unknown type %d", ents[k].Index, ents[k].Type)
		}
	}
	if withSnap {
		return nil
	}
	// Committed entries are never replaced (Raft paper 5.4: the Log
	// Matching and Leader Completeness properties); rewriting them
	// unchanged is harmless.
	for k := 0; k < len(ents) && ents[k].Index <= min(s.hardState.Commit, last); k++ {
		if t, _ := termAt(ents[k].Index); t != ents[k].Term {
			return invalidf("entry %d of term %d would replace a committed entry of term %d", ents[k].Index, ents[k].Term, t)
		}
	}
	return nil
}

// checkHardState checks the HardState a write leaves, hs if it is not
// empty and the saved one otherwise: its term must not go below the saved
// term, and its commit index must be within the log, whose last index will
// be newLast.
func (s *Store) checkHardState(hs pb.HardState, newLast uint64) error {
	if raft.IsEmptyHardState(hs) {
		hs = s.hardState
	} else if hs.Term < s.hardState.Term {
		return invalidf("HardState term %d is below the saved term %d", hs.Term, s.hardState.Term)
	}
	if hs.Commit > newLast {
		return invalidf("commit index %d would be past the last index %d", hs.Commit, newLast)
	}
	return nil
}
