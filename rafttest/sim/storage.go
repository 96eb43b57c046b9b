package sim

import (
	"fmt"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// Storage is a node's stable storage as the simulated host uses it: the
// raft.Storage the node reads from, and the writes the host makes on the
// node's behalf. A write is durable when it returns: after a crash, the
// StorageFactory must give back a Storage holding exactly what was written
// before the crash.
//
// The methods have the meaning of raft.MemoryStorage's, which implements
// Storage. The host calls them as the Ready contract says: for one Ready (or
// one MsgStorageAppend) ApplySnapshot first, then Append, then
// SetHardState; CreateSnapshot and Compact when it compacts the log.
type Storage interface {
	raft.Storage
	ApplySnapshot(snap pb.Snapshot) error
	Append(entries []pb.Entry) error
	SetHardState(hs pb.HardState) error
	CreateSnapshot(i uint64, cs *pb.ConfState, data []byte) (pb.Snapshot, error)
	Compact(compactIndex uint64) error
}

var _ Storage = (*raft.MemoryStorage)(nil)

// LazyCommitStorage is a Storage that, as a host following Ready.MustSync
// does, does not sync a write that only moves the commit index: a crash may
// lose it, together with every later write that was not synced, since raft
// learns the commit index again from the leader. A write that must be
// synced (entries, a snapshot, a new term or vote), CreateSnapshot and
// Compact make every earlier write durable. After a crash the simulation
// then expects the commit index of the last such write, not of the last
// write.
type LazyCommitStorage interface {
	Storage
	// LazyCommit reports whether writes of the commit index alone may be
	// lost in a crash.
	LazyCommit() bool
}

// lazyCommit reports whether st may lose writes of the commit index alone.
func lazyCommit(st Storage) bool {
	l, ok := st.(LazyCommitStorage)
	return ok && l.LazyCommit()
}

// StorageFactory opens the storage of the nodes of one run. The simulation
// calls Open when a node starts for the first time, and again each time it
// restarts after a crash; the Storage of the crashed incarnation is not used
// after that.
type StorageFactory interface {
	// Open returns the storage of node id, holding what the node's earlier
	// incarnations wrote to it (nothing on the first call).
	Open(id uint64) (Storage, error)
}

// MemoryStorageFactory is the default StorageFactory: each node persists
// to a raft.MemoryStorage, and a restart rebuilds a fresh MemoryStorage from
// the snapshot, entries and HardState of the old one, so that nothing of
// the crashed incarnation's memory is shared with the new one. Use one
// factory per run.
type MemoryStorageFactory struct {
	// disks holds the storage of each node's latest incarnation.
	disks map[uint64]*raft.MemoryStorage
}

// NewMemoryStorageFactory returns a factory with no node persisted yet.
func NewMemoryStorageFactory() *MemoryStorageFactory {
	return &MemoryStorageFactory{disks: make(map[uint64]*raft.MemoryStorage)}
}

// Open implements StorageFactory.
func (f *MemoryStorageFactory) Open(id uint64) (Storage, error) {
	old := f.disks[id]
	ms := raft.NewMemoryStorage()
	if old != nil {
		if err := CopyStorage(ms, old); err != nil {
			return nil, fmt.Errorf("node %d: rebuilding storage: %w", id, err)
		}
	}
	f.disks[id] = ms
	return ms, nil
}

// CopyStorage writes the content of src into the empty dst, so that dst
// answers every raft.Storage method as src does. A StorageFactory uses it
// to reopen a node's storage as a fresh value, or as a storage of another
// type (another library's, for instance) holding the same snapshot,
// entries and HardState. It returns the first error of either storage.
func CopyStorage(dst, src Storage) error {
	snap, err := src.Snapshot()
	if err != nil {
		return err
	}
	first, err := src.FirstIndex()
	if err != nil {
		return err
	}
	last, err := src.LastIndex()
	if err != nil {
		return err
	}
	// NB: a log compacted to below its snapshot keeps entries the snapshot
	// covers. Installing the snapshot as it is would drop them, so the log
	// is rebuilt on a snapshot at its first index and the real snapshot is
	// recreated over it.
	base := snap
	if first-1 < snap.Metadata.Index {
		term, err := src.Term(first - 1)
		if err != nil {
			return err
		}
		base = pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: first - 1, Term: term, ConfState: snap.Metadata.ConfState}}
	}
	if !raft.IsEmptySnap(base) {
		if err := dst.ApplySnapshot(base); err != nil {
			return err
		}
	}
	if last >= first {
		ents, err := src.Entries(first, last+1, noLimit)
		if err != nil {
			return err
		}
		if err := dst.Append(ents); err != nil {
			return err
		}
	}
	if base.Metadata.Index != snap.Metadata.Index {
		cs := snap.Metadata.ConfState
		if _, err := dst.CreateSnapshot(snap.Metadata.Index, &cs, snap.Data); err != nil {
			return err
		}
	}
	hs, _, err := src.InitialState()
	if err != nil {
		return err
	}
	return dst.SetHardState(hs)
}
