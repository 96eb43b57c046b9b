package raft

import (
	"fmt"

	pb "github.com/quorate/raft/raftpb"
)

// Step is the single entry point of every input other than ticks: messages
// from peers, local requests (proposals, campaigns, read requests) and
// acknowledgements from the storage threads. It first reconciles terms (paper
// 5.1: a higher term makes us a follower, a lower one is stale), then handles
// messages common to all roles and hands the rest to the role's step
// function.
func (r *raft) Step(m pb.Message) error { return r.step(&m) }

// step is Step for a message the caller keeps: m is not kept, only read
// (and copied where needed).
func (r *raft) step(m *pb.Message) error {
	r.stir()
	if r.passesChecks(m) {
		// stepRole, spelt out for the roles of a live group, so that its
		// steady flow does not pay for one more call per message.
		switch r.state {
		case StateLeader:
			return r.stepLeader(m)
		case StateFollower:
			return r.stepFollower(m)
		}
	}
	return r.stepChecked(m)
}

// passesChecks reports whether m is one of the messages of a live group's
// steady flow (a proposal, an append, a heartbeat, a response to either, or
// a tick's local message) for which every check of stepChecked comes out as
// "hand it to the role": no fault, a term that is ours or none (a local
// message), and, for a message only peers send, a sender other than this
// peer. For anything else it answers false and stepChecked treats m in full.
// NB: such messages make up nearly all of a busy group's traffic; sending
// them straight to the role spares each some thirty instructions of checks
// that only rarer messages need.
func (r *raft) passesChecks(m *pb.Message) bool {
	if r.fault != nil || (m.Term != r.term && m.Term != 0) {
		return false
	}
	switch m.Type {
	case pb.MsgAppResp, pb.MsgProp, pb.MsgBeat, pb.MsgCheckQuorum:
		return true
	case pb.MsgApp, pb.MsgHeartbeat, pb.MsgHeartbeatResp:
		return m.From != r.id
	}
	return false
}

// stepChecked is step for any message: it reconciles terms and handles
// messages common to all roles before handing the rest to the role.
func (r *raft) stepChecked(m *pb.Message) error {
	if r.fault != nil {
		return r.stepFaulted(*m)
	}
	if m.Type == pb.MsgStorageAppendResp {
		// NB: handled before the term checks, which it does not belong to:
		// its Term is the term at which the append was handed out.
		r.handleStorageAppendResp(*m)
		return nil
	}
	if m.From == r.id && onlyFromPeers(m.Type) {
		r.cfg.logger.Warningf("%x [term: %d] ignored a %s claiming to come from itself", r.id, r.term, m.Type)
		return nil
	}
	switch {
	case m.Term == 0:
		// A local message, or one forwarded to the leader.
		if isVoteMsg(m.Type) {
			// NB: every election has a term of at least 1; a (pre-)vote
			// request or response without one comes from a broken peer and
			// would otherwise be counted as if it were of our term.
			r.cfg.logger.Warningf("%x [term: %d] ignored a %s without a term from %x", r.id, r.term, m.Type, m.From)
			return nil
		}
	case m.Term > r.term:
		if !r.stepHigherTerm(*m) {
			return nil
		}
	case m.Term < r.term:
		r.stepLowerTerm(*m)
		return nil
	}

	switch m.Type {
	case pb.MsgHup:
		if r.cfg.preVote {
			r.hup(campaignPreElection)
		} else {
			r.hup(campaignElection)
		}
	case pb.MsgStorageApplyResp:
		r.storageApplied(m.Entries)
	case pb.MsgVote, pb.MsgPreVote:
		r.handleVoteRequest(*m)
	case pb.MsgReadIndex:
		if m.From == None && len(m.Entries) == 1 {
			r.supersedeRead(m.Entries[0].Data)
		}
		return r.stepRole(m)
	default:
		return r.stepRole(m)
	}
	return nil
}

// stepRole hands m to the step function of the peer's role.
func (r *raft) stepRole(m *pb.Message) error {
	switch r.state {
	case StateLeader:
		return r.stepLeader(m)
	case StateFollower:
		return r.stepFollower(m)
	default:
		return r.stepCandidate(*m)
	}
}

// onlyFromPeers reports whether messages of type t only ever come from
// another peer. NB: a peer never sends these to itself: it does not append,
// heartbeat or send snapshots to itself as leader, nor ask itself for a vote
// over the network (its own vote is a response). One that claims to come
// from this peer is bogus, and answering it would make the peer follow or
// reply to itself.
func onlyFromPeers(t pb.MessageType) bool {
	switch t {
	case pb.MsgApp, pb.MsgHeartbeat, pb.MsgHeartbeatResp, pb.MsgSnap, pb.MsgVote, pb.MsgPreVote, pb.MsgTimeoutNow:
		return true
	}
	return false
}

