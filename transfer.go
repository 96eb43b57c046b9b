package raft

import (
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// leaderTransfer is a leadership transfer under way (thesis 3.10): the
// leader brings the transferee's log up to date, then tells it to campaign
// at once with MsgTimeoutNow. Proposals are refused meanwhile. A transfer
// that has not completed within an election timeout is abandoned.
//
// Invariant: to == None exactly when no transfer is under way, and then
// elapsed == 0.
type leaderTransfer struct {
	// to is the transferee.
	to uint64
	// elapsed counts the ticks since the transfer started.
	elapsed int
}

// start begins a transfer to id.
func (t *leaderTransfer) start(id uint64) {
	t.to, t.elapsed = id, 0
}

// abort forgets the transfer under way, if any.
func (t *leaderTransfer) abort() {
	*t = leaderTransfer{}
}

// advance counts a tick of the transfer under way, if any, and reports
// whether it has now lasted timeout ticks.
func (t *leaderTransfer) advance(timeout int) bool {
	if t.to == None {
		return false
	}
	t.elapsed++
	return t.elapsed >= timeout
}

// handleTransferLeader starts handing leadership to the peer m.From.
func (r *raft) handleTransferLeader(m pb.Message, pr *tracker.Progress) {
	t := &r.leading.transfer
	to := m.From
	switch {
	case pr.IsLearner:
		r.logger.Debugf("%x [term %d] ignored transferring leadership to learner %x", r.id, r.term, to)
		return
	case t.to == to:
		r.logger.Infof("%x [term %d] transfer leadership to %x is in progress, ignores request to same node %x",
			r.id, r.term, to, to)
		return
	case t.to != None:
		r.logger.Infof("%x [term %d] abort previous transferring leadership to %x", r.id, r.term, t.to)
		t.abort()
	}
	if to == r.id {
		r.logger.Debugf("%x is already leader. Ignored transferring leadership to self", r.id)
		return
	}
	r.logger.Infof("%x [term %d] starts to transfer leadership to %x", r.id, r.term, to)
	t.start(to)
	if pr.Match == r.log.lastIndex() {
		r.sendTimeoutNow(to)
		r.logger.Infof("%x sends MsgTimeoutNow to %x immediately as %x already has up-to-date log", r.id, to, to)
		return
	}
	// Bring the transferee up to date at the next Ready; its acknowledgement
	// of the last entry triggers MsgTimeoutNow (handleAppendAck).
	r.leading.repl.markDue(r.id, to, true, r.log.lastIndex(), r.log.committed())
}

// sendTimeoutNow tells an up-to-date peer to campaign immediately.
func (r *raft) sendTimeoutNow(to uint64) {
	r.send(pb.Message{To: to, Type: pb.MsgTimeoutNow})
}
