package raft

import (
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// handleTransferLeader starts handing leadership to the peer m.From (thesis
// 3.10): bring it up to date, then tell it to campaign at once with
// MsgTimeoutNow. Proposals are dropped meanwhile; the transfer is abandoned
// after an election timeout (see tickHeartbeat).
func (r *raft) handleTransferLeader(m pb.Message, pr *tracker.Progress) {
	if pr.IsLearner {
		r.logger.Debugf("%x [term %d] ignored transferring leadership to learner %x", r.id, r.term, m.From)
		return
	}
	transferee := m.From
	if last := r.leadTransferee; last != None {
		if last == transferee {
			r.logger.Infof("%x [term %d] transfer leadership to %x is in progress, ignores request to same node %x",
				r.id, r.term, transferee, transferee)
			return
		}
		r.abortLeaderTransfer()
		r.logger.Infof("%x [term %d] abort previous transferring leadership to %x", r.id, r.term, last)
	}
	if transferee == r.id {
		r.logger.Debugf("%x is already leader. Ignored transferring leadership to self", r.id)
		return
	}
	r.logger.Infof("%x [term %d] starts to transfer leadership to %x", r.id, r.term, transferee)
	// The transfer must complete within one election timeout.
	r.electionElapsed = 0
	r.leadTransferee = transferee
	if pr.Match == r.raftLog.lastIndex() {
		r.sendTimeoutNow(transferee)
		r.logger.Infof("%x sends MsgTimeoutNow to %x immediately as %x already has up-to-date log", r.id, transferee, transferee)
	} else {
		r.sendAppend(transferee)
	}
}

// sendTimeoutNow tells an up-to-date peer to campaign immediately.
func (r *raft) sendTimeoutNow(to uint64) {
	r.send(pb.Message{To: to, Type: pb.MsgTimeoutNow})
}

// abortLeaderTransfer forgets the transfer under way, if any; the leader
// accepts proposals again.
func (r *raft) abortLeaderTransfer() {
	r.leadTransferee = None
}

// forgetLeader makes a follower leaderless in its current term without
// campaigning, so that it grants (pre-)votes at once instead of waiting out
// an election timeout. NB: under ReadOnlyLeaseBased this would let a new
// leader be elected while the old one still serves reads from its lease, so
// it is refused.
func (r *raft) forgetLeader() {
	if r.readOnly.option == ReadOnlyLeaseBased {
		r.logger.Errorf("%x ignoring MsgForgetLeader due to ReadOnlyLeaseBased", r.id)
		return
	}
	if r.lead != None {
		r.logger.Infof("%x forgetting leader %x at term %d", r.id, r.lead, r.term)
		r.lead = None
	}
}
