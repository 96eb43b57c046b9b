package raft

import (
	"bytes"
	"math"
	"slices"

	pb "github.com/quorate/raft/raftpb"
)

// outbox is what the state machine produced for the application and what
// waits for the next Ready to hand it out: messages, and the answers to
// read requests.
//
// Messages come in two kinds. Most may leave as soon as the Ready holding
// them is handed out. Some promise that state is durable - an append
// acknowledgement, a vote (paper 5.1: a server answers only after updating
// stable storage) - and may only leave once everything appended and the
// HardState up to that point are persisted: afterAppend holds those.
// Without AsyncStorageWrites the application persists a whole Ready before
// sending any of its messages, so such messages to other peers simply go
// with the others, in the order they were produced, and afterAppend holds
// only messages to the peer itself, stepped back in on Advance.
type outbox struct {
	// async is Config.AsyncStorageWrites.
	async bool
	// carved counts the positions past a Ready's messages that its builder
	// took from the room for arrays of its own (see spare); handedOut counts
	// them as handed out. NB: a byte between async and msgsHint, where it
	// takes no room of its own.
	carved uint8
	// shelf is where this outbox leaves its slab between Readies (see
	// msgShelf). NB: a byte beside carved, where it takes no room.
	shelf uint8
	// msgsHint is the room the messages of a Ready are first given: one
	// message per follower for a leader, which most often broadcasts, one
	// otherwise (see sizeForBroadcast). NB: an int32 beside async, where it
	// takes no room of its own.
	msgsHint int32
	// msgs may leave with the Ready that carries them. A Ready hands its
	// messages to the application, which may keep them, so the positions
	// of the array that a Ready handed out are never written again. The
	// arrays come from slabs shared by every peer of the process (see
	// msgSlab): slab is the one whose room msgs uses, held by this outbox
	// alone from the first message queued until the Ready that takes them
	// (handedOut), which gives the room left back. A peer at rest thus
	// holds no room, and a busy one allocates an array per many Readies.
	msgs []pb.Message
	slab *msgSlab
	// afterAppend may leave only once the writes before them are durable.
	// Invariant: unless async, only messages to the peer itself, and none
	// of them an ownAck.
	afterAppend []pb.Message
	// ownAck is, unless async, the leader's acknowledgement of its own
	// appended entries, which it sends itself with every append: kept as
	// the two numbers of the MsgAppResp rather than in afterAppend, so that
	// the outbox keeps no array for it between Readies. Index 0: none.
	// Only the latest term's is kept, since raft ignores an older one.
	ownAck ownAck
	// reads holds the answers to read requests; nil until the first one,
	// since many peers never serve a read.
	reads *readAnswers
}

// readAnswers are the answers to read requests waiting for a Ready.
type readAnswers struct {
	// states answer ReadIndex requests, in the order they were served.
	// Its array may have room past them, which the next answers use: the
	// positions a Ready handed out are never written again (a Ready gets
	// them capped), so the room after them is still free.
	states []ReadState
	// dropped are the application's reads that will never be answered
	// (Config.ReportDroppedReads).
	dropped []DroppedRead
}

// answers returns the read answers, made on first use.
func (o *outbox) answers() *readAnswers {
	if o.reads == nil {
		o.reads = &readAnswers{}
	}
	return o.reads
}

// readStateRoom is the number of answers an array for ReadStates is first
// made for: a peer that serves reads at all usually serves many, and a
// fresh array per answer would cost an allocation per read.
const readStateRoom = 4

// addReadState queues the answer rs to a ReadIndex request.
func (o *outbox) addReadState(rs ReadState) {
	a := o.answers()
	if n := len(a.states); n == cap(a.states) {
		a.states = append(make([]ReadState, 0, max(2*n, readStateRoom)), a.states...)
	}
	a.states = append(a.states, rs)
}

// addDroppedRead queues the report that a read will never be answered.
func (o *outbox) addDroppedRead(dr DroppedRead) {
	a := o.answers()
	a.dropped = append(a.dropped, dr)
}

// readStates returns the queued answers to ReadIndex requests.
func (o *outbox) readStates() []ReadState {
	if o.reads == nil {
		return nil
	}
	return o.reads.states
}

// droppedReads returns the queued reports of reads never to be answered.
func (o *outbox) droppedReads() []DroppedRead {
	if o.reads == nil {
		return nil
	}
	return o.reads.dropped
}

// readAnswers returns what readStates and droppedReads return, with one
// look at the answers.
func (o *outbox) readAnswers() ([]ReadState, []DroppedRead) {
	if a := o.reads; a != nil {
		return a.states, a.dropped
	}
	return nil, nil
}

// readsHandedOut records that a Ready took the queued read answers.
func (o *outbox) readsHandedOut() {
	if a := o.reads; a != nil {
		// NB: the room past the states handed out stays for the next.
		a.states, a.dropped = a.states[len(a.states):], nil
		if cap(a.states) == 0 {
			a.states = nil
		}
	}
}

