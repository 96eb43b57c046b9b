package raft

import (
	pb "github.com/quorate/raft/raftpb"
)

// readyToHandOut collects the pending work into a Ready without marking it
// handed out: calling it again before markHandedOut returns the same work
// (plus anything new). A caller that may fail to deliver a Ready (say, on a
// channel) can thus commit to it only once it has been taken.
func (rn *RawNode) readyToHandOut() Ready {
	r := rn.raft
	r.flushOutgoing()
	rd := Ready{
		Entries:          r.raftLog.nextUnstableEnts(),
		CommittedEntries: r.raftLog.nextCommittedEnts(rn.applyUnstableEntries()),
		Messages:         r.msgs,
	}
	if ss := r.softState(); !ss.equal(&rn.prevSoftSt) {
		// NB: a fresh variable, so that the allocation happens only when
		// the state changed.
		changed := ss
		rd.SoftState = &changed
	}
	hs := r.hardState()
	if !hardStatesEqual(hs, rn.prevHardSt) {
		rd.HardState = hs
	}
	if r.raftLog.hasNextUnstableSnapshot() {
		rd.Snapshot = *r.raftLog.nextUnstableSnapshot()
	}
	if len(r.readStates) != 0 {
		rd.ReadStates = r.readStates
	}
	rd.MustSync = MustSync(hs, rn.prevHardSt, len(rd.Entries))

	if rn.asyncStorageWrites {
		if rn.needStorageAppend(rd) {
			rd.Messages = append(rd.Messages, rn.storageAppendMsg(rd))
		}
		if len(rd.CommittedEntries) > 0 {
			rd.Messages = append(rd.Messages, rn.storageApplyMsg(rd.CommittedEntries))
		}
	}
	// NB: without AsyncStorageWrites, the messages that wait for durability
	// are in Messages already (see sendAfterAppend): the application
	// persists the Ready before sending them. Those to ourselves are stepped
	// back in on Advance.
	return rd
}

// markHandedOut records that rd, built by readyToHandOut, now belongs to
// the application.
func (rn *RawNode) markHandedOut(rd Ready) {
	r := rn.raft
	if rd.SoftState != nil {
		rn.prevSoftSt = *rd.SoftState
	}
	if !IsEmptyHardState(rd.HardState) {
		rn.prevHardSt = rd.HardState
	}
	if len(rd.ReadStates) != 0 {
		r.readStates = nil
	}
	if !rn.asyncStorageWrites {
		// NB: if the application takes another Ready without calling
		// Advance, these accumulate, and its next Advance covers both.
		rn.stepsOnAdvance = append(rn.stepsOnAdvance, r.msgsAfterAppend...)
		if rn.needStorageAppendResp(rd) {
			rn.stepsOnAdvance = append(rn.stepsOnAdvance, rn.storageAppendRespMsg(rd))
		}
		if len(rd.CommittedEntries) > 0 {
			rn.stepsOnAdvance = append(rn.stepsOnAdvance, rn.storageApplyRespMsg(rd.CommittedEntries))
		}
	}
	r.msgs = nil
	if rn.asyncStorageWrites {
		// Handed out in the Responses of the MsgStorageAppend.
		r.msgsAfterAppend = nil
	} else {
		// Copied to stepsOnAdvance above: the array can be reused.
		clear(r.msgsAfterAppend)
		r.msgsAfterAppend = r.msgsAfterAppend[:0]
	}
	r.raftLog.acceptUnstable()
	if n := len(rd.CommittedEntries); n > 0 {
		r.raftLog.acceptApplying(rd.CommittedEntries[n-1].Index, entsSize(rd.CommittedEntries), rn.applyUnstableEntries())
	}
}

// needStorageAppend reports whether the append thread has work: something
// to persist, or messages that must wait for everything before them to be
// persisted.
func (rn *RawNode) needStorageAppend(rd Ready) bool {
	return len(rd.Entries) > 0 || !IsEmptyHardState(rd.HardState) ||
		!IsEmptySnap(rd.Snapshot) || len(rn.raft.msgsAfterAppend) > 0
}

// needStorageAppendResp reports whether raft needs to hear back once the
// append is durable: to mark entries or a snapshot stable.
// NB: entries handed out earlier but not yet acknowledged count too. Their
// acknowledgement is ignored if the term changed meanwhile (see
// handleStorageAppendResp), and a term change always comes with a HardState
// to persist, so this append acknowledges them again.
func (rn *RawNode) needStorageAppendResp(rd Ready) bool {
	return rn.raft.raftLog.hasUnstableEnts() || !IsEmptySnap(rd.Snapshot)
}

// storageAppendMsg builds the MsgStorageAppend for the append thread: what
// to persist (the HardState fields are set only if the HardState changed, so
// that a HardState rebuilt from them is empty otherwise), and the responses
// to deliver once it is durable.
func (rn *RawNode) storageAppendMsg(rd Ready) pb.Message {
	r := rn.raft
	m := pb.Message{
		Type:    pb.MsgStorageAppend,
		To:      LocalAppendThread,
		From:    r.id,
		Entries: rd.Entries,
	}
	if !IsEmptyHardState(rd.HardState) {
		m.Term = rd.Term
		m.Vote = rd.Vote
		m.Commit = rd.Commit
	}
	if !IsEmptySnap(rd.Snapshot) {
		snap := rd.Snapshot
		m.Snapshot = &snap
	}
	// NB: the leader's acknowledgement of its own entries comes before the
	// MsgStorageAppendResp, so it is handled while the entries are still
	// in the unstable log, where looking up their terms is cheapest.
	m.Responses = r.msgsAfterAppend
	if rn.needStorageAppendResp(rd) {
		m.Responses = append(m.Responses, rn.storageAppendRespMsg(rd))
	}
	return m
}

// storageAppendRespMsg is the append thread's acknowledgement: the last entry
// of the log as of this append, in the term it is handed out in, and the
// snapshot, if any.
func (rn *RawNode) storageAppendRespMsg(rd Ready) pb.Message {
	r := rn.raft
	m := pb.Message{
		Type: pb.MsgStorageAppendResp,
		To:   r.id,
		From: LocalAppendThread,
		Term: r.term,
	}
	if r.raftLog.hasUnstableEnts() {
		last := r.raftLog.lastEntryID()
		m.Index = last.index
		m.LogTerm = last.term
	}
	if !IsEmptySnap(rd.Snapshot) {
		snap := rd.Snapshot
		m.Snapshot = &snap
	}
	return m
}

// storageApplyMsg builds the MsgStorageApply for the apply thread.
// NB: application is not tied to a term, so the message has none.
func (rn *RawNode) storageApplyMsg(ents []pb.Entry) pb.Message {
	return pb.Message{
		Type:      pb.MsgStorageApply,
		To:        LocalApplyThread,
		From:      rn.raft.id,
		Entries:   ents,
		Responses: []pb.Message{rn.storageApplyRespMsg(ents)},
	}
}

// storageApplyRespMsg is the apply thread's acknowledgement.
func (rn *RawNode) storageApplyRespMsg(ents []pb.Entry) pb.Message {
	return pb.Message{
		Type:    pb.MsgStorageApplyResp,
		To:      rn.raft.id,
		From:    LocalApplyThread,
		Entries: ents,
	}
}
