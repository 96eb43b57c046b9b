package raft

import (
	"fmt"

	"github.com/quorate/raft/quorum"
	pb "github.com/quorate/raft/raftpb"
)

// campaign is an election under way at a (pre-)candidate (paper 5.2,
// thesis 9.6 for the pre-vote): the votes received so far. The candidate's
// own vote arrives like the others, once it is durable.
//
// Invariant: votes holds the first answer of each peer only.
type campaign struct {
	// pre is set during the pre-vote phase.
	pre   bool
	votes map[uint64]bool
}

func newCampaign(pre bool) *campaign {
	return &campaign{pre: pre, votes: make(map[uint64]bool)}
}

// record notes peer id's answer and returns the tally among the voters of
// the configuration.
func (c *campaign) record(id uint64, granted bool, voters jointVoters) (yes, no int, res quorum.VoteResult) {
	if _, answered := c.votes[id]; !answered {
		c.votes[id] = granted
	}
	var buf [8]uint64
	for _, id := range voters.appendIDs(buf[:0]) {
		switch v, ok := c.votes[id]; {
		case !ok:
		case v:
			yes++
		default:
			no++
		}
	}
	return yes, no, voters.VoteResult(c.votes)
}

// respType is the type of the answers this campaign counts.
func (c *campaign) respType() pb.MessageType {
	if c.pre {
		return pb.MsgPreVoteResp
	}
	return pb.MsgVoteResp
}

// heardFromLeaderRecently reports whether the peer leads, or knows a leader
// of its term and heard from it within the last election timeout (or, with
// Config.LeaseGuardOnRestart, started less than an election timeout ago). Such a
// peer refuses pre-votes (thesis 9.6) and, with CheckQuorum, votes (thesis
// 4.2.3). NB: ForgetLeader clears lead, so that a follower answers false at
// once.
func (r *raft) heardFromLeaderRecently() bool {
	if r.state == StateLeader {
		return true
	}
	return (r.lead != None || r.restartGuard) && r.timer.withinBase(r.cfg.electionTimeout)
}

// ticksSinceLeaderHeard returns the ticks since the peer last heard from
// its leader; for a leader, since its last CheckQuorum round.
func (r *raft) ticksSinceLeaderHeard() int {
	if l := r.leading; l != nil {
		return int(l.lease.now + uint64(r.cfg.electionTimeout) - l.quorumDue)
	}
	return r.timer.elapsed
}

// isTransferCampaign reports whether vote request m comes from a campaign
// forced by a leadership transfer, which the current leader asked for and
// which therefore bypasses leader stickiness (thesis 3.10).
func isTransferCampaign(m pb.Message) bool {
	// NB: the conversion in a comparison does not allocate.
	return string(m.Context) == string(campaignTransfer)
}

// hup starts an election of kind t, unless the peer may not campaign now.
func (r *raft) hup(t CampaignType) {
	if r.state == StateLeader {
		r.cfg.logger.Debugf("%x does not campaign: it is the leader", r.id)
		return
	}
	if reason := r.campaignRefusal(); reason != "" {
		r.cfg.logger.Warningf("%x %s", r.id, reason)
		return
	}
	r.cfg.logger.Infof("%x starts an election from term %d", r.id, r.term)
	r.campaign(t)
}

// campaignRefusal returns why a peer that does not lead may not campaign
// now, or "".
func (r *raft) campaignRefusal() string {
	if !r.promotable() {
		return "does not campaign: it does not vote in its configuration, or its snapshot is not durable yet"
	}
	// NB: the configuration the votes would be counted in may be about to
	// change; wait until the committed changes are applied. The peer's own
	// exit, held back, does not count, nor do the changes after it if none
	// applies: the configuration they lead to is the exit's, one step from
	// the peer's (see exitHold). NB: a later change that applies lets a
	// non-leader's exit go at its next Ready; until then it counts.
	pending, err := r.log.unappliedConfChange(r.heldExitIndex())
	if h := r.heldExit(); h != nil && !pending && err == nil {
		pending = r.laterConfChange(h.index, h.next) != 0
	}
	if err != nil {
		// The entries are committed, so storage must have them.
		r.cfg.logger.Errorf("%x cannot read its unapplied committed entries: %v", r.id, err)
	}
	if pending || err != nil {
		return fmt.Sprintf("does not campaign in term %d: a committed configuration change awaits application", r.term)
	}
	return ""
}

