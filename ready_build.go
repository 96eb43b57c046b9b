package raft

import (
	pb "github.com/quorate/raft/raftpb"
)

// This file builds Readies: what RawNode hands out, and what it records as
// handed out. Building a Ready is also where the work deferred while
// stepping is done (flushDeferred): nothing is sent between two Readies
// that could be batched into the next one, and asking whether there is a
// Ready (HasReady) changes nothing.

// hasDeferred reports whether flushDeferred would send something: appends
// owed to followers, or the heartbeats of a read round not issued yet.
// NB: split so that this part inlines: a peer that does not lead, asked
// after each of its Readies and by HasReady, is spared a call.
func (r *raft) hasDeferred() bool {
	return r.leading != nil && r.leaderHasDeferred()
}

// leaderHasDeferred is hasDeferred for a leader.
func (r *raft) leaderHasDeferred() bool {
	l := r.leading
	return l.repl.hasDue() || l.reads.hasUnissued() || l.lease.beatOwed
}

// flushDeferred does the work deferred to the Ready: the appends owed to
// followers, then the heartbeats of a new read round, shared by every read
// request received since the last one, or that a held lease read needs.
// Only a leader defers work. NB: small enough to inline, so that the
// Readies of the other peers pay for no call (some 13 instructions each).
func (r *raft) flushDeferred() {
	if r.leading != nil {
		r.flushLeader()
	}
}

// flushLeader is flushDeferred for a leader.
func (r *raft) flushLeader() {
	r.flushAppends()
	if r.leading.reads.hasUnissued() || r.leading.lease.beatOwed {
		r.bcastHeartbeat()
	}
}

// readyToHandOut collects the pending work into rd, which must be zero,
// without marking it handed out: calling it again before markHandedOut
// collects the same work (plus anything new). A caller that may fail to
// deliver a Ready (say, on a channel) can thus commit to it only once it
// has been taken. NB: filled in place, since a Ready is some 300 bytes and
// each copy of it shows in a one-message Ready's cost.
func (rn *RawNode) readyToHandOut(rd *Ready) {
	r := rn.raft
	// The batch handed out last, if still out, counts in the size of the
	// next one.
	r.log.sizeApplying(rn.acks.applied)
	// NB: first, since holding back an exit may append a leader's marker,
	// which the flush sends and the Ready carries. Asking whether there are
	// committed entries before reading them, and looking for an exit only
	// with entries or one held, spares most Readies both calls.
	if allow, limit := rn.applyUnstableEntries(), r.applyLimit(); r.log.hasNextCommittedEnts(allow, limit) {
		rd.CommittedEntries = r.log.readCommittedEnts(allow, limit)
	}
	if len(rd.CommittedEntries) != 0 || r.heldExit() != nil {
		rd.CommittedEntries = r.holdExit(rd.CommittedEntries)
	}
	r.flushDeferred()
	rd.Entries = r.log.nextUnstableEnts()
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
	if snap := r.log.nextUnstableSnapshot(); snap != nil {
		rd.Snapshot = *snap
	}
	if rs, dr := r.out.readAnswers(); len(rs) != 0 || len(dr) != 0 {
		if len(rs) != 0 {
			// NB: capped, so that the application's appends cannot write
			// into the room kept for the next answers.
			rd.ReadStates = rs[:len(rs):len(rs)]
		}
		if len(dr) != 0 {
			rd.DroppedReads = dr
		}
	}
	if f := r.fault; f != nil && !f.reported {
		rd.Fault = f.err
	}
	rd.MustSync = MustSync(hs, rn.prevHardSt, len(rd.Entries))
	var msgs []pb.Message
	if rn.raft.cfg.asyncStorageWrites {
		// NB: without AsyncStorageWrites, the messages that wait for
		// durability are in Messages already (see pushAfterAppend): the
		// application persists the Ready before sending them, and those to
		// ourselves are stepped back in on Advance.
		msgs = rn.appendLocalThreadMsgs(rd)
	} else {
		msgs = r.out.readyMsgs()
	}
	if n := len(msgs); n != 0 {
		// NB: capped, so that the application's appends cannot write into
		// the outbox's room.
		rd.Messages = msgs[:n:n]
	}
}

