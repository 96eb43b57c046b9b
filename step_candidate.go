package raft

import (
	"github.com/quorate/raft/quorum"
	pb "github.com/quorate/raft/raftpb"
)

// stepCandidate handles messages of the current term for a candidate or a
// pre-candidate.
func stepCandidate(r *raft, m pb.Message) error {
	// NB: a candidate may still receive pre-vote responses of its own term
	// from its pre-candidacy; only responses to the current phase count.
	myVoteRespType := pb.MsgVoteResp
	if r.state == StatePreCandidate {
		myVoteRespType = pb.MsgPreVoteResp
	}
	switch m.Type {
	case pb.MsgProp:
		r.logger.Infof("%x no leader at term %d; dropping proposal", r.id, r.term)
		return ErrProposalDropped
	case pb.MsgApp:
		// A leader exists in our term (m.Term == r.term): paper 5.2, the
		// candidate returns to follower.
		r.becomeFollower(m.Term, m.From)
		r.handleAppendEntries(m)
	case pb.MsgHeartbeat:
		r.becomeFollower(m.Term, m.From)
		r.handleHeartbeat(m)
	case pb.MsgSnap:
		r.becomeFollower(m.Term, m.From)
		r.handleSnapshot(m)
	case myVoteRespType:
		if r.state == StatePreCandidate && !m.Reject && m.Term != r.term+1 {
			// NB: a grant carries the term it was asked for, so one of our
			// own term answers an older pre-campaign, from before we reached
			// this term: the voter may have found a leader since. Counting
			// it would let us campaign without a quorum's current consent
			// (thesis 9.6).
			r.logger.Infof("%x ignored a stale %s from %x for term %d", r.id, m.Type, m.From, m.Term)
			return nil
		}
		granted, rejected, res := r.poll(m.From, m.Type, !m.Reject)
		r.logger.Infof("%x has received %d %s votes and %d vote rejections", r.id, granted, m.Type, rejected)
		switch res {
		case quorum.VoteWon:
			if r.state == StatePreCandidate {
				r.campaign(campaignElection)
			} else {
				// NB: the broadcast of the new leader's first entry waits
				// for the next Ready, like every append (flushOutgoing).
				r.becomeLeader()
			}
		case quorum.VoteLost:
			// NB: a rejected pre-vote may carry a future term; stay in ours.
			r.becomeFollower(r.term, None)
		}
	case pb.MsgTimeoutNow:
		r.logger.Debugf("%x [term %d state %v] ignored MsgTimeoutNow from %x", r.id, r.term, r.state, m.From)
	}
	return nil
}
