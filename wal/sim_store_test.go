package wal_test

// The storage of one incarnation in the simulation on wal stores: the
// sim.Storage over a wal.Store that saves each write raft hands out in one
// call, as a durable host does, and checks after each that a crash of the
// disk would lose none of it; and the peer that tells it what each Ready
// hands out.

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/rafttest/sim"
	"github.com/quorate/raft/wal"
	"github.com/quorate/raft/wal/vfs/faultfs"
)

// simStore is the sim.Storage of one incarnation of a node: a wal.Store
// that raft reads through, written as a durable host writes it. The
// simulation's host persists a Ready (or a MsgStorageAppend) in up to three
// calls, ApplySnapshot, Append and SetHardState, each of which must be
// durable when it returns; the store instead takes the whole write in one
// Save (or SaveAppends) call. So the peer (simPeer) tells the store what
// raft hands out, and the first of the host's calls for a write saves it
// whole, while the others only check that the host persists what raft
// handed out. All the calls of one write happen in one step of the
// simulation, so no crash falls between them.
type simStore struct {
	*wal.Store
	disks *simDisks
	disk  *simDisk
	id    uint64
	// handed holds the writes raft handed out that the host has not
	// persisted yet, oldest first: Readies without AsyncStorageWrites, the
	// MsgStorageAppend messages with it. Those with nothing to persist are
	// left out, since the host makes no call for them.
	handed []handedWrite
	// cur is the write the host is persisting, between the call that saved
	// it and the last call it makes for it; nil otherwise.
	cur *handedWrite
}

// writePart is one of the host's calls for a write, in the order it makes
// them.
type writePart uint8

const (
	partSnapshot writePart = 1 << iota
	partEntries
	partHardState
)

func (p writePart) String() string {
	switch p {
	case partSnapshot:
		return "ApplySnapshot"
	case partEntries:
		return "Append"
	case partHardState:
		return "SetHardState"
	}
	return "nothing"
}

// handedWrite is a write raft handed out: a Ready (rd) or a
// MsgStorageAppend (msg), and what it asks to persist.
type handedWrite struct {
	rd   *raft.Ready
	msg  *pb.Message
	hs   pb.HardState
	ents []pb.Entry
	snap pb.Snapshot
	// parts are the calls the host has still to make for it.
	parts writePart
}

func newHandedWrite(hs pb.HardState, ents []pb.Entry, snap pb.Snapshot) handedWrite {
	w := handedWrite{hs: hs, ents: ents, snap: snap}
	if !raft.IsEmptySnap(snap) {
		w.parts |= partSnapshot
	}
	if len(ents) > 0 {
		w.parts |= partEntries
	}
	if !raft.IsEmptyHardState(hs) {
		w.parts |= partHardState
	}
	return w
}

// next returns the host's next call for w.
func (w *handedWrite) next() writePart { return w.parts & -w.parts }

func (w *handedWrite) String() string {
	var what []string
	if !raft.IsEmptySnap(w.snap) {
		what = append(what, "snapshot "+raft.DescribeSnapshot(w.snap))
	}
	if k := len(w.ents); k > 0 {
		what = append(what, fmt.Sprintf("entries %d-%d", w.ents[0].Index, w.ents[k-1].Index))
	}
	if !raft.IsEmptyHardState(w.hs) {
		what = append(what, "HardState "+raft.DescribeHardState(w.hs))
	}
	kind := "a Ready"
	if w.msg != nil {
		kind = "a MsgStorageAppend"
	}
	return kind + " with " + strings.Join(what, ", ")
}

// handOut records what raft handed out in rd, for the host to persist.
func (s *simStore) handOut(rd raft.Ready, async bool) {
	if !async {
		w := newHandedWrite(rd.HardState, rd.Entries, rd.Snapshot)
		if w.parts != 0 {
			w.rd = &rd
			s.handed = append(s.handed, w)
		}
		return
	}
	for _, m := range rd.Messages {
		if m.To != raft.LocalAppendThread {
			continue
		}
		var snap pb.Snapshot
		if m.Snapshot != nil {
			snap = *m.Snapshot
		}
		w := newHandedWrite(pb.HardState{Term: m.Term, Vote: m.Vote, Commit: m.Commit}, m.Entries, snap)
		if w.parts != 0 {
			w.msg = &m
			s.handed = append(s.handed, w)
		}
	}
}

// ApplySnapshot implements sim.Storage.
func (s *simStore) ApplySnapshot(snap pb.Snapshot) error {
	return s.persist(partSnapshot, func(w *handedWrite) bool {
		return w.snap.Metadata.Index == snap.Metadata.Index && w.snap.Metadata.Term == snap.Metadata.Term
	}, func() error {
		return s.Store.ApplySnapshot(snap)
	})
}

// Append implements sim.Storage.
func (s *simStore) Append(ents []pb.Entry) error {
	return s.persist(partEntries, func(w *handedWrite) bool {
		k := len(ents) - 1
		return len(w.ents) == len(ents) && w.ents[0].Index == ents[0].Index && w.ents[k].Term == ents[k].Term
	}, func() error {
		return s.Store.Save(raft.Ready{Entries: ents, MustSync: true})
	})
}

// SetHardState implements sim.Storage.
func (s *simStore) SetHardState(hs pb.HardState) error {
	return s.persist(partHardState, func(w *handedWrite) bool {
		return w.hs == hs
	}, func() error {
		return s.Store.Save(raft.Ready{HardState: hs, MustSync: true})
	})
}

