package raft

import (
	"math"
	"slices"

	"github.com/quorate/raft/confchange"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// stepFollower handles messages of the current term for a follower.
func stepFollower(r *raft, m pb.Message) error {
	switch m.Type {
	case pb.MsgProp:
		if r.lead == None {
			r.logger.Infof("%x no leader at term %d; dropping proposal", r.id, r.term)
			return ErrProposalDropped
		}
		if r.disableProposalForwarding {
			r.logger.Infof("%x not forwarding to leader %x at term %d; dropping proposal", r.id, r.lead, r.term)
			return ErrProposalDropped
		}
		r.forward(m)
	case pb.MsgApp:
		r.electionElapsed = 0
		r.lead = m.From
		r.handleAppendEntries(m)
	case pb.MsgHeartbeat:
		r.electionElapsed = 0
		r.lead = m.From
		r.handleHeartbeat(m)
	case pb.MsgSnap:
		r.electionElapsed = 0
		r.lead = m.From
		r.handleSnapshot(m)
	case pb.MsgTransferLeader:
		if r.lead == None {
			r.logger.Infof("%x no leader at term %d; dropping leader transfer msg", r.id, r.term)
			return nil
		}
		r.forward(m)
	case pb.MsgForgetLeader:
		r.forgetLeader()
	case pb.MsgTimeoutNow:
		r.logger.Infof("%x [term %d] received MsgTimeoutNow from %x and starts an election to get leadership", r.id, r.term, m.From)
		// NB: a transfer never uses pre-vote: the leader asked for it, so
		// there is no partition to guard against.
		r.hup(campaignTransfer)
	case pb.MsgReadIndex:
		r.forwardReadIndex(m)
	case pb.MsgReadIndexResp:
		r.handleReadIndexResp(m)
	}
	return nil
}

// forward sends a client request on to the leader.
func (r *raft) forward(m pb.Message) {
	m.To = r.lead
	m.Term = 0
	// NB: the entries may live in a buffer the caller reuses (RawNode.Propose
	// does); the forwarded message outlives the call.
	m.Entries = slices.Clone(m.Entries)
	r.send(m)
}

// handleAppendEntries is the follower side of AppendEntries (paper 5.3).
func (r *raft) handleAppendEntries(m pb.Message) {
	a := logSlice{term: m.Term, prev: entryID{term: m.LogTerm, index: m.Index}, entries: m.Entries}
	if err := a.valid(); err != nil {
		r.logger.Errorf("%x ignoring malformed %s from %x: %v", r.id, m.Type, m.From, err)
		return
	}
	if a.prev.index < r.raftLog.committed {
		// Everything up to committed matches the leader's log already
		// (paper 5.4 Log Matching); say so instead of comparing.
		r.send(pb.Message{To: m.From, Type: pb.MsgAppResp, Index: r.raftLog.committed})
		return
	}
	if lastIndex, ok := r.raftLog.maybeAppend(a, m.Commit); ok {
		r.send(pb.Message{To: m.From, Type: pb.MsgAppResp, Index: lastIndex})
		return
	}
	r.logger.Debugf("%x [logterm: %d, index: %d] rejected MsgApp [logterm: %d, index: %d] from %x",
		r.id, r.raftLog.zeroTermOnOutOfBounds(r.raftLog.term(m.Index)), m.Index, m.LogTerm, m.Index, m.From)
	// Our log does not contain the leader's entry at m.Index. Hint at the
	// largest (index, term) that may still match: the last entry at or
	// below m.Index whose term is at most m.LogTerm. Entries above it have
	// terms the leader's log cannot have at those positions, so the leader
	// skips our whole divergent tail of one term in one round trip.
	// NB: m.Index >= committed here, and so is lastIndex, hence the search
	// stays in the part of the log that may still be probed.
	hintIndex := min(m.Index, r.raftLog.lastIndex())
	hintIndex, hintTerm := r.raftLog.findConflictByTerm(hintIndex, m.LogTerm)
	r.send(pb.Message{
		To:         m.From,
		Type:       pb.MsgAppResp,
		Index:      m.Index,
		Reject:     true,
		RejectHint: hintIndex,
		LogTerm:    hintTerm,
	})
}

// handleHeartbeat advances the commit index to what the leader knows we have
// (it never sends more than our Match, so this stays within our log) and
// echoes the context, which identifies the read round being confirmed.
func (r *raft) handleHeartbeat(m pb.Message) {
	r.raftLog.commitTo(m.Commit)
	r.send(pb.Message{To: m.From, Type: pb.MsgHeartbeatResp, Context: m.Context})
}

// handleSnapshot is the follower side of InstallSnapshot (paper 7).
func (r *raft) handleSnapshot(m pb.Message) {
	var s pb.Snapshot
	if m.Snapshot != nil {
		s = *m.Snapshot
	}
	sindex, sterm := s.Metadata.Index, s.Metadata.Term
	if r.restore(s) {
		r.logger.Infof("%x [commit: %d] restored snapshot [index: %d, term: %d]",
			r.id, r.raftLog.committed, sindex, sterm)
		r.send(pb.Message{To: m.From, Type: pb.MsgAppResp, Index: r.raftLog.lastIndex()})
		return
	}
	r.logger.Infof("%x [commit: %d] ignored snapshot [index: %d, term: %d]",
		r.id, r.raftLog.committed, sindex, sterm)
	r.send(pb.Message{To: m.From, Type: pb.MsgAppResp, Index: r.raftLog.committed})
}

// restore replaces the log and configuration with snapshot s, and reports
// whether it did. It does not when s holds nothing new, or when our log
// already contains s's last entry (then it only advances the commit index).
func (r *raft) restore(s pb.Snapshot) bool {
	if s.Metadata.Index <= r.raftLog.committed {
		return false
	}
	if s.Metadata.Index == math.MaxUint64 {
		// NB: the log continues at the index after the snapshot's, which
		// would not exist; no real log gets anywhere near this index.
		r.logger.Errorf("%x ignored snapshot at index %d: no entry can follow it", r.id, s.Metadata.Index)
		return false
	}
	if r.state != StateFollower {
		// Only a follower receives snapshots; guard anyway, and make sure
		// this peer does not keep acting in a role the snapshot may
		// contradict.
		r.logger.Warningf("%x attempted to restore snapshot as %s; should never happen", r.id, r.state)
		r.becomeFollower(r.term+1, None)
		return false
	}
	cs := s.Metadata.ConfState
	if !slices.Contains(cs.Voters, r.id) && !slices.Contains(cs.Learners, r.id) &&
		!slices.Contains(cs.VotersOutgoing, r.id) {
		// NB: LearnersNext need not be checked; its members are in
		// VotersOutgoing.
		r.logger.Warningf("%x attempted to restore snapshot but it is not in the ConfState %v; should never happen", r.id, cs)
		return false
	}

	id := entryID{term: s.Metadata.Term, index: s.Metadata.Index}
	if r.raftLog.matchTerm(id) {
		last := r.raftLog.lastEntryID()
		r.logger.Infof("%x [commit: %d, lastindex: %d, lastterm: %d] fast-forwarded commit to snapshot [index: %d, term: %d]",
			r.id, r.raftLog.committed, last.index, last.term, id.index, id.term)
		r.raftLog.commitTo(id.index)
		return false
	}

	// NB: the configuration is restored into a fresh tracker before anything
	// changes, so that a snapshot with an invalid one (which only a corrupt
	// or buggy peer can produce, from its applied configuration) is dropped
	// with the log left as it was.
	trk := tracker.MakeProgressTracker(r.trk.MaxInflight, r.trk.MaxInflightBytes)
	cfg, progress, err := confchange.Restore(confchange.Changer{Tracker: trk, LastIndex: id.index}, cs)
	if err == nil {
		// E.g. a ConfState listing a voter twice is restored, but not
		// equivalent to the configuration that results.
		trk.Config, trk.Progress = cfg, progress
		err = cs.Equivalent(trk.ConfState())
	}
	if err != nil {
		r.logger.Errorf("%x ignored snapshot [index: %d, term: %d] with a configuration that cannot be restored: %v",
			r.id, id.index, id.term, err)
		return false
	}
	r.raftLog.restore(s)
	r.trk = trk
	r.installConfState(cs, cfg, progress)
	last := r.raftLog.lastEntryID()
	r.logger.Infof("%x [commit: %d, lastindex: %d, lastterm: %d] restored snapshot [index: %d, term: %d]",
		r.id, r.raftLog.committed, last.index, last.term, id.index, id.term)
	return true
}

// restoreConfState installs configuration cs into the (empty) tracker.
func (r *raft) restoreConfState(cs pb.ConfState) error {
	cfg, progress, err := confchange.Restore(confchange.Changer{
		Tracker:   r.trk,
		LastIndex: r.raftLog.lastIndex(),
	}, cs)
	if err != nil {
		return err
	}
	r.installConfState(cs, cfg, progress)
	return nil
}

// installConfState makes cfg and progress, restored from cs, the active
// configuration.
func (r *raft) installConfState(cs pb.ConfState, cfg tracker.Config, progress tracker.ProgressMap) {
	got := r.switchToConfig(cfg, progress)
	if err := cs.Equivalent(got); err != nil {
		assertf(false, "%x restored configuration %v differs from the requested %v: %v", r.id, got, cs, err)
	}
}