// stepHigherTerm deals with a message whose term is ahead of ours and reports
// whether the message should be processed further.
func (r *raft) stepHigherTerm(m pb.Message) bool {
	if (m.Type == pb.MsgVote || m.Type == pb.MsgPreVote) && !isTransferCampaign(m) && r.heardFromLeaderRecently() {
		heard := fmt.Sprintf(": leader %x was heard from %d ticks ago", r.lead, r.ticksSinceLeaderHeard())
		if m.Type == pb.MsgPreVote {
			// Thesis 9.6: a pre-vote is granted only by a peer that has not
			// heard from a leader within the election timeout, whatever
			// CheckQuorum says. Otherwise a peer cut off from the leader
			// alone (or a leader's own partner in an asymmetric partition)
			// would win its pre-vote, bump its term and depose a healthy
			// leader. NB: the rejection carries our term, so a pre-candidate
			// of our term counts it and gives up instead of waiting.
			r.logVote("rejects", m, heard)
			if r.term == 0 {
				// NB: only LeaseGuardOnRestart makes a peer that never
				// learned a term refuse; a rejection needs a term to carry,
				// so the pre-candidate hears nothing and times out.
				return false
			}
			r.send(&pb.Message{To: m.From, Term: r.term, Type: pb.MsgPreVoteResp, Reject: true})
			return false
		}
		if r.cfg.checkQuorum {
			// Thesis 4.2.3: with CheckQuorum, a peer that heard from a
			// current leader within the minimum election timeout neither
			// bumps its term nor votes.
			r.logVote("ignores", m, heard)
			return false
		}
	}
	switch {
	case m.Type == pb.MsgPreVote:
		// A pre-vote never changes our term (thesis 9.6).
	case m.Type == pb.MsgPreVoteResp && !m.Reject:
		// Granted pre-votes carry the term the pre-candidate will campaign
		// in; it only adopts it once it wins the pre-vote.
	default:
		r.cfg.logger.Infof("%x moves from term %d to %d: %s from %x", r.id, r.term, m.Term, m.Type, m.From)
		if m.Type == pb.MsgApp || m.Type == pb.MsgHeartbeat || m.Type == pb.MsgSnap {
			r.becomeFollower(m.Term, m.From)
		} else {
			r.becomeFollower(m.Term, None)
		}
	}
	return true
}

// stepLowerTerm deals with a message from an older term. Such messages are
// stale, but a few of them deserve a reply so that their sender can learn
// about the current term.
func (r *raft) stepLowerTerm(m pb.Message) {
	switch {
	case (r.cfg.checkQuorum || r.cfg.preVote || !r.promotable()) && (m.Type == pb.MsgHeartbeat || m.Type == pb.MsgApp):
		// The sender believes it leads an older term. It may just be a delayed
		// message, or a leader cut off by a partition while this peer moved
		// on. Under CheckQuorum or PreVote this peer's own vote requests may
		// never reach that leader's followers with effect (they ignore
		// them), so tell the old leader about the new term; it steps down
		// and the cluster can converge. Without these options, the higher
		// term spreads through vote requests instead - except from a peer
		// that cannot campaign (a learner in its own view), which must tell
		// the leader itself: otherwise a removed peer that pushed its term
		// up could leave it and the leader apart forever (found by the
		// simulation, seed 584).
		r.send(&pb.Message{To: m.From, Type: pb.MsgAppResp})
	case m.Type == pb.MsgVote && !r.promotable():
		// The same for a candidate: a peer that cannot campaign never sends
		// its term to the candidate's peers, so a removed peer that pushed
		// it up could leave the candidate behind for good, each of its
		// campaigns too low to count (found by the simulation, seed
		// 15750). Rejecting with our term lets the next one count.
		r.logVote("rejects", m, ": its term is behind")
		r.send(&pb.Message{To: m.From, Term: r.term, Type: pb.MsgVoteResp, Reject: true})
	case m.Type == pb.MsgPreVote:
		// NB: a pre-candidate from an older term may be a peer that started
		// campaigning before PreVote was enabled; reject it explicitly with
		// our term, or it would wait forever.
		r.logVote("rejects", m, ": its term is behind")
		r.send(&pb.Message{To: m.From, Term: r.term, Type: pb.MsgPreVoteResp, Reject: true})
	default:
		r.cfg.logger.Infof("%x ignores %s from %x of term %d, behind its term %d", r.id, m.Type, m.From, m.Term, r.term)
	}
}

