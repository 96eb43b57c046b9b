package raft

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"

	pb "github.com/quorate/raft/raftpb"
)

// This file holds the leader's side of ReadIndex (thesis 6.4): the
// readConfirmer component, which owns the requests a leader accepted and
// the heartbeat rounds that confirm them, and the raft methods that route
// requests to it and answers from it. The follower's side is in
// read_forward.go.

// ReadState answers a ReadIndex request: once the application has applied
// the log up to Index, a read of its state machine reflects every write
// committed before the request was made (thesis 6.4). RequestCtx is the
// context the request was made with, so the application can match answers to
// requests.
type ReadState struct {
	// Index is the commit index at which the read may be served.
	Index uint64
	// RequestCtx is the context passed to ReadIndex.
	RequestCtx []byte
}

// DroppedRead reports a ReadIndex request of the application that will
// never be answered (see Config.ReportDroppedReads).
type DroppedRead struct {
	// RequestCtx is the context passed to ReadIndex.
	RequestCtx []byte
	// Reason says why: ErrReadNoLeader, ErrReadLeadershipEnded,
	// ErrReadForgotten, or the peer's fault (see Config.ReportLostLog).
	Reason error
}

// The reasons of a DroppedRead.
var (
	// ErrReadNoLeader: the peer knew no leader to serve or forward the read.
	ErrReadNoLeader = errors.New("raft: read dropped: no leader to serve it")
	// ErrReadLeadershipEnded: the leadership the read was queued at, or
	// forwarded to, ended before confirming it.
	ErrReadLeadershipEnded = errors.New("raft: read dropped: the leadership it was sent to ended")
	// ErrReadForgotten: too many reads forwarded by the peer were waiting
	// for an answer, and it forgot them (see maxForwardedReads).
	ErrReadForgotten = errors.New("raft: read dropped: too many forwarded reads were waiting")
)

// dropRead reports the application's read with context ctx as dropped, if
// the host asked for such reports.
func (r *raft) dropRead(ctx []byte, reason error) {
	if r.cfg.reportDroppedReads {
		r.out.addDroppedRead(DroppedRead{RequestCtx: ctx, Reason: reason})
	}
}

// dropLeaderReads reports the application's reads a leader holds as
// dropped: the leadership is ending.
func (r *raft) dropLeaderReads() {
	l := r.leading
	if l == nil || !r.cfg.reportDroppedReads {
		return
	}
	if ro := l.reads; ro != nil {
		for _, req := range ro.waiting {
			if req.from == r.id {
				r.dropRead(req.ctx, ErrReadLeadershipEnded)
			}
		}
		for _, p := range ro.pending {
			if p.req.from == r.id {
				r.dropRead(p.req.ctx, ErrReadLeadershipEnded)
			}
		}
	}
	for _, h := range l.lease.heldReads() {
		if h.req.from == r.id {
			r.dropRead(h.req.ctx, ErrReadLeadershipEnded)
		}
	}
}

// readRequest is a ReadIndex request as a leader keeps it until it answers:
// who asked, and what the answer must carry.
type readRequest struct {
	// from is the peer that asked: the leader itself for its application.
	from uint64
	// ctx is the request context.
	ctx []byte
	// echo is, for a request a follower forwarded, the entries of its
	// MsgReadIndex, which the answer carries back unchanged; nil for the
	// leader's application.
	echo []pb.Entry
}

// readRequestOf returns the request that a MsgReadIndex from sender,
// carrying ents, makes of the leader self. NB: it keeps ents only for a
// request from another peer: the local application's may live in a buffer
// RawNode reuses.
func readRequestOf(sender uint64, ents []pb.Entry, self uint64) readRequest {
	if sender == None || sender == self {
		return readRequest{from: self, ctx: ents[0].Data}
	}
	return readRequest{from: sender, ctx: ents[0].Data, echo: ents}
}

// is reports whether req comes from sender with context ctx.
func (req *readRequest) is(sender uint64, ctx []byte) bool {
	return req.from == sender && bytes.Equal(req.ctx, ctx)
}

