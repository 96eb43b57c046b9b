package rafttest

import (
	"fmt"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// persist writes what a Ready (or a MsgStorageAppend) asks to make
// durable, in the order the Ready contract requires: the snapshot first,
// then the entries that follow it, then the HardState, whose commit index
// may refer to those entries.
func (n *Node) persist(hs pb.HardState, ents []pb.Entry, snap *pb.Snapshot) error {
	if snap != nil && !raft.IsEmptySnap(*snap) {
		if err := n.Storage.ApplySnapshot(*snap); err != nil {
			return fmt.Errorf("applying snapshot %s: %w", raft.DescribeSnapshot(*snap), err)
		}
		// The application restores its state machine from the snapshot.
		n.applied = snap.Metadata.Index
		n.recordConf(snap.Metadata.Index, snap.Metadata.ConfState)
	}
	if err := n.Storage.Append(ents); err != nil {
		return fmt.Errorf("appending %d entries: %w", len(ents), err)
	}
	if !raft.IsEmptyHardState(hs) {
		if err := n.Storage.SetHardState(hs); err != nil {
			return fmt.Errorf("setting HardState %s: %w", raft.DescribeHardState(hs), err)
		}
	}
	return nil
}

// apply applies committed entries to the node's state machine. The state
// machine of a test node holds nothing but the configuration: conf change
// entries are handed back to the RawNode through ApplyConfChange, as the
// Ready contract requires, and normal entries only advance the applied
// index.
func (n *Node) apply(ents []pb.Entry) error {
	for _, e := range ents {
		var cc pb.ConfChangeI
		switch e.Type {
		case pb.EntryConfChange:
			var c pb.ConfChange
			if err := c.Unmarshal(e.Data); err != nil {
				return fmt.Errorf("decoding conf change at index %d: %w", e.Index, err)
			}
			cc = c
		case pb.EntryConfChangeV2:
			var c pb.ConfChangeV2
			if err := c.Unmarshal(e.Data); err != nil {
				return fmt.Errorf("decoding conf change at index %d: %w", e.Index, err)
			}
			cc = c
		}
		if cc != nil {
			cs := n.ApplyConfChange(cc)
			n.recordConf(e.Index, *cs)
		}
		n.applied = e.Index
	}
	return nil
}
