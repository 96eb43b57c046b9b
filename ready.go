package raft

import (
	pb "github.com/quorate/raft/raftpb"
)

// SoftState is the volatile state of a peer: who it thinks leads, and its
// role. It is not persisted; Ready carries it only when it changed.
type SoftState struct {
	// Lead is the leader this peer knows of in its current term, or None.
	Lead uint64
	// RaftState is the peer's role.
	RaftState StateType
}

func (a *SoftState) equal(b *SoftState) bool {
	return a.Lead == b.Lead && a.RaftState == b.RaftState
}

// Ready is a batch of work the application must do for a RawNode (or Node):
// persist, send, apply. Everything in it is read-only for the application,
// and the slices belong to it: raft does not reuse them.
//
// Without AsyncStorageWrites, the application processes a Ready as follows,
// then calls Advance:
//  1. Persist HardState (if not empty), Entries and Snapshot (if not empty)
//     to stable storage, syncing if MustSync. Entries may overwrite
//     previously persisted entries with the same or higher index.
//  2. Send Messages. NB: only after step 1; some of them (votes, append
//     acknowledgements) promise that the state they answer is durable. A
//     MsgSnap message's snapshot is the application's to send; report the
//     result with ReportSnapshot.
//  3. Apply Snapshot (if not empty) and CommittedEntries to the state
//     machine; apply configuration changes with ApplyConfChange.
//
// With AsyncStorageWrites, the work comes as local messages in Messages (see
// Config.AsyncStorageWrites) and Advance is not called.
type Ready struct {
	// SoftState is the peer's volatile state, or nil when it did not change
	// since the last Ready.
	*SoftState

	// HardState is the state to persist before sending Messages; empty when
	// it did not change since the last Ready.
	pb.HardState

	// ReadStates answer ReadIndex requests, in request order. An answer
	// becomes usable once the application has applied up to its Index.
	ReadStates []ReadState

	// DroppedReads are ReadIndex requests that will never be answered,
	// with the reason; only with Config.ReportDroppedReads. (An addition to
	// the etcd-raft v3.6 API.)
	DroppedReads []DroppedRead

	// Entries are to be persisted before Messages are sent.
	Entries []pb.Entry

	// Snapshot is to be persisted, or is empty.
	Snapshot pb.Snapshot

	// CommittedEntries are to be applied to the state machine. Without
	// AsyncStorageWrites they may include entries of this very Ready's
	// Entries; they are applied after those are persisted.
	CommittedEntries []pb.Entry

	// Messages are to be sent once Entries, HardState and Snapshot are
	// persisted. With AsyncStorageWrites they include the MsgStorageAppend
	// and MsgStorageApply messages for the local threads. The slice
	// belongs to the application, which may keep it: raft never writes
	// to it again (the messages of successive Readies are carved from
	// shared arrays, but never overlap, and each slice is capped so that
	// appending to it copies).
	Messages []pb.Message

	// Fault is set, once, when the peer stops taking part in the group
	// (a *LostLogError, with Config.ReportLostLog). (An addition to the
	// etcd-raft v3.6 API.)
	Fault error

	// MustSync says whether HardState and Entries must be written
	// synchronously (fsynced) rather than buffered.
	MustSync bool
}

func hardStatesEqual(a, b pb.HardState) bool {
	return a.Term == b.Term && a.Vote == b.Vote && a.Commit == b.Commit
}