// readIndexRequest is a ReadIndex request a leader is confirming.
type readIndexRequest struct {
	req readRequest
	// index is the leader's commit index when it accepted the request.
	index uint64
	// round is the read round whose heartbeats confirm the request, or 0
	// while no heartbeat has been sent for it yet.
	round uint64
}

// roundAck is the highest read round a peer has confirmed.
type roundAck struct{ id, round uint64 }

// readConfirmer is the leader's side of ReadIndex (thesis 6.4): the
// requests it has accepted and the heartbeat rounds that confirm them. It
// belongs to one leadership: a new leader starts with a new one.
//
// A request is served only once the leader has committed an entry of its
// own term; until then it waits. Under ReadOnlySafe a request is then
// confirmed by a read round: a broadcast of heartbeats sent after the
// request arrived, whose Context carries the round's id. A follower echoes
// the Context in its response, and a response to round k proves that we
// were still leader after every request of round <= k had arrived. A
// request is answered once a quorum has answered its round or a later one.
// Round ids increase for the whole leadership, so a delayed response can
// never confirm a request made after it was sent, even if the application
// reuses a request context. (Responses from an earlier leadership carry an
// earlier term and never get here.)
type readConfirmer struct {
	// self is the leader, which implicitly confirms every round.
	self uint64
	// waiting are the requests received before the leader committed an
	// entry of its term, in arrival order.
	waiting []readRequest
	// pending holds the accepted requests in arrival order. Its array is
	// kept for the next requests once they are all answered.
	// Invariant: rounds are non-decreasing along pending, the requests no
	// round was issued for (round 0) coming last.
	pending []readIndexRequest
	// lastRound is the id of the latest round issued, or 0.
	lastRound uint64
	// acked holds, for each peer that confirmed a round, the highest one.
	// A slice rather than a map: a group has a handful of peers.
	// Invariant: one entry per peer; 0 < round <= lastRound.
	acked []roundAck
	// ctxRoom is where the Contexts of the next rounds' heartbeats are cut
	// from, roundContextLen bytes each, so that a round allocates none of
	// its own. NB: a Context is handed out in messages the application may
	// keep, so the bytes before ctxRoom are never written again.
	ctxRoom []byte
}

// ctxRoomSize is the room made at once for heartbeat Contexts: enough for
// eight rounds.
const ctxRoomSize = 8 * roundContextLen

// roundContextLen is the length of the Context of a heartbeat of a read round.
const roundContextLen = 8

// addRequest queues a request accepted at the given commit index. A request
// with the same sender and context as a pending one replaces it: the retry
// is answered once, with an index and a confirmation no older than the
// retry itself.
func (ro *readConfirmer) addRequest(index uint64, req readRequest) {
	ro.withdraw(req.from, req.ctx)
	ro.pending = append(ro.pending, readIndexRequest{req: req, index: index})
}

// withdraw forgets the requests of sender with context ctx, waiting or
// pending. NB: local requests are queued with the leader's own ID as
// sender (see readRequestOf).
func (ro *readConfirmer) withdraw(sender uint64, ctx []byte) {
	if ro == nil {
		return
	}
	for i := 0; i < len(ro.waiting); {
		if ro.waiting[i].is(sender, ctx) {
			ro.waiting = slices.Delete(ro.waiting, i, i+1)
			continue
		}
		i++
	}
	for i := 0; i < len(ro.pending); {
		if ro.pending[i].req.is(sender, ctx) {
			ro.pending = slices.Delete(ro.pending, i, i+1)
			continue
		}
		i++
	}
}

// hasUnissued reports whether requests are waiting for a round to be issued.
func (ro *readConfirmer) hasUnissued() bool {
	if ro == nil {
		return false
	}
	n := len(ro.pending)
	return n > 0 && ro.pending[n-1].round == 0
}

// issueRound starts a new round for the requests that have none and returns
// the heartbeat Context to send: the latest round while requests are
// pending (a heartbeat that is lost is thereby retried), or nil.
func (ro *readConfirmer) issueRound() []byte {
	if ro == nil {
		return nil
	}
	if ro.hasUnissued() {
		ro.lastRound++
		for i := len(ro.pending) - 1; i >= 0 && ro.pending[i].round == 0; i-- {
			ro.pending[i].round = ro.lastRound
		}
	}
	if len(ro.pending) == 0 {
		return nil
	}
	if len(ro.ctxRoom) < roundContextLen {
		ro.ctxRoom = make([]byte, ctxRoomSize)
	}
	ctx := ro.ctxRoom[:roundContextLen:roundContextLen]
	ro.ctxRoom = ro.ctxRoom[roundContextLen:]
	binary.BigEndian.PutUint64(ctx, ro.lastRound)
	return ctx
}

