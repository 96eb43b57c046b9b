package raft

import (
	pb "github.com/quorate/raft/raftpb"
)

// leaderTransfer is a leadership transfer under way (thesis 3.10): the
// leader brings the transferee's log up to date, then tells it to campaign
// at once with MsgTimeoutNow. Proposals are refused meanwhile. A transfer
// that has not completed within an election timeout is abandoned.
//
// Invariant: to == None exactly when no transfer is under way, and then
// since == 0.
type leaderTransfer struct {
	// to is the transferee.
	to uint64
	// since is the leader's tick (leaderLease.now) at which the transfer
	// started.
	since uint64
}

// start begins a transfer to id at the leader's tick now.
func (t *leaderTransfer) start(id, now uint64) {
	t.to, t.since = id, now
}

// abort forgets the transfer under way, if any.
func (t *leaderTransfer) abort() {
	*t = leaderTransfer{}
}

// deadline returns the tick at which a transfer under way that has not
// completed is abandoned: timeout ticks after it started.
func (t *leaderTransfer) deadline(timeout uint64) uint64 {
	return t.since + timeout
}

// expired reports whether a transfer is under way and has lasted timeout
// ticks at the leader's tick now.
func (t *leaderTransfer) expired(now uint64, timeout int) bool {
	return t.to != None && now >= t.deadline(uint64(timeout))
}

// handleTransferLeader starts handing leadership to the peer m.From.
func (r *raft) handleTransferLeader(m pb.Message, pr *peerProgress) {
	l := r.leading
	to, cur := m.From, l.transferee()
	switch {
	case pr.learner:
		r.cfg.logger.Debugf("%x keeps leadership: learner %x cannot take it (term %d)", r.id, to, r.term)
		return
	case cur == to:
		r.cfg.logger.Infof("%x is already handing leadership to %x (term %d)", r.id, to, r.term)
		return
	case cur != None:
		r.cfg.logger.Infof("%x stops handing leadership to %x for a new request (term %d)", r.id, cur, r.term)
		l.abortTransfer()
	}
	if to == r.id {
		r.cfg.logger.Debugf("%x keeps leadership: the transfer is to itself", r.id)
		return
	}
	r.cfg.logger.Infof("%x hands leadership to %x (term %d)", r.id, to, r.term)
	t := &l.moreAside().transfer
	t.start(to, l.lease.now)
	l.wakeBy(t.deadline(uint64(r.cfg.electionTimeout)))
	if pr.match == r.log.lastIndex() {
		r.sendTimeoutNow(to)
		r.cfg.logger.Infof("%x tells %x to campaign at once: its log is up to date", r.id, to)
		return
	}
	// Bring the transferee up to date at the next Ready; its acknowledgement
	// of the last entry triggers MsgTimeoutNow (handleAppendAck).
	r.leading.repl.markDue(to, true, r.log.lastIndex(), r.log.committed())
}

// sendTimeoutNow tells an up-to-date peer to campaign immediately. From
// then on, for the rest of this leadership, the followers' promise not to
// vote for another leader no longer holds (the transferee's campaign
// bypasses it), so the lease is revoked: see leaderLease.
func (r *raft) sendTimeoutNow(to uint64) {
	r.leading.lease.revoked = true
	r.send(&pb.Message{To: to, Type: pb.MsgTimeoutNow})
}
