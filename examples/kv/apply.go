package main

import (
	"errors"
	"fmt"
	"maps"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// The Ready loop's side of the state machine: applying committed entries
// and snapshots, following configuration changes, and taking snapshots.
// Only the Ready loop calls these.

// installSnapshot replaces the state machine with a snapshot received from
// the leader (Save has already stored it).
func (s *server) installSnapshot(snap pb.Snapshot) error {
	st, err := unmarshalKVState(snap.Data)
	if err != nil {
		return fmt.Errorf("snapshot at index %d: %w", snap.Metadata.Index, err)
	}
	s.mu.Lock()
	s.state = st
	s.setConfLocked(snap.Metadata.ConfState)
	s.snapshotIndex = snap.Metadata.Index
	s.snapshotsReceived++
	members := maps.Clone(st.members)
	s.mu.Unlock()
	s.log.Infof("node %x: installed the snapshot at index %d", s.cfg.ID, snap.Metadata.Index)

	// The snapshot's configuration is the whole truth: drop the peers it
	// does not hold.
	in := confIDs(snap.Metadata.ConfState)
	for id := range s.peers {
		if !in[id] {
			s.removePeer(id)
		}
	}
	for id, addr := range members {
		s.ensurePeer(id, addr)
	}
	s.applied.set(snap.Metadata.Index)
	return nil
}

// apply applies committed entries to the state machine and tells the
// requests waiting for them.
func (s *server) apply(ents []pb.Entry) error {
	for _, e := range ents {
		switch e.Type {
		case pb.EntryNormal:
			s.applyCommand(e)
		case pb.EntryConfChange:
			var cc pb.ConfChange
			if err := cc.Unmarshal(e.Data); err != nil {
				return fmt.Errorf("entry %d: %w", e.Index, err)
			}
			s.applyConfChange(e.Index, cc, cc.Context)
		case pb.EntryConfChangeV2:
			var cc pb.ConfChangeV2
			if err := cc.Unmarshal(e.Data); err != nil {
				return fmt.Errorf("entry %d: %w", e.Index, err)
			}
			s.applyConfChange(e.Index, cc, cc.Context)
		}
	}
	if len(ents) > 0 {
		s.applied.set(ents[len(ents)-1].Index)
	}
	return nil
}

func (s *server) applyCommand(e pb.Entry) {
	if len(e.Data) == 0 {
		return // a new leader's empty entry
	}
	c, err := decodeCommand(e.Data)
	if err != nil {
		// Every replica skips it alike, so they stay in agreement.
		s.log.Errorf("node %x: skipping entry %d: %v", s.cfg.ID, e.Index, err)
		return
	}
	s.mu.Lock()
	s.state.apply(c)
	s.mu.Unlock()
	s.waiters.applied(c.ID, applyResult{index: e.Index})
}

// applyConfChange hands a committed change to raft and then follows the
// resulting configuration: the transport gets the addresses of the nodes
// added and forgets the nodes removed.
func (s *server) applyConfChange(index uint64, cc pb.ConfChangeI, context []byte) {
	cs := s.node.ApplyConfChange(cc)
	ctx, err := decodeChangeContext(context)
	if err != nil {
		s.log.Errorf("node %x: configuration change at index %d: %v", s.cfg.ID, index, err)
	}
	s.mu.Lock()
	before := confIDs(s.conf)
	s.setConfLocked(*cs)
	s.state.applyConfChange(ctx, *cs)
	members := maps.Clone(s.state.members)
	s.mu.Unlock()

	after := confIDs(*cs)
	for id := range before {
		if !after[id] {
			s.removePeer(id)
		}
	}
	for id, addr := range members {
		s.ensurePeer(id, addr)
	}
	s.confChanged = true
	if ctx.ID != 0 {
		s.waiters.applied(ctx.ID, applyResult{index: index, conf: cs})
	}
}

// setConfLocked records the configuration cs and whether it leaves this
// node out. s.mu must be held.
func (s *server) setConfLocked(cs pb.ConfState) {
	wasMember := confIDs(s.conf)[s.cfg.ID]
	s.conf = cs
	if wasMember && !confIDs(cs)[s.cfg.ID] {
		s.removed = true
		s.log.Infof("node %x: removed from the cluster; it no longer serves requests", s.cfg.ID)
	}
}

// ensurePeer tells the transport that node id is at addr.
func (s *server) ensurePeer(id uint64, addr string) {
	if id == s.cfg.ID {
		return
	}
	cur, known := s.peers[id]
	var err error
	switch {
	case !known:
		err = s.tr.AddPeer(id, addr)
	case cur != addr:
		err = s.tr.UpdatePeer(id, addr)
	}
	if err != nil {
		s.log.Errorf("node %x: peer %x at %s: %v", s.cfg.ID, id, addr, err)
		return
	}
	s.peers[id] = addr
}

func (s *server) removePeer(id uint64) {
	if _, known := s.peers[id]; !known {
		return
	}
	if err := s.tr.RemovePeer(id); err != nil {
		s.log.Errorf("node %x: removing peer %x: %v", s.cfg.ID, id, err)
	}
	delete(s.peers, id)
}

// maybeSnapshot snapshots the state machine once SnapshotEntries entries
// were applied since the last snapshot, or a configuration change was, and
// compacts the log up to CatchUpEntries before it.
//
// NB: a leader sends a follower that is too far behind the latest
// snapshot in its storage, and a follower refuses a snapshot whose
// configuration does not hold it. A node just added, whose log is empty,
// needs a snapshot taken after it was added, hence one after every
// configuration change.
func (s *server) maybeSnapshot() error {
	applied := s.applied.get()
	s.mu.RLock()
	due := applied >= s.snapshotIndex+s.cfg.SnapshotEntries || s.confChanged && applied > s.snapshotIndex
	var data []byte
	var err error
	cs := s.conf
	if due {
		data, err = s.state.marshal()
	}
	s.mu.RUnlock()
	if !due {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := s.store.CreateSnapshot(applied, &cs, data); err != nil {
		return fmt.Errorf("snapshot at index %d: %w", applied, err)
	}
	s.mu.Lock()
	s.snapshotIndex = applied
	s.mu.Unlock()
	s.confChanged = false
	if applied <= s.cfg.CatchUpEntries {
		return nil
	}
	if err := s.store.Compact(applied - s.cfg.CatchUpEntries); err != nil && !errors.Is(err, raft.ErrCompacted) {
		return fmt.Errorf("compacting to index %d: %w", applied-s.cfg.CatchUpEntries, err)
	}
	return nil
}
