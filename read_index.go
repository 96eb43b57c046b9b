package raft

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"

	"github.com/quorate/raft/quorum"
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
		r.out.droppedReads = append(r.out.droppedReads, DroppedRead{RequestCtx: ctx, Reason: reason})
	}
}

// dropLeaderReads reports the application's reads a leader holds as
// dropped: the leadership is ending.
func (r *raft) dropLeaderReads() {
	l := r.leading
	if l == nil || !r.cfg.reportDroppedReads {
		return
	}
	for _, m := range l.reads.waiting {
		if m.From == r.id {
			r.dropRead(m.Entries[0].Data, ErrReadLeadershipEnded)
		}
	}
	for _, p := range l.reads.pending {
		if p.req.From == r.id {
			r.dropRead(p.req.Entries[0].Data, ErrReadLeadershipEnded)
		}
	}
	for _, h := range l.lease.held {
		if h.req.From == r.id {
			r.dropRead(h.req.Entries[0].Data, ErrReadLeadershipEnded)
		}
	}
}

// readIndexRequest is a ReadIndex request a leader is confirming.
type readIndexRequest struct {
	// req is the MsgReadIndex; req.Entries[0].Data is the request context.
	req pb.Message
	// index is the leader's commit index when it accepted the request.
	index uint64
	// round is the read round whose heartbeats confirm the request, or 0
	// while no heartbeat has been sent for it yet.
	round uint64
}

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
	option ReadOnlyOption
	// self is the leader, which implicitly confirms every round.
	self uint64
	// waiting are the requests received before the leader committed an
	// entry of its term, in arrival order.
	waiting []pb.Message
	// pending holds the accepted requests in arrival order.
	// Invariant: rounds are non-decreasing along pending, and exactly the
	// last unissued requests have round 0.
	pending  []readIndexRequest
	unissued int
	// lastRound is the id of the latest round issued, or 0.
	lastRound uint64
	// acked maps each peer to the highest round it has confirmed.
	acked map[uint64]uint64
}

// roundContextLen is the length of the Context of a heartbeat of a read round.
const roundContextLen = 8

// addRequest queues a request accepted at the given commit index. A request
// with the same sender and context as a pending one replaces it: the retry
// is answered once, with an index and a confirmation no older than the
// retry itself.
func (ro *readConfirmer) addRequest(index uint64, m pb.Message) {
	ro.withdraw(m.From, m.Entries[0].Data)
	ro.pending = append(ro.pending, readIndexRequest{req: m, index: index})
	ro.unissued++
}

// withdraw forgets the requests of sender with context ctx, waiting or
// pending. NB: local requests are queued with the leader's own ID as
// sender (see handleReadIndex).
func (ro *readConfirmer) withdraw(sender uint64, ctx []byte) {
	same := func(from uint64, data []byte) bool {
		return from == sender && bytes.Equal(data, ctx)
	}
	ro.waiting = slices.DeleteFunc(ro.waiting, func(m pb.Message) bool { return same(m.From, m.Entries[0].Data) })
	for i := 0; i < len(ro.pending); {
		if p := ro.pending[i]; same(p.req.From, p.req.Entries[0].Data) {
			if p.round == 0 {
				ro.unissued--
			}
			ro.pending = slices.Delete(ro.pending, i, i+1)
			continue
		}
		i++
	}
}

// hasUnissued reports whether requests are waiting for a round to be issued.
func (ro *readConfirmer) hasUnissued() bool { return ro.unissued > 0 }

// issueRound starts a new round for the requests that have none and returns
// the heartbeat Context to send: the latest round while requests are
// pending (a heartbeat that is lost is thereby retried), or nil.
func (ro *readConfirmer) issueRound() []byte {
	if ro.unissued > 0 {
		ro.lastRound++
		for i := len(ro.pending) - ro.unissued; i < len(ro.pending); i++ {
			ro.pending[i].round = ro.lastRound
		}
		ro.unissued = 0
	}
	if len(ro.pending) == 0 {
		return nil
	}
	ctx := make([]byte, roundContextLen)
	binary.BigEndian.PutUint64(ctx, ro.lastRound)
	return ctx
}

// recvAck records that peer id answered the heartbeat with Context ctx. It
// reports whether this is news: a round of ours that id had not confirmed.
func (ro *readConfirmer) recvAck(id uint64, ctx []byte) bool {
	if len(ctx) != roundContextLen {
		return false
	}
	round := binary.BigEndian.Uint64(ctx)
	if round == 0 || round > ro.lastRound {
		// Not a round of ours (e.g. from an earlier leadership).
		return false
	}
	if ro.acked == nil {
		ro.acked = make(map[uint64]uint64)
	}
	if round <= ro.acked[id] {
		return false
	}
	ro.acked[id] = round
	return true
}

// releaseConfirmed removes and returns the requests whose round a quorum of
// voters has confirmed, in arrival order. The returned slice is only valid
// until the next call on ro.
func (ro *readConfirmer) releaseConfirmed(voters jointVoters) []readIndexRequest {
	if len(ro.pending) == 0 {
		return nil
	}
	confirmed := uint64(voters.CommittedIndex(ro))
	n := 0
	for n < len(ro.pending) && ro.pending[n].round != 0 && ro.pending[n].round <= confirmed {
		n++
	}
	if n == 0 {
		return nil
	}
	released := ro.pending[:n:n]
	ro.pending = ro.pending[n:]
	return released
}