// appendLocalThreadMsgs returns the queued messages followed by the work of rd
// for the local storage threads: what to persist (MsgStorageAppend) and what
// to apply (MsgStorageApply). Both messages, and the one-message Responses
// arrays that need no array of the outbox's, are laid out in the outbox's
// room past the queue (see outbox.spare), so that an asynchronous Ready
// allocates nothing for them.
func (rn *RawNode) appendLocalThreadMsgs(rd *Ready) []pb.Message {
	out := &rn.raft.out
	toAppend, toApply := rn.needStorageAppend(rd), len(rd.CommittedEntries) > 0
	ack := toAppend && rn.needStorageAppendResp(rd)
	// ackAlone: the append thread's acknowledgement is its only response,
	// which takes a position of the room rather than joining afterAppend.
	ackAlone := ack && len(out.afterAppend) == 0
	locals, carved := 0, 0
	if toAppend {
		locals++
		if ackAlone {
			carved++
		}
	}
	if toApply {
		locals++
		carved++
	}
	if locals == 0 {
		return out.readyMsgs()
	}
	room := out.spare(locals + carved)
	// NB: spare may have moved the queue; the local messages fill
	// room[:locals], the Responses room[locals:].
	msgs, resps := out.readyMsgs(), room[locals:]
	if toAppend {
		var own []pb.Message
		if ackAlone {
			own, resps = resps[:1:1], resps[1:]
		}
		msgs = append(msgs, rn.appendThreadMsg(rd, ack, own))
	}
	if toApply {
		resps[0] = applyAck(rn.raft.id, rd.CommittedEntries)
		msgs = append(msgs, rn.applyThreadMsg(rd.CommittedEntries, resps[:1:1]))
	}
	out.carved = uint8(carved)
	return msgs
}

// markHandedOut records that rd, built by readyToHandOut, now belongs to
// the application.
func (rn *RawNode) markHandedOut(rd *Ready) {
	r := rn.raft
	if rd.SoftState != nil {
		rn.prevSoftSt = *rd.SoftState
	}
	if !IsEmptyHardState(rd.HardState) {
		rn.prevHardSt = rd.HardState
	}
	if len(rd.ReadStates) != 0 || len(rd.DroppedReads) != 0 {
		r.out.readsHandedOut()
	}
	if rd.Fault != nil {
		r.fault.reported = true
	}
	r.out.handedOut(rd.Messages)
	if rn.raft.cfg.asyncStorageWrites {
		// Handed out in the Responses of the MsgStorageAppend.
		r.out.afterAppend = nil
	} else {
		rn.queueAdvanceSteps(rd)
		// NB: handed to the acks, which release it on Advance.
		r.out.afterAppend = nil
		r.out.ownAck = ownAck{}
	}
	r.log.acceptUnstable()
	if n := len(rd.CommittedEntries); n > 0 {
		if r.cfg.asyncStorageWrites {
			r.log.acceptApplying(rd.CommittedEntries[n-1].Index, entsSize(rd.CommittedEntries), rn.applyUnstableEntries(), r.applyLimit())
		} else {
			// NB: held in acks.applied until Advance, so that sizing them
			// can wait until it is needed (see sizeApplying).
			r.log.acceptApplyingUnsized(rd.CommittedEntries, rn.applyUnstableEntries(), r.applyLimit())
		}
	}
	// The Ready took all HasReady looks at (messages, states, unstable
	// entries and snapshot, read answers, the fault) but what the flush
	// may have left owed and the committed entries the apply bound or an
	// exit held back: the peer is at rest unless those remain. NB: known
	// here at the cost of those two looks, it spares the HasReady that
	// follows a full one.
	r.quiet = r.out.isEmpty() && !r.hasDeferred() &&
		!r.log.hasNextCommittedEnts(rn.applyUnstableEntries(), r.applyLimit())
}

// queueAdvanceSteps queues what Advance steps back in for rd, without
// AsyncStorageWrites: what the local storage threads would acknowledge in
// the asynchronous mode. NB: if the application takes another Ready without
// calling Advance, these accumulate, and its next Advance covers both.
func (rn *RawNode) queueAdvanceSteps(rd *Ready) {
	out := &rn.raft.out
	toAck := rn.needStorageAppendResp(rd)
	if !toAck && len(rd.CommittedEntries) == 0 && len(out.afterAppend) == 0 && out.ownAck.index == 0 {
		// A Ready of messages only, as a heartbeat round's: nothing to
		// acknowledge, and what is queued stays as it is.
		return
	}
	a := &rn.acks
	if a.holdsFields() || len(out.afterAppend) > 0 {
		a.queueBehind(rn.raft.id, out.afterAppend)
	}
	a.own = out.ownAck
	if toAck {
		rn.setAppendThreadAck(rd, &a.appended)
	}
	if len(rd.CommittedEntries) > 0 {
		a.applied = rd.CommittedEntries
	}
}

