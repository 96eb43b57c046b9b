package raft

import (
	"errors"
	"fmt"

	pb "github.com/quorate/raft/raftpb"
)

// Bootstrap initializes a peer whose Storage is empty with a configuration of
// the given voters. It appends one ConfChangeAddNode entry per peer, commits
// them and applies them to the configuration right away, so that the peer
// can campaign at once. The entries are not persisted yet: the next Ready
// carries them (and the HardState) like any other, and its CommittedEntries
// hand them to the application, which applies them with ApplyConfChange as
// usual (applying them a second time changes nothing).
//
// It returns an error if peers is empty or if Storage is not empty.
func (rn *RawNode) Bootstrap(peers []Peer) error {
	if len(peers) == 0 {
		return errors.New("raft: must provide at least one peer to Bootstrap")
	}
	if err := validPeers(peers); err != nil {
		return err
	}
	r := rn.raft
	lastIndex, err := r.log.storage.LastIndex()
	if err != nil {
		return fmt.Errorf("raft: reading storage for Bootstrap: %w", err)
	}
	if lastIndex != 0 {
		return fmt.Errorf("raft: can't bootstrap a nonempty Storage (last index %d)", lastIndex)
	}
	if r.log.lastIndex() != 0 {
		return fmt.Errorf("raft: can't bootstrap a peer that has a log (last index %d)", r.log.lastIndex())
	}
	ents := make([]pb.Entry, len(peers))
	for i, peer := range peers {
		cc := pb.ConfChange{Type: pb.ConfChangeAddNode, NodeID: peer.ID, Context: peer.Context}
		data, err := cc.Marshal()
		if err != nil {
			return fmt.Errorf("raft: encoding bootstrap ConfChange for %x: %w", peer.ID, err)
		}
		ents[i] = pb.Entry{Type: pb.EntryConfChange, Term: 1, Index: uint64(i + 1), Data: data}
	}
	// NB: nothing is persisted yet, so the first Ready must carry the
	// HardState even if it equals the one we started with.
	rn.prevHardSt = pb.HardState{}

	r.becomeFollower(1, None)
	r.log.append(ents...)
	r.log.commitTo(uint64(len(ents)))
	for _, peer := range peers {
		cc := pb.ConfChange{NodeID: peer.ID, Type: pb.ConfChangeAddNode}
		if _, err := r.tryApplyConfChange(cc.AsV2()); err != nil {
			return fmt.Errorf("raft: applying bootstrap configuration: %w", err)
		}
	}
	return nil
}

// validPeers returns an error if peers name no node (ID None), or one node
// twice.
func validPeers(peers []Peer) error {
	seen := make(map[uint64]bool, len(peers))
	for _, p := range peers {
		switch {
		case p.ID == None:
			return errors.New("raft: a peer has ID None (0)")
		case IsLocalMsgTarget(p.ID):
			return fmt.Errorf("raft: peer ID %#x is reserved for a local storage thread", p.ID)
		case seen[p.ID]:
			return fmt.Errorf("raft: peer %x is listed twice", p.ID)
		}
		seen[p.ID] = true
	}
	return nil
}