// AckedIndex implements quorum.AckedIndexer over confirmed read rounds.
func (ro *readConfirmer) AckedIndex(id uint64) (quorum.Index, bool) {
	if id == ro.self {
		return quorum.Index(ro.lastRound), true
	}
	round, ok := ro.acked[id]
	return quorum.Index(round), ok
}

// handleReadIndex serves a ReadIndex request on the leader: the local
// application's (From is None or the leader itself) or one a follower
// forwarded.
func (r *raft) handleReadIndex(m pb.Message) error {
	if len(m.Entries) != 1 {
		r.logger.Errorf("%x dropped a MsgReadIndex from %x carrying %d entries instead of one", r.id, m.From, len(m.Entries))
		return nil
	}
	switch m.From {
	case r.id:
		// An attempt this peer forwarded as a follower, relayed back by a
		// peer that took us for its leader. Whether the application has
		// retried it since is known only to the follower's table, gone
		// with the role; answering could answer one request twice (found
		// by the simulation, seed 956). The application retries it as a
		// lost request.
		r.logger.Debugf("%x drops its own read attempt %d of %q, relayed back to it as leader", r.id, m.Entries[0].Index, m.Entries[0].Data)
		return nil
	case None:
		// NB: local requests are queued under the leader's own ID, so that
		// a retry replaces an earlier attempt (see readConfirmer.withdraw).
		m.From = r.id
	}
	if !r.committedEntryInCurrentTerm() {
		// Thesis 6.4 step 1: until an entry of its term is committed, the
		// leader's commit index may be behind that of its predecessor. This
		// holds for a sole voter too: after a configuration change the
		// previous leader may have committed entries this one has not yet
		// learned are committed.
		reads := &r.leading.reads
		reads.withdraw(m.From, m.Entries[0].Data)
		reads.waiting = append(reads.waiting, m)
		return nil
	}
	r.serveReadIndex(m)
	return nil
}

// isSoleVoter reports whether the local peer alone is the configuration's
// quorum. NB: a single voter other than us is not enough: a leader removed
// from the configuration keeps leading (unless StepDownOnRemoval), while the
// remaining voter may elect itself and commit entries it never hears of.
func (r *raft) isSoleVoter() bool {
	voters := r.conf.voters()
	return len(voters[0]) == 1 && voters[0][0] == r.id && len(voters[1]) == 0
}

// serveReadIndex answers or queues a read once the commit index is current
// (the leader has committed an entry of its term).
func (r *raft) serveReadIndex(m pb.Message) {
	commit := r.log.committed()
	switch {
	case r.isSoleVoter():
		// A sole voter's own acknowledgement is a quorum: no other leader
		// can commit anything without it.
		r.answerRead(m, commit)
	case r.cfg.readOnly == ReadOnlyLeaseBased && !r.conf.isVoter(r.id):
		// A lease rests on the voters' promise not to elect anyone else
		// for a while; a voter forced to campaign (Campaign) breaks its
		// own, and where a voter's own vote is a quorum - possible only
		// if the leader does not vote - nothing stops it (simulation
		// seed 3801). A removed leader answers no lease read.
		if m.From == r.id {
			r.dropRead(m.Entries[0].Data, ErrReadLeadershipEnded)
		}
	case r.cfg.readOnly == ReadOnlyLeaseBased:
		r.serveLeaseRead(m)
	default:
		// The heartbeat round goes out with the next Ready, shared by every
		// request received until then.
		r.leading.reads.addRequest(commit, m)
	}
}

// releaseConfirmedReads answers the requests a quorum has confirmed.
func (r *raft) releaseConfirmedReads() {
	for _, req := range r.leading.reads.releaseConfirmed(r.conf.voters()) {
		r.answerRead(req.req, req.index)
	}
}

// committedEntryInCurrentTerm reports whether the leader has committed an
// entry of its own term.
func (r *raft) committedEntryInCurrentTerm() bool {
	// NB: a leader's term is never 0, so an unknown term (0) never matches.
	return r.log.zeroTermOnOutOfBounds(r.log.term(r.log.committed())) == r.term
}

// releaseWaitingReads serves the reads that waited for the leader's first
// commit of its term, once it has happened.
func (r *raft) releaseWaitingReads() {
	reads := &r.leading.reads
	if len(reads.waiting) == 0 || !r.committedEntryInCurrentTerm() {
		return
	}
	waiting := reads.waiting
	reads.waiting = nil
	for _, m := range waiting {
		r.serveReadIndex(m)
	}
}

// answerRead answers a confirmed request at readIndex: the local
// application's with a ReadState, a follower's with a MsgReadIndexResp that
// echoes its entry.
func (r *raft) answerRead(req pb.Message, readIndex uint64) {
	if req.From == None || req.From == r.id {
		r.out.readStates = append(r.out.readStates, ReadState{Index: readIndex, RequestCtx: req.Entries[0].Data})
		return
	}
	r.send(pb.Message{Type: pb.MsgReadIndexResp, To: req.From, Index: readIndex, Entries: req.Entries})
}
