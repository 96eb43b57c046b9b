package raft

import (
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// stepLeader handles messages of the current term for a leader.
func stepLeader(r *raft, m pb.Message) error {
	// Messages that do not concern one particular follower.
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

	pr := r.trk.Progress[m.From]
	if pr == nil {
		r.logger.Debugf("%x no progress available for %x", r.id, m.From)
		return nil
	}
	switch m.Type {
	case pb.MsgAppResp:
		// NB: also stepped by the leader to itself once its own appends are
		// durable.
		pr.RecentActive = true
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
		// A peer we cannot reach has most likely lost the appends optimistically
		// pipelined to it; go back to probing.
		if pr.State == tracker.StateReplicate {
			pr.BecomeProbe()
		}
		r.logger.Debugf("%x failed to send message to %x because it is unreachable [%s]", r.id, m.From, pr)
	case pb.MsgTransferLeader:
		r.handleTransferLeader(m, pr)
	}
	return nil
}

// checkQuorumActive steps down if a quorum has not been heard from since the
// last check (thesis 6.2), then starts a new observation period.
func (r *raft) checkQuorumActive() {
	if !r.trk.QuorumActive() {
		r.logger.Warningf("%x stepped down to follower since quorum is not active", r.id)
		r.becomeFollower(r.term, None)
	}
	r.trk.Visit(func(id uint64, pr *tracker.Progress) {
		if id != r.id {
			pr.RecentActive = false
		}
	})
}

// handleAppendRejection reacts to a follower that did not have the entry
// preceding an append.
func (r *raft) handleAppendRejection(m pb.Message, pr *tracker.Progress) {
	// RejectHint is the follower's guess at the last index where the logs may
	// still match, and LogTerm its term there (0 from old peers or an empty
	// log). A follower whose log is a prefix of ours reveals its end in one
	// round trip. A follower with a divergent tail hints at its last entry
	// of a term <= the probed one; we then skip our own entries whose term
	// is above the hinted term, since those cannot match either. Each
	// further round trip therefore eliminates at least a whole term.
	r.logger.Debugf("%x received MsgAppResp(rejected, hint: (index %d, term %d)) from %x for index %d",
		r.id, m.RejectHint, m.LogTerm, m.From, m.Index)
	nextProbeIdx := m.RejectHint
	if m.LogTerm > 0 {
		nextProbeIdx, _ = r.raftLog.findConflictByTerm(m.RejectHint, m.LogTerm)
	}
	if pr.MaybeDecrTo(m.Index, nextProbeIdx) {
		r.logger.Debugf("%x decreased progress of %x to [%s]", r.id, m.From, pr)
		if pr.State == tracker.StateReplicate {
			pr.BecomeProbe()
		}
		// The follower is now probing and not paused: flushOutgoing sends
		// the next probe with this Ready.
		r.appendsPending = true
	}
}

// handleAppendAck reacts to a follower (or the leader itself) reporting that
// its log matches ours up to m.Index.
func (r *raft) handleAppendAck(m pb.Message, pr *tracker.Progress) {
	// NB: an ack of exactly Match still lets a probing follower resume
	// replicating; it comes in response to the append a heartbeat response
	// triggered.
	if !pr.MaybeUpdate(m.Index) && !(pr.Match == m.Index && pr.State == tracker.StateProbe) {
		return
	}
	switch {
	case pr.State == tracker.StateProbe:
		pr.BecomeReplicate()
	case pr.State == tracker.StateSnapshot && pr.Match+1 >= r.raftLog.firstIndex():
		// The follower caught up enough to be served from the log, whatever
		// snapshot got it there. Go through probe so that Next accounts
		// for the pending snapshot.
		r.logger.Debugf("%x recovered from needing snapshot, resumed sending replication messages to %x [%s]", r.id, m.From, pr)
		pr.BecomeProbe()
		pr.BecomeReplicate()
	case pr.State == tracker.StateReplicate:
		pr.Inflights.FreeLE(m.Index)
	}

	committed := r.maybeCommit()
	if committed {
		// The commit index moved in our term: serve the reads that waited
		// for it.
		r.releasePendingReadIndexMessages()
	}
	// NB: nothing is sent from here. The commit index may have moved and
	// flow control to the follower may have opened up (probe to replicate,
	// inflights freed); flushOutgoing sends each follower what it then
	// needs, once per Ready however many acknowledgements came in.
	if committed || m.From != r.id {
		r.appendsPending = true
	}
	if m.From == r.leadTransferee && pr.Match == r.raftLog.lastIndex() {
		r.logger.Infof("%x sent MsgTimeoutNow to %x after received MsgAppResp", r.id, m.From)
		r.sendTimeoutNow(m.From)
	}
}

// handleHeartbeatResp notes that the follower is alive, resumes replication
// to it if needed, and counts its acknowledgement of a read round.
func (r *raft) handleHeartbeatResp(m pb.Message, pr *tracker.Progress) {
	pr.RecentActive = true
	pr.MsgAppFlowPaused = false
	switch {
	case pr.State == tracker.StateProbe:
		// Unpaused, the follower is due a probe, even an empty one if it
		// has everything, so that its response moves it back to replicate.
		// flushOutgoing sends it with this Ready.
		r.appendsPending = true
	case pr.State == tracker.StateReplicate && pr.Match < r.raftLog.lastIndex():
		// NB: sent right away, even if empty or the window is full: the
		// appends in flight may all have been lost, and only this heartbeat
		// response tells that the follower is due one more; Progress keeps
		// no record of it for flushOutgoing to read. Its answer resumes
		// the flow or, after a loss, turns into a rejection and probing.
		r.sendAppend(m.From)
	}
	if r.readOnly.option != ReadOnlySafe || len(m.Context) == 0 {
		return
	}
	if r.readOnly.recvAck(m.From, m.Context) {
		r.releaseConfirmedReads()
	}
}

// handleSnapStatus applies the application's report on a snapshot it sent.
func (r *raft) handleSnapStatus(m pb.Message, pr *tracker.Progress) {
	if pr.State != tracker.StateSnapshot {
		return
	}
	if !m.Reject {
		pr.BecomeProbe()
		r.logger.Debugf("%x snapshot succeeded, resumed sending replication messages to %x [%s]", r.id, m.From, pr)
	} else {
		// NB: clear PendingSnapshot first, or probing would start after a
		// snapshot that was never applied.
		pr.PendingSnapshot = 0
		pr.BecomeProbe()
		r.logger.Debugf("%x snapshot failed, resumed sending replication messages to %x [%s]", r.id, m.From, pr)
	}
	// After success, wait for the follower's MsgAppResp before the next
	// append; after a failure, wait a heartbeat interval before retrying.
	pr.MsgAppFlowPaused = true
}
