package raft

import (
	"errors"

	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// appendEntry appends proposals to the leader's log, assigning them the
// current term and consecutive indexes, and reports whether they fit under
// the uncommitted-size limit. The entries are broadcast in the next Ready.
func (r *raft) appendEntry(es ...pb.Entry) (accepted bool) {
	li := r.raftLog.lastIndex()
	for i := range es {
		es[i].Term = r.term
		es[i].Index = li + 1 + uint64(i)
	}
	if !r.increaseUncommittedSize(es) {
		r.logger.Warningf("%x appending new entries to log would exceed uncommitted entry size limit; dropping proposal", r.id)
		return false
	}
	li = r.raftLog.append(es...)
	// The leader acknowledges its own entries once they are durable, through
	// the same path as the followers' acknowledgements.
	r.send(pb.Message{To: r.id, Type: pb.MsgAppResp, Index: li})
	r.appendsPending = true
	return true
}

// increaseUncommittedSize admits entries under MaxUncommittedEntriesSize.
// NB: when nothing is pending the proposal is admitted whatever its size, so
// that one large entry cannot be refused forever; empty payloads (such as a
// new leader's entry) are always admitted.
func (r *raft) increaseUncommittedSize(ents []pb.Entry) bool {
	s := payloadsSize(ents)
	if r.uncommittedSize > 0 && s > 0 && r.uncommittedSize+s > r.maxUncommittedSize {
		return false
	}
	r.uncommittedSize += s
	return true
}

// reduceUncommittedSize accounts for applied entries. The estimate never
// drops below zero: entries appended in an earlier term were not counted.
func (r *raft) reduceUncommittedSize(s entryPayloadSize) {
	if s > r.uncommittedSize {
		r.uncommittedSize = 0
	} else {
		r.uncommittedSize -= s
	}
}

// maybeCommit advances the commit index to what a quorum of the active
// configuration has, provided that entry is of the current term (paper
// 5.4.2).
func (r *raft) maybeCommit() bool {
	return r.raftLog.maybeCommit(entryID{term: r.term, index: r.trk.Committed()})
}

// sendAppend sends an append (possibly empty, to carry the commit index) or
// a snapshot to the given peer right away, unless flow control holds it
// back. Responses from followers do not call it: they leave the sending to
// flushOutgoing, so that a burst of them costs one append per follower.
func (r *raft) sendAppend(to uint64) {
	r.maybeSendAppend(to, true)
}

// maybeSendAppend sends the next append to a peer and reports whether it
// sent anything. With sendIfEmpty false it sends only when there are entries
// to send. When the entries the peer needs are compacted, it sends a
// snapshot instead.
func (r *raft) maybeSendAppend(to uint64, sendIfEmpty bool) bool {
	pr := r.trk.Progress[to]
	if pr.IsPaused() {
		return false
	}
	prevIndex := pr.Next - 1
	prevTerm, err := r.raftLog.term(prevIndex)
	if err != nil {
		return r.maybeSendSnapshot(to, pr)
	}
	var ents []pb.Entry
	// NB: in replicate state with a full window, send only the commit
	// index.
	if pr.State != tracker.StateReplicate || !pr.Inflights.Full() {
		ents, err = r.raftLog.entries(pr.Next, r.maxMsgSize)
		if err != nil {
			return r.maybeSendSnapshot(to, pr)
		}
	}
	if len(ents) == 0 && !sendIfEmpty {
		return false
	}
	commit := r.raftLog.committed
	r.send(pb.Message{
		To:      to,
		Type:    pb.MsgApp,
		Index:   prevIndex,
		LogTerm: prevTerm,
		Entries: ents,
		Commit:  commit,
	})
	pr.SentEntries(len(ents), uint64(payloadsSize(ents)))
	pr.SentCommit(commit)
	if pr.State == tracker.StateProbe {
		// NB: an empty append is a probe too (thesis 3.5): in probe state
		// one is outstanding at a time, whatever it carries, until the
		// follower answers it or a heartbeat response shows it alive.
		// Otherwise every Ready would probe a caught-up follower again.
		pr.MsgAppFlowPaused = true
	}
	return true
}

// maybeSendSnapshot sends the storage snapshot to a peer that needs entries
// no longer in the log, and reports whether it did.
func (r *raft) maybeSendSnapshot(to uint64, pr *tracker.Progress) bool {
	if !pr.RecentActive {
		r.logger.Debugf("%x ignore sending snapshot to %x since it is not recently active", r.id, to)
		return false
	}
	snapshot, err := r.raftLog.snapshot()
	if err != nil {
		if errors.Is(err, ErrSnapshotTemporarilyUnavailable) {
			r.logger.Debugf("%x failed to send snapshot to %x because snapshot is temporarily unavailable", r.id, to)
		} else {
			r.logger.Errorf("%x failed to send snapshot to %x: storage returned %v", r.id, to, err)
		}
		return false
	}
	if IsEmptySnap(snapshot) {
		assertf(false, "%x needs a snapshot for %x (next %d) but storage returned an empty one", r.id, to, pr.Next)
	}
	sindex, sterm := snapshot.Metadata.Index, snapshot.Metadata.Term
	r.logger.Debugf("%x [firstindex: %d, commit: %d] sent snapshot[index: %d, term: %d] to %x [%s]",
		r.id, r.raftLog.firstIndex(), r.raftLog.committed, sindex, sterm, to, pr)
	pr.BecomeSnapshot(sindex)
	r.logger.Debugf("%x paused sending replication messages to %x [%s]", r.id, to, pr)
	r.send(pb.Message{To: to, Type: pb.MsgSnap, Snapshot: &snapshot})
	return true
}

// bcastAppend sends every follower what it is missing (see
// sendPendingAppends).
func (r *raft) bcastAppend() {
	r.trk.Visit(func(id uint64, pr *tracker.Progress) {
		if id != r.id {
			r.sendPendingAppends(id, pr)
		}
	})
}

// sendPendingAppends sends a follower, as far as flow control allows, the
// entries it has not been sent yet, in as few appends as MaxSizePerMsg
// permits. If there are none it sends a single empty append when there is
// still something to tell: a commit index the follower has not been sent,
// or a probe that is due (in probe state, not paused means the last probe
// was answered, failed or is presumed lost, so another one is due).
//
// What a follower needs is thus read off its Progress rather than recorded
// as events, which lets flushOutgoing call this once per Ready for any
// number of proposals and responses stepped in between.
func (r *raft) sendPendingAppends(id uint64, pr *tracker.Progress) {
	sendIfEmpty := pr.State == tracker.StateProbe || pr.CanBumpCommit(r.raftLog.committed)
	if !sendIfEmpty && pr.Next > r.raftLog.lastIndex() {
		// Everything was sent and the follower knows the commit index: the
		// common case for most followers after an acknowledgement.
		return
	}
	if !r.maybeSendAppend(id, sendIfEmpty) {
		return
	}
	for r.maybeSendAppend(id, false) {
	}
}

// flushOutgoing performs the broadcasts deferred while stepping: appends of
// new entries and commit indexes, appends that acknowledgements let through
// flow control, and heartbeats for new read requests. It runs once per
// Ready, so any number of proposals and acknowledgements costs one MsgApp
// per follower (more only when MaxSizePerMsg splits the entries), and any
// number of ReadIndex requests one heartbeat round.
func (r *raft) flushOutgoing() {
	if r.state != StateLeader {
		r.appendsPending = false
		return
	}
	if r.appendsPending {
		r.appendsPending = false
		r.bcastAppend()
	}
	if r.readOnly.hasUnissued() {
		r.bcastHeartbeat()
	}
}

// bcastHeartbeat sends a heartbeat to every follower. If read requests are
// waiting for confirmation, the heartbeats carry the latest read round.
func (r *raft) bcastHeartbeat() {
	ctx := r.readOnly.issueRound(r)
	r.trk.Visit(func(id uint64, _ *tracker.Progress) {
		if id == r.id {
			return
		}
		r.sendHeartbeat(id, ctx)
	})
	if ctx != nil {
		// NB: in a configuration where the leader alone is a quorum (e.g.
		// after the others were removed), its own confirmation suffices.
		r.releaseConfirmedReads()
	}
}

// sendHeartbeat sends one heartbeat.
func (r *raft) sendHeartbeat(to uint64, ctx []byte) {
	pr := r.trk.Progress[to]
	// NB: the follower may not have our entries up to the commit index yet;
	// it must not commit beyond what we know matches.
	commit := min(pr.Match, r.raftLog.committed)
	r.send(pb.Message{To: to, Type: pb.MsgHeartbeat, Commit: commit, Context: ctx})
	pr.SentCommit(commit)
}