// recvAck records that peer id answered the heartbeat with Context ctx. It
// reports whether this is news: a round of ours that id had not confirmed.
func (ro *readConfirmer) recvAck(id uint64, ctx []byte) bool {
	if ro == nil || len(ctx) != roundContextLen {
		return false
	}
	round := binary.BigEndian.Uint64(ctx)
	if round == 0 || round > ro.lastRound {
		// Not a round of ours (e.g. from an earlier leadership).
		return false
	}
	for i := range ro.acked {
		if a := &ro.acked[i]; a.id == id {
			if round <= a.round {
				return false
			}
			a.round = round
			return true
		}
	}
	ro.acked = append(ro.acked, roundAck{id: id, round: round})
	return true
}

// confirmedPrefix returns the number of requests at the head of pending
// whose round a quorum of voters has confirmed: those to answer, in
// arrival order, before dropAnswered forgets them.
func (ro *readConfirmer) confirmedPrefix(voters jointVoters) int {
	n := 0
	for n < len(ro.pending) {
		round := ro.pending[n].round
		if round == 0 || !ro.confirmed(round, voters) {
			break
		}
		for n < len(ro.pending) && ro.pending[n].round == round {
			n++
		}
	}
	return n
}

// dropAnswered forgets the first n pending requests, answered.
func (ro *readConfirmer) dropAnswered(n int) {
	switch {
	case n < len(ro.pending):
		ro.pending = slices.Delete(ro.pending, 0, n)
	case cap(ro.pending) > maxKeptReads:
		ro.pending = nil
	default:
		clear(ro.pending)
		ro.pending = ro.pending[:0]
	}
}

// maxKeptReads bounds the capacity of the pending array a leader keeps
// once every request is answered; a larger one, left by a burst, goes.
const maxKeptReads = 64

// confirmed reports whether a quorum of voters has confirmed round: in
// each half of the configuration, a majority (none for an empty half) has
// confirmed it or a later one. The leader confirms every round it issued.
func (ro *readConfirmer) confirmed(round uint64, voters jointVoters) bool {
	return ro.majorityConfirmed(round, voters[0]) && ro.majorityConfirmed(round, voters[1])
}

// majorityConfirmed is confirmed for one half of the configuration.
func (ro *readConfirmer) majorityConfirmed(round uint64, voters voterSet) bool {
	if len(voters) == 0 {
		return true
	}
	need := len(voters)/2 + 1
	if round <= ro.lastRound && voters.has(ro.self) {
		need--
	}
	for i := 0; i < len(ro.acked) && need > 0; i++ {
		if a := ro.acked[i]; a.round >= round && voters.has(a.id) {
			need--
		}
	}
	return need <= 0
}

// handleReadIndex serves a ReadIndex request on the leader: the local
// application's (From is None or the leader itself) or one a follower
// forwarded.
func (r *raft) handleReadIndex(m *pb.Message) error {
	if len(m.Entries) != 1 {
		r.cfg.logger.Errorf("%x dropped a MsgReadIndex from %x carrying %d entries instead of one", r.id, m.From, len(m.Entries))
		return nil
	}
	if m.From == r.id {
		// An attempt this peer forwarded as a follower, relayed back by a
		// peer that took us for its leader. Whether the application has
		// retried it since is known only to the follower's table, gone
		// with the role; answering could answer one request twice (found
		// by the simulation, seed 956). The application retries it as a
		// lost request.
		r.cfg.logger.Debugf("%x drops its own read attempt %d of %q, relayed back to it as leader", r.id, m.Entries[0].Index, m.Entries[0].Data)
		return nil
	}
	// NB: local requests are queued under the leader's own ID, so that a
	// retry replaces an earlier attempt (see readConfirmer.withdraw).
	req := readRequestOf(m.From, m.Entries, r.id)
	if !r.committedEntryInCurrentTerm() {
		// Thesis 6.4 step 1: until an entry of its term is committed, the
		// leader's commit index may be behind that of its predecessor. This
		// holds for a sole voter too: after a configuration change the
		// previous leader may have committed entries this one has not yet
		// learned are committed.
		reads := r.leading.readRounds(r.id)
		reads.withdraw(req.from, req.ctx)
		reads.waiting = append(reads.waiting, req)
		return nil
	}
	r.serveReadIndex(req)
	return nil
}