// ownAck is a leader's acknowledgement of its own entries up to index, in
// term; index 0 stands for none.
type ownAck struct{ term, index uint64 }

// message returns the MsgAppResp a sends from peer self to itself.
func (a ownAck) message(self uint64) pb.Message {
	return pb.Message{Type: pb.MsgAppResp, From: self, To: self, Term: a.term, Index: a.index}
}

// merge folds b, a later acknowledgement, into a.
func (a *ownAck) merge(b ownAck) {
	if b.term != a.term {
		*a = b
		return
	}
	a.index = max(a.index, b.index)
}

// isEmpty reports whether nothing waits to be handed out.
func (o *outbox) isEmpty() bool {
	return len(o.msgs) == 0 && len(o.afterAppend) == 0 && o.ownAck.index == 0 &&
		len(o.readStates()) == 0 && len(o.droppedReads()) == 0
}

// Sets of message types, bit t standing for MessageType t (see msgBit),
// by how send treats them.
const (
	// electionTermMsgs carry the term of the election they belong to,
	// set by their sender.
	electionTermMsgs = 1<<pb.MsgVote | 1<<pb.MsgVoteResp | 1<<pb.MsgPreVote | 1<<pb.MsgPreVoteResp
	// forwardedMsgs are requests forwarded to the leader on behalf of a
	// client, handled there like local messages: they carry no term.
	forwardedMsgs = 1<<pb.MsgProp | 1<<pb.MsgReadIndex
	// durableMsgs promise that what was written before them is durable
	// (see outbox).
	durableMsgs = 1<<pb.MsgAppResp | 1<<pb.MsgVoteResp | 1<<pb.MsgPreVoteResp
)

// msgBit returns the bit of t in the sets above; 0 for a type out of their
// range, which is in none of them.
func msgBit(t pb.MessageType) uint32 { return 1 << uint32(t) }

// send queues m. It fills in From and, for messages other than votes (which
// carry the term of the election) and requests forwarded to the leader
// (which carry none), the current term.
func (r *raft) send(m *pb.Message) {
	if m.From == None {
		m.From = r.id
	}
	// NB: every message goes through here, so the invariants are checked
	// before calling invariantBroken, whose boxed arguments would allocate;
	// and the type is looked up in sets of one bit per type, which takes a
	// few instructions where comparing it with each type took a dozen.
	bit := msgBit(m.Type)
	switch {
	case bit&electionTermMsgs != 0:
		if m.Term == 0 {
			invariantBroken("%x sending %s to %x without a term", r.id, m.Type, m.To)
		}
	case bit&forwardedMsgs != 0:
		if m.Term != 0 {
			invariantBroken("%x forwarding %s with term %d", r.id, m.Type, m.Term)
		}
	default:
		if m.Term != 0 {
			invariantBroken("%x sending %s with preset term %d", r.id, m.Type, m.Term)
		}
		m.Term = r.term
	}
	switch {
	case bit&durableMsgs != 0 && r.out.leavesNow(m, r.id):
		// NB: what pushAfterAppend would do with m, without the call to
		// it (about a dozen instructions for each of a follower's
		// acknowledgements).
		r.out.push(m)
	case bit&durableMsgs != 0:
		r.out.pushAfterAppend(m, r.id)
	case r.leading != nil && r.leading.hasDepartures() && r.shapeForDeparture(m):
		// See departure.
		r.out.pushAfterAppend(m, r.id)
	default:
		if m.To == r.id {
			invariantBroken("%x sending %s to itself", r.id, m.Type)
		}
		r.out.push(m)
	}
}

// sizeForBroadcast sets the room a Ready's messages are first given to n,
// the peers a leader broadcasts to (or 1 for a peer that does not lead).
func (o *outbox) sizeForBroadcast(n int) {
	o.msgsHint = int32(min(n, math.MaxInt32))
}

// push queues m to leave with the next Ready.
func (o *outbox) push(m *pb.Message) {
	n := len(o.msgs)
	if n == cap(o.msgs) {
		o.grow(1)
	}
	// NB: not append(o.msgs, *m), which copies the 160 bytes of *m to the
	// stack before copying them into place.
	o.msgs = o.msgs[:n+1]
	o.msgs[n] = *m
}

// spare returns the n positions of the room right past the queue, moving
// the queue to more room if needed: never handed out, they are the Ready
// builder's to fill with what it appends to the queued messages and with
// arrays that go out with them. The builder counts the latter in carved.
func (o *outbox) spare(n int) []pb.Message {
	if cap(o.msgs)-len(o.msgs) < n {
		o.grow(n)
	}
	q := len(o.msgs)
	return o.msgs[q : q+n : q+n]
}

