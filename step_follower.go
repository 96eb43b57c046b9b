package raft

import (
	"math"
	"slices"

	pb "github.com/quorate/raft/raftpb"
)

// stepFollower handles messages of the current term, and local requests,
// for a follower.
func (r *raft) stepFollower(m *pb.Message) error {
	switch m.Type {
	case pb.MsgProp:
		if r.lead == None {
			r.cfg.logger.Infof("%x drops a proposal: no leader in term %d", r.id, r.term)
			return ErrProposalDropped
		}
		if r.cfg.disableProposalForwarding {
			r.cfg.logger.Infof("%x drops a proposal: forwarding to leader %x is disabled (term %d)", r.id, r.lead, r.term)
			return ErrProposalDropped
		}
		r.forward(*m)
	case pb.MsgApp, pb.MsgHeartbeat, pb.MsgSnap:
		// The leader of our term is alive (paper 5.2).
		r.timer.heard()
		r.lead = m.From
		switch m.Type {
		case pb.MsgApp:
			r.handleAppendEntries(m)
		case pb.MsgHeartbeat:
			r.handleHeartbeat(m)
		default:
			r.handleSnapshot(*m)
		}
	case pb.MsgTransferLeader:
		if r.lead == None {
			r.cfg.logger.Infof("%x drops a leadership transfer request: no leader in term %d", r.id, r.term)
			return nil
		}
		r.forward(*m)
	case pb.MsgForgetLeader:
		r.forgetLeader()
	case pb.MsgTimeoutNow:
		r.cfg.logger.Infof("%x campaigns at once in term %d: %x hands leadership over", r.id, r.term, m.From)
		// NB: a transfer never uses pre-vote: the leader asked for it, so
		// there is no partition to guard against.
		r.hup(campaignTransfer)
	case pb.MsgReadIndex:
		r.forwardReadIndex(*m)
	case pb.MsgReadIndexResp:
		r.handleReadIndexResp(*m)
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
	r.send(&m)
}

// forgetLeader makes a follower leaderless in its current term without
// campaigning, so that it grants (pre-)votes at once instead of waiting out
// an election timeout. NB: under ReadOnlyLeaseBased this would let a new
// leader be elected while the old one still serves reads from its lease, so
// it is refused.
func (r *raft) forgetLeader() {
	if r.cfg.readOnly == ReadOnlyLeaseBased {
		r.cfg.logger.Errorf("%x keeps its leader: forgetting it would break the lease of ReadOnlyLeaseBased", r.id)
		return
	}
	if r.lead != None {
		r.cfg.logger.Infof("%x forgets leader %x in term %d", r.id, r.lead, r.term)
		r.lead = None
	}
}

// handleAppendEntries is the follower side of AppendEntries (paper 5.3).
func (r *raft) handleAppendEntries(m *pb.Message) {
	// NB: field by field, which builds ls in place; a composite literal
	// was built aside and then copied (about ten instructions more).
	var ls logSlice
	ls.term, ls.prev, ls.entries = m.Term, entryID{term: m.LogTerm, index: m.Index}, m.Entries
	// NB: ls.valid() in two steps, of which only the rare one is a call.
	if i := ls.breaksAt(); i >= 0 {
		r.cfg.logger.Errorf("%x drops a malformed %s from %x: %v", r.id, m.Type, m.From, ls.brokenAt(i))
		return
	}
	if r.cfg.reportLostLog {
		if at := r.log.committedConflict(ls); at != 0 && r.lostLog(m.From, at) {
			return
		}
	}
	// resp tells the leader the index up to which our log now matches its
	// own, or rejects the append with a hint at where the logs may still
	// match. NB: filled in place, since returning a message copies its 160
	// bytes twice; and the accepting spelt out here, with only the
	// rejection out of line, as a call per append cost about twenty
	// instructions.
	resp := pb.Message{To: m.From, Type: pb.MsgAppResp}
	if committed := r.log.committed(); ls.prev.index < committed {
		// Everything up to committed matches the leader's log already
		// (paper 5.4, Log Matching); say so instead of comparing.
		resp.Index = committed
	} else if last, ok := r.log.maybeAppend(&ls, m.Commit); ok {
		resp.Index = last
	} else {
		r.rejectAppend(&resp, &ls)
	}
	r.commitTold = m.Commit >= r.log.committed()
	r.send(&resp)
}

// rejectAppend fills in resp, the answer to the leader (resp.To), as the
// rejection of ls, whose previous entry our log does not hold. ls is only
// read.
func (r *raft) rejectAppend(resp *pb.Message, ls *logSlice) {
	r.cfg.logger.Debugf("%x rejects an append from %x after %v: it holds term %d there",
		r.id, resp.To, ls.prev, r.log.zeroTermOnOutOfBounds(r.log.term(ls.prev.index)))
	// Our log lacks the leader's entry at prev. Hint at the largest
	// (index, term) that may still match: our last entry at or below
	// prev.index whose term is at most prev.term. Entries above it have
	// terms the leader's log cannot hold at those positions, so the leader
	// skips our whole divergent tail of a term in one round trip.
	// NB: prev.index >= committed here, and so is our last index, so the
	// search stays in the part of the log that may still be probed.
	resp.Index = ls.prev.index
	resp.Reject = true
	resp.RejectHint, resp.LogTerm = r.log.findConflictByTerm(min(ls.prev.index, r.log.lastIndex()), ls.prev.term)
}

// handleHeartbeat advances the commit index to what the leader knows we have
// (it never sends more than our Match, so this stays within our log) and
// echoes the context, which identifies the read round being confirmed.
func (r *raft) handleHeartbeat(m *pb.Message) {
	if m.Commit > r.log.lastIndex() && r.lostLog(m.From, m.Commit) {
		return
	}
	r.log.commitTo(m.Commit)
	r.commitTold = m.Commit >= r.log.committed()
	r.send(&pb.Message{To: m.From, Type: pb.MsgHeartbeatResp, Context: m.Context})
}

// handleSnapshot is the follower side of InstallSnapshot (paper 7). Either
// way the leader learns how far our log now matches its own: up to the
// commit index, which the snapshot raises when it is installed.
func (r *raft) handleSnapshot(m pb.Message) {
	var snap pb.Snapshot
	if m.Snapshot != nil {
		snap = *m.Snapshot
	}
	at := entryID{term: snap.Metadata.Term, index: snap.Metadata.Index}
	if r.installSnapshot(snap) {
		r.cfg.logger.Infof("%x installs the snapshot at %v; commit %d", r.id, at, r.log.committed())
	} else {
		r.cfg.logger.Infof("%x ignores the snapshot at %v; commit %d", r.id, at, r.log.committed())
	}
	r.send(&pb.Message{To: m.From, Type: pb.MsgAppResp, Index: r.log.committed()})
}

// installSnapshot replaces the log and the configuration with snap, and
// reports whether it did. It does not when snap holds nothing new, when it
// cannot be valid for this peer, or when the log already holds snap's last
// entry (then it only advances the commit index).
func (r *raft) installSnapshot(snap pb.Snapshot) bool {
	at := entryID{term: snap.Metadata.Term, index: snap.Metadata.Index}
	cs := snap.Metadata.ConfState
	switch {
	case at.index <= r.log.committed():
		return false
	case at.index == math.MaxUint64:
		// NB: the log would continue at an index that does not exist; no
		// real log gets anywhere near it.
		r.cfg.logger.Errorf("%x ignores a snapshot at index %d: no entry could follow it", r.id, at.index)
		return false
	case r.state != StateFollower:
		// Only a follower receives snapshots; guard anyway, and make sure
		// this peer does not go on in a role the snapshot may contradict.
		r.cfg.logger.Warningf("%x ignores a snapshot received as %s: only followers take snapshots", r.id, r.state)
		r.becomeFollower(r.term+1, None)
		return false
	case !inConfState(cs, r.id):
		r.cfg.logger.Warningf("%x ignores a snapshot whose configuration %v does not include it", r.id, cs)
		return false
	case r.log.matchTerm(at):
		last := r.log.lastEntryID()
		r.cfg.logger.Infof("%x already holds the snapshot's last entry %v: commit %d moves up to it (log ends at %v)",
			r.id, at, r.log.committed(), last)
		r.log.commitTo(at.index)
		return false
	}
	// NB: the configuration is built before anything changes, so that a
	// snapshot with an invalid one (which only a corrupt or buggy peer can
	// produce) is dropped with the log left as it was.
	cfg, prs, err := r.restoredConfig(cs, at.index)
	if err != nil {
		r.cfg.logger.Errorf("%x ignores the snapshot at %v: its configuration does not restore: %v", r.id, at, err)
		return false
	}
	r.log.restore(snap)
	if h := r.heldExit(); h != nil && h.index <= at.index {
		// Part of the snapshot now, whatever it did.
		r.releaseExit()
	}
	r.switchConfig(cfg, prs)
	last := r.log.lastEntryID()
	r.cfg.logger.Infof("%x replaced its log with the snapshot at %v: commit %d, last entry %v", r.id, at, r.log.committed(), last)
	return true
}