// needStorageAppend reports whether the append thread has work: something
// to persist, or messages that must wait for everything before them to be
// persisted.
func (rn *RawNode) needStorageAppend(rd *Ready) bool {
	return len(rd.Entries) > 0 || !IsEmptyHardState(rd.HardState) ||
		!isEmptySnap(&rd.Snapshot) || len(rn.raft.out.afterAppend) > 0
}

// needStorageAppendResp reports whether raft needs to hear back once the
// append is durable: to mark entries or a snapshot stable.
// NB: entries handed out earlier but not yet acknowledged count too. Their
// acknowledgement is ignored if the term changed meanwhile (see
// handleStorageAppendResp), and a term change always comes with a HardState
// to persist, so this append acknowledges them again.
func (rn *RawNode) needStorageAppendResp(rd *Ready) bool {
	return rn.raft.log.hasUnstableEnts() || !isEmptySnap(&rd.Snapshot)
}

// snapshotRef returns a pointer to a copy of *s, or nil if it is empty.
// NB: the copy is made only when there is a snapshot; taking the address of
// a parameter would move it to the heap on every call.
func snapshotRef(s *pb.Snapshot) *pb.Snapshot {
	if isEmptySnap(s) {
		return nil
	}
	c := *s
	return &c
}

// appendThreadMsg builds the MsgStorageAppend: what to persist, and the
// messages to deliver once it is durable, followed by the append thread's
// acknowledgement when ack is set. With nothing else to deliver, that
// acknowledgement goes into room, one position the caller provides. NB: the
// HardState fields are set only if the HardState changed, so that one
// rebuilt from them is empty otherwise; and the leader's acknowledgement of
// its own entries comes before the append thread's, so it is handled while
// the entries are still in the unstable log, where their terms are cheapest
// to look up.
func (rn *RawNode) appendThreadMsg(rd *Ready, ack bool, room []pb.Message) pb.Message {
	m := pb.Message{Type: pb.MsgStorageAppend, From: rn.raft.id, To: LocalAppendThread,
		Entries: rd.Entries, Snapshot: snapshotRef(&rd.Snapshot)}
	if hs := rd.HardState; !IsEmptyHardState(hs) {
		m.Term, m.Vote, m.Commit = hs.Term, hs.Vote, hs.Commit
	}
	m.Responses = rn.raft.out.afterAppend
	if !ack {
		return m
	}
	var own appendAck
	rn.setAppendThreadAck(rd, &own)
	resp := own.message(rn.raft.id)
	if len(m.Responses) == 0 {
		room[0] = resp
		m.Responses = room
	} else {
		m.Responses = append(m.Responses, resp)
	}
	return m
}

// setAppendThreadAck sets *ack to the append thread's acknowledgement of
// rd: the last entry of the log as of this append, in the term it is handed
// out in, and the snapshot, if any. NB: in place, so that queueAdvanceSteps
// writes it straight into the RawNode's fields.
func (rn *RawNode) setAppendThreadAck(rd *Ready, ack *appendAck) {
	r := rn.raft
	ack.ok, ack.term, ack.snap = true, r.term, snapshotRef(&rd.Snapshot)
	switch n := len(rd.Entries); {
	case n != 0:
		// NB: rd's entries run to the end of the log, so their last is the
		// log's, read without looking its term up (some 50 instructions).
		ack.last = pbEntryID(&rd.Entries[n-1])
	case r.log.hasUnstableEnts():
		ack.last = r.log.lastEntryID()
	default:
		ack.last = entryID{}
	}
}

// applyThreadMsg builds the MsgStorageApply for the apply thread, with
// resps (its acknowledgement) as Responses.
func (rn *RawNode) applyThreadMsg(ents []pb.Entry, resps []pb.Message) pb.Message {
	return pb.Message{
		Type:      pb.MsgStorageApply,
		To:        LocalApplyThread,
		From:      rn.raft.id,
		Entries:   ents,
		Responses: resps,
	}
}
