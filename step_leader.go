package raft

import (
	"fmt"

	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// stepLeader handles messages of the current term, and local requests, for
// a leader: client requests first, then the responses of one follower.
func (r *raft) stepLeader(m *pb.Message) error {
	switch m.Type {
	case pb.MsgBeat:
		r.bcastHeartbeat()
		return nil
	case pb.MsgCheckQuorum:
		r.checkQuorumActive()
		return nil
	case pb.MsgProp:
		return r.handleProposal(m)
	case pb.MsgReadIndex:
		return r.handleReadIndex(m)
	case pb.MsgForgetLeader:
		// A leader does not forget itself.
		return nil
	}
	rp := &r.leading.repl
	var pr *peerProgress
	switch {
	case m.From == r.id && rp.selfIn:
		// NB: asked before peers are searched, which do not hold the
		// leader while selfIn.
		if m.Type == pb.MsgAppResp && !m.Reject {
			// The leader's own entries up to m.Index are durable.
			if rp.ackOwn(m.Index) {
				r.commitAcked(m.Index)
			}
			return nil
		}
		// Anything else may take the leader's progress where its derived
		// form cannot follow: keep it as a follower's from now on.
		pr = rp.takeSelfIntoPeers()
	default:
		if pr = rp.peer(m.From); pr == nil {
			r.cfg.logger.Debugf("%x ignores %s from %x: not a member", r.id, m.Type, m.From)
			return nil
		}
	}
	switch m.Type {
	case pb.MsgAppResp:
		// NB: also stepped by the leader to itself once its own appends are
		// durable.
		pr.active = true
		if m.Reject {
			r.handleAppendRejection(m, pr)
		} else {
			r.handleAppendAck(m, pr)
		}
	case pb.MsgHeartbeatResp:
		r.handleHeartbeatResp(m, pr)
	case pb.MsgSnapStatus:
		r.handleSnapStatus(m, pr)
	case pb.MsgUnreachable:
		// A peer we cannot reach has most likely lost the appends pipelined
		// to it; go back to probing (at the next heartbeat response).
		if pr.state == flowReplicate {
			pr.becomeProbe()
		}
		r.cfg.logger.Debugf("%x probes %x again: the host reports it unreachable (%s)", r.id, m.From, pr)
	case pb.MsgTransferLeader:
		r.handleTransferLeader(*m, pr)
	}
	return nil
}

// handleAppendRejection reacts to a follower that did not hold the entry an
// append followed.
func (r *raft) handleAppendRejection(m *pb.Message, pr *peerProgress) {
	// The hint (RejectHint, LogTerm) is the follower's last entry at or
	// below the probed index with a term at most the probed term. Our own
	// entries above the hinted term cannot match its log either, so the
	// next probe goes to our last entry of a term <= the hinted one: each
	// round trip skips at least a whole term (paper 5.3). A hint without a
	// term (an old peer, or a follower whose log ends before the probe)
	// is an index to probe as it is.
	r.cfg.logger.Debugf("%x: %x rejected the append after index %d, hinting %d@%d",
		r.id, m.From, m.Index, m.RejectHint, m.LogTerm)
	probe := m.RejectHint
	if m.LogTerm != 0 {
		probe, _ = r.log.findConflictByTerm(m.RejectHint, m.LogTerm)
	}
	if !pr.maybeDecrTo(m.Index, probe) {
		return
	}
	r.cfg.logger.Debugf("%x probes %x from further back (%s)", r.id, m.From, pr)
	if pr.state == flowReplicate {
		pr.becomeProbe()
	}
	r.leading.repl.markAllDue(r)
}

// handleAppendAck reacts to a follower (or the leader itself) reporting that
// its log matches ours up to m.Index.
func (r *raft) handleAppendAck(m *pb.Message, pr *peerProgress) {
	// NB: an ack of exactly Match still lets a probing follower resume
	// replicating; it answers the probe a heartbeat response triggered.
	if !pr.maybeUpdate(m.Index) && !(pr.match == m.Index && pr.state == flowProbe) {
		return
	}
	if pr.state == flowReplicate {
		// NB: openFlow's usual case, without the call.
		pr.window().FreeLE(m.Index)
	} else {
		r.openFlow(m.From, pr, m.Index)
	}
	if r.cfg.readOnly == ReadOnlyLeaseBased && m.From != r.id && r.leading.lease.ackIndex(m.From, m.Index) {
		r.releaseLeaseReads()
	}
	if !r.commitAcked(m.Index) && m.From != r.id {
		// Flow control to the follower may have opened up.
		r.leading.repl.markAllDue(r)
	}
	if m.From == r.leading.transferee() && pr.match == r.log.lastIndex() {
		r.cfg.logger.Infof("%x tells %x to campaign: its log caught up", r.id, m.From)
		r.sendTimeoutNow(m.From)
	}
}

// commitAcked commits what the acknowledgements now allow, a member's match
// having just risen to index, or else moves the departures along, and
// reports whether it committed.
func (r *raft) commitAcked(index uint64) bool {
	if r.commitMayRise(index) && r.maybeCommit() {
		r.onCommit()
		return true
	}
	if r.leading.hasDepartures() {
		r.settleDepartures()
	}
	return false
}

// openFlow moves a follower whose log is now known to match up to index to
// the replication state that fits: out of probing, out of a snapshot that
// got it far enough, or freeing its acknowledged window.
func (r *raft) openFlow(id uint64, pr *peerProgress, index uint64) {
	switch pr.state {
	case flowProbe:
		pr.becomeReplicate()
	case flowSnapshot:
		if pr.match+1 < r.log.firstIndex() {
			return
		}
		// The follower caught up enough to be served from the log, whatever
		// snapshot got it there. Pass through probe so that Next accounts
		// for the pending snapshot.
		r.cfg.logger.Debugf("%x resumes appends to %x, caught up past the compacted log (%s)", r.id, id, pr)
		pr.becomeProbe()
		pr.becomeReplicate()
	case flowReplicate:
		pr.window().FreeLE(index)
	}
}

// handleHeartbeatResp notes that the follower is alive, resumes replication
// to it if needed, and counts its confirmation of a read round.
func (r *raft) handleHeartbeatResp(m *pb.Message, pr *peerProgress) {
	pr.active = true
	pr.paused = false
	rp := &r.leading.repl
	switch {
	case pr.state == flowProbe:
		// Unpaused, the follower is due a probe, even an empty one if it
		// has everything, so that its answer moves it back to replicate.
		rp.markAllDue(r)
	case pr.state == flowReplicate && pr.match < r.log.lastIndex():
		// The appends in flight may all have been lost, and only this
		// response tells that the follower is due another one, even if the
		// window is full and it carries nothing: its answer resumes the
		// flow or, after a loss, turns into a rejection and probing.
		rp.markDue(m.From, true, r.log.lastIndex(), r.log.committed())
	}
	switch {
	case len(m.Context) == 0:
	case r.cfg.readOnly == ReadOnlyLeaseBased:
		if r.leading.lease.ack(m.From, m.Context) {
			r.releaseLeaseReads()
		}
	case r.leading.reads.recvAck(m.From, m.Context):
		r.releaseConfirmedReads()
	}
}

// handleSnapStatus applies the application's report on a snapshot it sent.
func (r *raft) handleSnapStatus(m *pb.Message, pr *peerProgress) {
	if pr.state != flowSnapshot {
		return
	}
	if m.Reject {
		// NB: cleared first, or probing would resume after a snapshot that
		// never arrived.
		pr.forgetSnapshot()
		pr.becomeProbe()
		r.cfg.logger.Debugf("%x probes %x again after a failed snapshot (%s)", r.id, m.From, pr)
	} else {
		pr.becomeProbe()
		r.cfg.logger.Debugf("%x resumes appends to %x after a delivered snapshot (%s)", r.id, m.From, pr)
	}
	// After success, wait for the follower's MsgAppResp before the next
	// append; after a failure, wait a heartbeat interval before retrying.
	pr.paused = true
}

// handleProposal appends a client proposal to the leader's log.
func (r *raft) handleProposal(m *pb.Message) error {
	l := r.leading
	switch {
	case len(m.Entries) == 0:
		return fmt.Errorf("raft: %x received an empty proposal from %x", r.id, m.From)
	case !r.conf.isMember(r.id):
		// This leader was removed from the configuration: it cannot commit
		// anything new.
		return ErrProposalDropped
	case l.transferee() != None:
		r.cfg.logger.Debugf("%x drops a proposal: leadership is moving to %x (term %d)", r.id, l.transferee(), r.term)
		return ErrProposalDropped
	}
	if !hasConfChange(m.Entries) {
		// NB: most proposals; the configuration changes, with their
		// larger frame, are left to proposeConfChanges.
		if !r.appendOwn(m.Entries) {
			return ErrProposalDropped
		}
		return nil
	}
	return r.proposeConfChanges(m)
}

// proposeConfChanges is handleProposal for a proposal that holds
// configuration changes, from a leader that may append it.
func (r *raft) proposeConfChanges(m *pb.Message) error {
	l := r.leading
	next := r.log.lastIndex() + 1
	type change struct {
		cc    pb.ConfChangeV2
		index uint64
		// after is the configuration cc leads to, worked out by the
		// validation (with validation off, left to pendingConfig).
		after tracker.Config
	}
	validate := !r.cfg.disableConfChangeValidation
	var accepted []change
	for i := range m.Entries {
		e := &m.Entries[i]
		if !isConfChange(e) {
			continue
		}
		cc, err := decodeConfChange(*e)
		if err != nil {
			return fmt.Errorf("raft: %x refusing proposal from %x: %w", r.id, m.From, err)
		}
		c := change{cc: cc, index: next + uint64(i)}
		if validate {
			var reason string
			if reason, c.after = r.confChangeRefusal(cc); reason != "" {
				if err := r.refuseConfChange(e, cc, m.From, reason); err != nil {
					return err
				}
				continue
			}
		}
		l.pendingConfIndex = c.index
		accepted = append(accepted, c)
	}
	if !r.appendOwn(m.Entries) {
		return ErrProposalDropped
	}
	switch {
	case len(accepted) == 0:
	case validate:
		// NB: with validation, a change is accepted only with none
		// pending (so at most one per proposal), and the validation tried
		// it on the active configuration, which it applies to.
		if len(accepted) > 1 {
			invariantBroken("%x accepted %d configuration changes in one proposal with validation on", r.id, len(accepted))
		}
		c := accepted[0]
		r.noteDeparturesTo(r.conf.voters(), c.after, c.index)
	default:
		// NB: a change after the leader's own exit, which it has not
		// applied, must not commit in the configuration before the exit
		// (see exitHold).
		cfg := r.pendingConfig(next)
		left := r.conf.isVoter(r.id) && !r.votesIn(cfg)
		for _, c := range accepted {
			was := r.votesIn(cfg)
			after, applies := r.noteDepartures(cfg, c.cc, c.index)
			if left && applies {
				r.capCommitBelow(c.index)
			}
			cfg = after
			left = left || was && !r.votesIn(cfg)
		}
	}
	return nil
}
