package raft

import pb "github.com/quorate/raft/raftpb"

// advanceAcks is what RawNode.Advance steps back in without
// AsyncStorageWrites: what the local storage threads would acknowledge in
// the asynchronous mode, once the application has persisted and applied a
// Ready. The acknowledgements of every Ready - the leader's of its own
// entries, the append thread's, the apply thread's - are kept as their few
// fields rather than as messages, so that a RawNode holds no array for
// them between Readies and building a Ready copies no message for them.
type advanceAcks struct {
	// queued are stepped first, in order: the messages a peer sent itself
	// other than its ownAck (its votes for itself), and the
	// acknowledgements of earlier Readies taken without an Advance. nil
	// when there are none, which is the rule: a slice of them is made only
	// for the rare Ready that leaves some (see setQueued).
	queued *[]pb.Message
	// own is the leader's acknowledgement of its own entries.
	own ownAck
	// appended is the append thread's acknowledgement.
	appended appendAck
	// applied are the committed entries handed out for applying, if any:
	// the apply thread's acknowledgement.
	applied []pb.Entry
}

// appendAck is the append thread's acknowledgement of a Ready: the log's
// last entry as of that Ready, in the term it was handed out in, and the
// snapshot, if any.
type appendAck struct {
	// ok is false if there is nothing to acknowledge; the other fields are
	// then meaningless, and only snap is cleared (so as not to keep a
	// snapshot alive). NB: clearing the whole struct instead costs some 170
	// instructions per commit cycle.
	ok   bool
	term uint64
	// last is the last entry of the log; zero if the unstable log held no
	// entries.
	last entryID
	snap *pb.Snapshot
}

// message returns the MsgStorageAppendResp a stands for, to peer self.
func (a appendAck) message(self uint64) pb.Message {
	return pb.Message{Type: pb.MsgStorageAppendResp, From: LocalAppendThread, To: self, Term: a.term,
		Index: a.last.index, LogTerm: a.last.term, Snapshot: a.snap}
}

// applyAck returns the apply thread's acknowledgement of ents, to peer
// self. NB: application is not tied to a term, so it has none.
func applyAck(self uint64, ents []pb.Entry) pb.Message {
	return pb.Message{Type: pb.MsgStorageApplyResp, From: LocalApplyThread, To: self, Entries: ents}
}

// queuedMsgs returns the queued messages.
func (a *advanceAcks) queuedMsgs() []pb.Message {
	if a.queued == nil {
		return nil
	}
	return *a.queued
}

// setQueued makes q the queued messages.
func (a *advanceAcks) setQueued(q []pb.Message) {
	switch {
	case len(q) == 0:
		a.queued = nil
	case a.queued != nil:
		*a.queued = q
	default:
		// NB: not &q, which would move q to the heap on every call.
		a.queued = new([]pb.Message)
		*a.queued = q
	}
}

// pending reports whether anything waits for Advance. NB: advance does not
// ask it (each of its steps has its own check); tests and diagnostics do.
func (a *advanceAcks) pending() bool {
	return a.queued != nil || a.own.index != 0 || a.appended.ok || a.applied != nil
}

// holdsFields reports whether acknowledgements are kept as fields: those
// of a Ready not advanced yet.
func (a *advanceAcks) holdsFields() bool {
	return a.own.index != 0 || a.appended.ok || a.applied != nil
}

// queueBehind moves the acknowledgements kept as fields to queued, as
// messages, followed by toSelf, the messages the peer sent itself with the
// next Ready, so that the next Advance steps everything in order. NB: the
// outbox lets go of toSelf once handed out.
func (a *advanceAcks) queueBehind(self uint64, toSelf []pb.Message) {
	q := a.appendAsMessages(a.queuedMsgs(), self)
	if len(q) == 0 {
		q = toSelf
	} else {
		q = append(q, toSelf...)
	}
	a.setQueued(q)
}