// persist carries out the host's call p: it saves the oldest write handed
// out if the call is the first for it, and checks that the call persists
// what that write carries (matches). A call when nothing was handed out is
// the simulation bootstrapping the node: direct makes the write alone.
func (s *simStore) persist(p writePart, matches func(w *handedWrite) bool, direct func() error) error {
	if s.cur == nil {
		if len(s.handed) == 0 {
			if err := direct(); err != nil {
				return err
			}
			return s.checkDurable(p.String())
		}
		w := s.handed[0]
		s.handed = s.handed[1:]
		if err := s.save(&w); err != nil {
			return err
		}
		s.cur = &w
	}
	w := s.cur
	if next := w.next(); next != p || !matches(w) {
		return fmt.Errorf("walsim: the host called %s where %s of %s came next", p, next, w)
	}
	if w.parts &^= p; w.parts == 0 {
		s.cur = nil
	}
	return nil
}

// save persists w with the call a durable host makes for it: Save for a
// Ready, SaveAppends for a MsgStorageAppend, whose responses must be those
// raft attached to it. Then everything the store wrote must be durable.
func (s *simStore) save(w *handedWrite) error {
	synced := false
	if w.rd != nil {
		s.disks.stats.Saves++
		if err := s.Store.Save(*w.rd); err != nil {
			return err
		}
		synced = w.rd.MustSync || !raft.IsEmptySnap(w.rd.Snapshot)
	} else {
		s.disks.stats.SaveAppends++
		prev, _, err := s.Store.InitialState()
		if err != nil {
			return err
		}
		resps, err := s.Store.SaveAppends(*w.msg)
		if err != nil {
			return err
		}
		if len(resps) != len(w.msg.Responses) || len(resps) > 0 && !reflect.DeepEqual(resps, w.msg.Responses) {
			return fmt.Errorf("walsim: SaveAppends returned the responses %s, want those of the message, %s",
				describeMessages(resps), describeMessages(w.msg.Responses))
		}
		hs := w.hs
		if raft.IsEmptyHardState(hs) {
			hs = prev
		}
		synced = !raft.IsEmptySnap(w.snap) || raft.MustSync(hs, prev, len(w.ents))
	}
	if !synced {
		// NB: a write that only moves the commit index need not be
		// durable (raft learns the index again from the leader), and the
		// store does not sync it; but unless it is a LazyCommitStorage,
		// the simulation wants every write durable, and checks the
		// commit index after a crash against the last one written. So
		// the host syncs it.
		if s.disks.lazy {
			return nil
		}
		s.disks.stats.AddedSyncs++
		if err := s.Store.Save(raft.Ready{MustSync: true}); err != nil {
			return err
		}
	}
	return s.checkDurable(w.String())
}

// checkDurable checks that everything the store has written is durable,
// as it must be once a synced call returns: a copy of the file system
// crashed with a plan that keeps nothing unsynced loses no byte of any file
// and no name in the store's directory.
func (s *simStore) checkDurable(call string) error {
	fs := s.disk.fs
	names, err := fs.List(simDir)
	if err != nil {
		return err
	}
	var lost []string
	crashed := fs.Clone()
	crashed.Crash(faultfs.CrashPlan{KeepBytes: func(path string, n int) int {
		if n > 0 {
			lost = append(lost, fmt.Sprintf("%d bytes of %s", n, path))
		}
		return 0
	}})
	kept, err := crashed.List(simDir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if !slices.Contains(kept, n) {
			lost = append(lost, "the name "+n)
		}
	}
	if len(lost) > 0 {
		return fmt.Errorf("walsim: after %s returned, a crash would lose %s", call, strings.Join(lost, ", "))
	}
	return nil
}

// LazyCommit implements sim.LazyCommitStorage.
func (s *simStore) LazyCommit() bool { return s.disks.lazy }

// CreateSnapshot implements sim.Storage. The simulation only snapshots at
// an index past the current snapshot and within the log, so any error is
// unexpected.
func (s *simStore) CreateSnapshot(i uint64, cs *pb.ConfState, data []byte) (pb.Snapshot, error) {
	snap, err := s.Store.CreateSnapshot(i, cs, data)
	if err == nil {
		err = s.checkDurable(fmt.Sprintf("CreateSnapshot(%d)", i))
	}
	if err != nil {
		s.disks.unexpectedf(s.id, "CreateSnapshot(%d): %v", i, err)
		return snap, err
	}
	s.disks.stats.Snapshots++
	return snap, nil
}

// Compact implements sim.Storage. The simulation only compacts past the
// compacted index and up to the snapshot it just created, so any error is
// unexpected.
func (s *simStore) Compact(i uint64) error {
	err := s.Store.Compact(i)
	if err == nil {
		err = s.checkDurable(fmt.Sprintf("Compact(%d)", i))
	}
	if err != nil {
		s.disks.unexpectedf(s.id, "Compact(%d): %v", i, err)
		return err
	}
	s.disks.stats.Compactions++
	return nil
}

func describeMessages(ms []pb.Message) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = raft.DescribeMessage(m, nil)
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// simPeer is the library's RawNode, which also tells its store what each
// Ready hands out to be persisted.
type simPeer struct {
	*raft.RawNode
	store *simStore
	async bool
}

// Ready implements sim.Peer.
func (p *simPeer) Ready() raft.Ready {
	rd := p.RawNode.Ready()
	p.store.handOut(rd, p.async)
	return rd
}

// newSimPeer is the sim.PeerFactory of runs on simDisks.
func newSimPeer(cfg *raft.Config) (sim.Peer, error) {
	st, ok := cfg.Storage.(*simStore)
	if !ok {
		return nil, fmt.Errorf("walsim: the peer's storage is a %T, want a *simStore", cfg.Storage)
	}
	rn, err := raft.NewRawNode(cfg)
	if err != nil {
		return nil, err
	}
	return &simPeer{RawNode: rn, store: st, async: cfg.AsyncStorageWrites}, nil
}