// grow moves the queued messages to room for them and at least extra more
// (extra >= 1, as every caller needs room), and the hint's worth: taken
// from a slab, or, for a long queue, an array of its own grown by doubling
// (carving it from a slab would use the slab up).
func (o *outbox) grow(extra int) {
	n := len(o.msgs)
	need := n + max(int(o.msgsHint), extra)
	var fresh []pb.Message
	var s *msgSlab
	if need > msgSlabSize/4 {
		fresh = make([]pb.Message, n, 2*need)
	} else {
		s = takeMsgSlab(need, o.shelf)
		fresh = s.room[:n:len(s.room)]
	}
	if n > 0 {
		// NB: most often there is nothing to move: this is the first
		// message of a Ready.
		copy(fresh, o.msgs)
	}
	if o.slab != nil {
		// The room after the queue was never handed out.
		o.slab.room = o.msgs[n:cap(o.msgs)]
		putMsgSlab(o.slab, o.shelf)
	}
	o.msgs, o.slab = fresh, s
}

// readyMsgs returns the messages for a Ready: the queued ones, with the
// room after them, where the caller may append more (the local storage
// threads' work) without taking anything from the outbox. Pass what goes
// into the Ready to handedOut once it is taken.
func (o *outbox) readyMsgs() []pb.Message { return o.msgs }

// handedOut records that a Ready took msgs: the first len(msgs) queued
// messages, possibly followed by more appended (see readyMsgs), which need
// not share the outbox's array. Those positions are never written again;
// the room after them goes back to the slab, unless messages queued since
// the Ready was built still wait there. NB: RawNode.Ready calls it right
// after building the Ready; messages queued in between would be kept only
// if they did not move the queue to a fresh array.
func (o *outbox) handedOut(msgs []pb.Message) {
	n := len(msgs)
	if n == 0 && len(o.msgs) != 0 {
		return
	}
	shared := n > 0 && cap(o.msgs) >= n && &o.msgs[:n][0] == &msgs[0]
	carved := int(o.carved)
	o.carved = 0
	if shared && len(o.msgs) > n {
		// Queued after the Ready was built: they stay for the next.
		o.msgs = o.msgs[n:]
		return
	}
	if o.slab != nil {
		// NB: positions past the queue that an append outgrowing the room
		// wrote were never handed out either.
		used := len(o.msgs)
		if shared {
			used = n + carved
		}
		o.slab.room = o.msgs[used:cap(o.msgs)]
		putMsgSlab(o.slab, o.shelf)
	}
	o.msgs, o.slab = nil, nil
}

// pushAfterAppend queues m, from peer self, to leave once the state
// produced so far is durable. NB: consecutive self-acknowledgements of
// appended entries merge into one, so a leader proposing many entries per
// Ready still steps a single MsgAppResp to itself.
func (o *outbox) pushAfterAppend(m *pb.Message, self uint64) {
	if o.leavesNow(m, self) {
		o.push(m)
		return
	}
	if !o.async && isOwnAck(m, self) {
		o.ownAck.merge(ownAck{term: m.Term, index: m.Index})
		return
	}
	if n := len(o.afterAppend); n > 0 && isOwnAck(m, self) {
		if prev := &o.afterAppend[n-1]; isOwnAck(prev, self) && prev.Term == m.Term {
			prev.Index = max(prev.Index, m.Index)
			return
		}
	}
	if len(o.afterAppend) == cap(o.afterAppend) {
		// NB: room for one more: with AsyncStorageWrites, the append
		// thread's acknowledgement joins them in the Responses of the
		// MsgStorageAppend.
		o.afterAppend = slices.Grow(o.afterAppend, 2)
	}
	o.afterAppend = append(o.afterAppend, *m)
}

// leavesNow reports whether m, which would wait for the writes before it
// to be durable, may go with the next Ready's other messages: without
// AsyncStorageWrites the application persists a Ready before sending any
// of its messages, so a message to another peer may (see outbox).
func (o *outbox) leavesNow(m *pb.Message, self uint64) bool {
	return !o.async && m.To != self
}

// isOwnAck reports whether m is a peer's acknowledgement of its own
// appended entries.
func isOwnAck(m *pb.Message, self uint64) bool {
	return m.To == self && m.Type == pb.MsgAppResp && !m.Reject
}

// withdrawReads drops the read states and dropped-read reports for ctx that
// were not handed out yet: they are about attempts the application has
// since retried.
func (o *outbox) withdrawReads(ctx []byte) {
	a := o.reads
	if a == nil || len(a.states) == 0 && len(a.dropped) == 0 {
		return
	}
	a.states = slices.DeleteFunc(a.states, func(rs ReadState) bool {
		return bytes.Equal(rs.RequestCtx, ctx)
	})
	a.dropped = slices.DeleteFunc(a.dropped, func(dr DroppedRead) bool {
		return bytes.Equal(dr.RequestCtx, ctx)
	})
}