// handleVoteRequest decides on a (pre-)vote request of the current term, or
// of a higher one that stepHigherTerm let through.
func (r *raft) handleVoteRequest(m pb.Message) {
	// We may vote if we already voted for this candidate in this term, or
	// have not voted and know of no leader in this term, or if this is a
	// pre-vote for a future term.
	canVote := r.vote == m.From ||
		(r.vote == None && r.lead == None) ||
		(m.Type == pb.MsgPreVote && m.Term > r.term)
	candidate := entryID{term: m.LogTerm, index: m.Index}
	// NB: learners may vote too; a learner can be a voter in a configuration
	// it has not applied yet, and its vote may be needed.
	if canVote && r.log.isUpToDate(candidate) {
		r.logVote("grants", m, "")
		// NB: the response carries the message's term, not ours: for a
		// pre-vote ours may be behind, and a response with the older term
		// would be ignored by the pre-candidate.
		r.send(&pb.Message{To: m.From, Term: m.Term, Type: voteRespMsgType(m.Type)})
		if m.Type == pb.MsgVote {
			r.timer.heard()
			r.vote = m.From
		}
		return
	}
	r.logVote("rejects", m, "")
	if r.term == 0 {
		// NB: only a pre-vote leaves us at term 0. A rejection carries our
		// term, and one of term 0 would be ignored as stale anyway.
		return
	}
	r.send(&pb.Message{To: m.From, Term: r.term, Type: voteRespMsgType(m.Type), Reject: true})
}

// logVote logs a decision on the (pre-)vote request m, with why it was
// taken (empty, or starting with ": ").
func (r *raft) logVote(decision string, m pb.Message, why string) {
	r.cfg.logger.Infof("%x %s %s from %x for term %d in term %d%s (its last entry %v; ours %v, vote %x)",
		r.id, decision, m.Type, m.From, m.Term, r.term, why, entryID{term: m.LogTerm, index: m.Index},
		r.log.lastEntryID(), r.vote)
}

// handleStorageAppendResp takes note that the local append thread made
// entries and/or a snapshot durable.
func (r *raft) handleStorageAppendResp(m pb.Message) {
	r.storageAppended(m.Term, entryID{term: m.LogTerm, index: m.Index}, m.Snapshot)
}

// storageApplied takes note that the application applied ents (what a
// MsgStorageApplyResp carries).
func (r *raft) storageApplied(ents []pb.Entry) {
	if len(ents) == 0 {
		return
	}
	r.appliedTo(ents[len(ents)-1].Index, r.log.appliedSize(ents))
	if r.leading != nil {
		r.leading.repl.release(payloadsSize(ents))
	}
}

// storageAppended takes note that the local append thread made the log up
// to last durable, as handed out in term, and the snapshot snap if not nil
// (what a MsgStorageAppendResp carries). last.index is 0 when no entries
// were appended.
func (r *raft) storageAppended(term uint64, last entryID, snap *pb.Snapshot) {
	if last.index != 0 {
		if term == r.term {
			if stale := r.log.stableTo(last); stale != 0 {
				r.cfg.logger.Infof("ignoring stale persistence acknowledgement of entry %v: the unstable entry now has term %d",
					last, stale)
			}
		} else {
			// NB: the entries acknowledged here may have been overwritten by
			// an append of a later term that is still in flight, and then
			// rewritten with the same index and term (an A-B-A sequence);
			// the term would then match but storage would briefly hold the
			// B version. Every overwrite needs a new term, so ignore the
			// acknowledgement: the append handed out in the current term
			// will acknowledge everything again.
			r.cfg.logger.Infof("%x ignores the entries acknowledged by %s of term %d, behind its term %d",
				r.id, pb.MsgStorageAppendResp, term, r.term)
		}
	}
	if snap != nil {
		// A snapshot is identified by its index alone (it holds everything
		// committed up to it), so its acknowledgement is valid in any term.
		r.appliedSnap(snap)
	}
}

// appliedTo records that the application applied everything up to index.
func (r *raft) appliedTo(index uint64, size entryEncodingSize) {
	r.log.appliedTo(max(index, r.log.applied()), size)
	r.maybeAutoLeaveJoint()
}

// appliedSnap records that snap is durable and applied.
func (r *raft) appliedSnap(snap *pb.Snapshot) {
	index := snap.Metadata.Index
	r.log.stableSnapTo(index)
	r.appliedTo(index, 0)
}