// isSoleVoter reports whether the local peer alone is the configuration's
// quorum. NB: a single voter other than us is not enough: a leader removed
// from the configuration keeps leading (unless StepDownOnRemoval), while the
// remaining voter may elect itself and commit entries it never hears of.
func (r *raft) isSoleVoter() bool {
	return r.conf.isSoleVoter(r.id)
}

// serveReadIndex answers or queues a read once the commit index is current
// (the leader has committed an entry of its term).
func (r *raft) serveReadIndex(req readRequest) {
	commit := r.log.committed()
	switch {
	case r.isSoleVoter():
		// A sole voter's own acknowledgement is a quorum: no other leader
		// can commit anything without it.
		r.answerRead(req, commit)
	case r.cfg.readOnly == ReadOnlyLeaseBased && !r.conf.isVoter(r.id):
		// A lease rests on the voters' promise not to elect anyone else
		// for a while; a voter forced to campaign (Campaign) breaks its
		// own, and where a voter's own vote is a quorum - possible only
		// if the leader does not vote - nothing stops it (simulation
		// seed 3801). A removed leader answers no lease read.
		if req.from == r.id {
			r.dropRead(req.ctx, ErrReadLeadershipEnded)
		}
	case r.cfg.readOnly == ReadOnlyLeaseBased:
		r.serveLeaseRead(req)
	default:
		// The heartbeat round goes out with the next Ready, shared by every
		// request received until then.
		r.leading.readRounds(r.id).addRequest(commit, req)
	}
}

// releaseConfirmedReads answers the requests a quorum has confirmed.
func (r *raft) releaseConfirmedReads() {
	reads := r.leading.reads
	if reads == nil || len(reads.pending) == 0 || reads.pending[0].round == 0 {
		// Nothing issued waits: most acknowledgements of a round come
		// after its requests were answered.
		return
	}
	n := reads.confirmedPrefix(r.conf.voters())
	if n == 0 {
		return
	}
	// NB: answering touches no read state, so the requests stay in place
	// until all are answered.
	for i := range n {
		r.answerRead(reads.pending[i].req, reads.pending[i].index)
	}
	reads.dropAnswered(n)
}

// committedEntryInCurrentTerm reports whether the leader has committed an
// entry of its own term.
func (r *raft) committedEntryInCurrentTerm() bool {
	l := r.leading
	// NB: a leader's term is never 0, so an unknown term (0) never matches;
	// and once true it stays true, as the commit index only grows.
	if !l.repl.termCommitted {
		l.repl.termCommitted = r.log.zeroTermOnOutOfBounds(r.log.term(r.log.committed())) == r.term
	}
	return l.repl.termCommitted
}

// releaseWaitingReads serves the reads that waited for the leader's first
// commit of its term, once it has happened.
func (r *raft) releaseWaitingReads() {
	reads := r.leading.reads
	if reads == nil || len(reads.waiting) == 0 || !r.committedEntryInCurrentTerm() {
		return
	}
	waiting := reads.waiting
	reads.waiting = nil
	for _, req := range waiting {
		r.serveReadIndex(req)
	}
}

// answerRead answers a confirmed request at readIndex: the local
// application's with a ReadState, a follower's with a MsgReadIndexResp that
// echoes its entry.
func (r *raft) answerRead(req readRequest, readIndex uint64) {
	if req.from == r.id {
		r.out.addReadState(ReadState{Index: readIndex, RequestCtx: req.ctx})
		return
	}
	r.send(&pb.Message{Type: pb.MsgReadIndexResp, To: req.from, Index: readIndex, Entries: req.echo})
}