// campaign starts an election of kind t: it asks every voter of the active
// (possibly joint) configuration for its vote, and votes for itself once
// that vote is durable.
func (r *raft) campaign(t CampaignType) {
	req := pb.MsgVote
	if t == campaignPreElection {
		r.becomePreCandidate()
		req = pb.MsgPreVote
	} else {
		r.becomeCandidate()
	}
	// NB: pre-votes are asked for the term the peer would campaign in,
	// without entering it yet.
	term := r.term
	if req == pb.MsgPreVote {
		term++
	}
	var ctx []byte
	if t == campaignTransfer {
		ctx = []byte(t)
	}
	last := r.log.lastEntryID()
	var buf [8]uint64
	for _, id := range r.conf.voters().appendIDs(buf[:0]) {
		if id == r.id {
			// The self-vote counts once it is persisted with the term, as
			// any vote must be (paper figure 2).
			r.send(&pb.Message{To: id, Term: term, Type: voteRespMsgType(req)})
			continue
		}
		r.cfg.logger.Infof("%x sends %s to %x in term %d, last entry %v", r.id, req, id, r.term, last)
		r.send(&pb.Message{To: id, Term: term, Type: req, Index: last.index, LogTerm: last.term, Context: ctx})
	}
}

// stepCandidate handles messages of the current term for a candidate or a
// pre-candidate.
func (r *raft) stepCandidate(m pb.Message) error {
	switch m.Type {
	case pb.MsgProp:
		r.cfg.logger.Infof("%x drops a proposal: no leader in term %d", r.id, r.term)
		return ErrProposalDropped
	case pb.MsgApp, pb.MsgHeartbeat, pb.MsgSnap:
		// A leader of our term exists (paper 5.2): return to follower, and
		// take its message as one. NB: our term, not m.Term, which may be 0
		// (a message without a term counts as one of the current term).
		r.becomeFollower(r.term, m.From)
		return r.stepFollower(&m)
	case pb.MsgVoteResp, pb.MsgPreVoteResp:
		r.countVote(m)
	case pb.MsgTimeoutNow:
		r.cfg.logger.Debugf("%x ignores MsgTimeoutNow from %x as %v of term %d", r.id, m.From, r.state, r.term)
	case pb.MsgReadIndex:
		if m.From == None && len(m.Entries) == 1 {
			r.dropRead(m.Entries[0].Data, ErrReadNoLeader)
		}
	}
	return nil
}

// countVote counts an answer to the campaign under way, and wins or loses
// the campaign when the answers decide it.
func (r *raft) countVote(m pb.Message) {
	c := r.camp
	if m.Type != c.respType() {
		// NB: a candidate may still receive pre-vote answers of its own
		// term, from the pre-campaign that got it there.
		return
	}
	if c.pre && !m.Reject && m.Term != r.term+1 {
		// NB: a grant carries the term it was asked for, so one of another
		// term answers an older pre-campaign: the voter may have found a
		// leader since. Counting it would let us campaign without a
		// quorum's current consent (thesis 9.6).
		r.cfg.logger.Infof("%x ignores a %s from %x for term %d, answering an earlier pre-campaign", r.id, m.Type, m.From, m.Term)
		return
	}
	if m.Reject {
		r.cfg.logger.Infof("%x gets a %s rejection from %x in term %d", r.id, m.Type, m.From, r.term)
	} else {
		r.cfg.logger.Infof("%x gets a %s grant from %x in term %d", r.id, m.Type, m.From, r.term)
	}
	yes, no, res := c.record(m.From, !m.Reject, r.conf.voters())
	r.cfg.logger.Infof("%x counts %d grants and %d rejections of %s", r.id, yes, no, m.Type)
	switch {
	case res == quorum.VoteWon && c.pre:
		r.campaign(campaignElection)
	case res == quorum.VoteWon:
		// NB: the new leader's first entry goes out with the next Ready.
		r.becomeLeader()
	case res == quorum.VoteLost:
		// NB: a rejected pre-vote may carry a future term; stay in ours.
		r.becomeFollower(r.term, None)
	}
}