// appendAsMessages appends to msgs the acknowledgements kept as fields,
// as messages, in the order Advance steps them, and clears them.
func (a *advanceAcks) appendAsMessages(msgs []pb.Message, self uint64) []pb.Message {
	if a.own.index != 0 {
		msgs = append(msgs, a.own.message(self))
	}
	if a.appended.ok {
		msgs = append(msgs, a.appended.message(self))
	}
	if a.applied != nil {
		msgs = append(msgs, applyAck(self, a.applied))
	}
	a.own, a.appended, a.applied = ownAck{}, appendAck{}, nil
	return msgs
}

// Advance tells the peer that the application has persisted, sent and
// applied the last Ready as Ready documents. It must not be called with
// AsyncStorageWrites; doing so is logged and ignored. NB: v3.6 panics
// instead. In that mode the acknowledgements Advance would step come as the
// Responses of the local storage messages, so ignoring the call can neither
// lose nor repeat any work, and a misuse is reported without taking the
// process down.
func (rn *RawNode) Advance(_ Ready) {
	// NB: a call small enough to inline, so that the Ready, which Advance
	// does not read, is not copied (some 320 bytes) to pass it.
	rn.advance()
}

// advance is Advance.
func (rn *RawNode) advance() {
	r := rn.raft
	if r.cfg.asyncStorageWrites {
		r.cfg.logger.Errorf("%x Advance must not be called with AsyncStorageWrites; ignoring it", r.id)
		return
	}
	// NB: with nothing pending, every step below is skipped on its own
	// check; asking first whether anything is would cost each Advance some
	// 8 instructions more.
	a := &rn.acks
	if a.queued != nil || a.appended.snap != nil {
		// What these confirm may be part of what is out: its size must be
		// whole.
		r.log.sizeApplying(a.applied)
	}
	// NB: queued is dropped rather than kept for reuse: it is rarely
	// needed, and an idle peer should hold no array for it.
	if a.queued != nil {
		queued := *a.queued
		a.queued = nil
		for i := range queued {
			rn.stepAck(&queued[i])
		}
	}
	if a.own.index != 0 {
		own := a.own
		a.own = ownAck{}
		m := own.message(r.id)
		rn.stepAck(&m)
	}
	// NB: what Step does with the two messages, faulted or not, without
	// building them; but for the stir, which only what may give the peer
	// work to hand out needs (see stirsOnAdvance).
	if a.stirsOnAdvance(&r.log) {
		r.stir()
	}
	if a.appended.ok {
		a.appended.ok = false
		r.storageAppended(a.appended.term, a.appended.last, a.appended.snap)
		a.appended.snap = nil
	}
	if applied := a.applied; applied != nil {
		a.applied = nil
		r.storageApplied(applied)
	}
}

// stirsOnAdvance reports whether the append and apply acknowledgements
// kept as fields may give the peer work to hand out, as of log, before
// Advance takes them in. Entries made durable give none: without
// AsyncStorageWrites committed entries are handed out whether or not they
// are, and nothing else HasReady looks at moves with them. Entries applied
// give some only if handing out more waited for them (a paused apply
// tracker); a snapshot made durable, whatever follows it. The rest of what
// applying does (leaving a joint configuration, taking proposals again)
// goes through Step, which stirs by itself.
//
// NB: a Ready leaves the peer at rest when it took everything (see
// markHandedOut), and the HasReady after Advance then answers without
// looking again: some 80 instructions for each of a commit cycle's six
// Readies but the leader's.
func (a *advanceAcks) stirsOnAdvance(log *raftLog) bool {
	return a.appended.ok && a.appended.snap != nil || a.applied != nil && log.applyPaused()
}

// stepAck steps an acknowledgement Advance owes. NB: by pointer, through
// step, so that the 160-byte message is not copied on the way.
func (rn *RawNode) stepAck(m *pb.Message) {
	if err := rn.raft.step(m); err != nil {
		rn.raft.cfg.logger.Debugf("%x error stepping %s on Advance: %v", rn.raft.id, m.Type, err)
	}
}
