package raft

import (
	"bytes"
	"encoding/binary"

	"github.com/quorate/raft/quorum"
	pb "github.com/quorate/raft/raftpb"
)

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

// readOnly tracks the ReadIndex requests of a leader under ReadOnlySafe, and
// those a follower forwarded to its leader. It belongs to one role in one
// term: raft replaces it whenever it changes either.
//
// Each request is confirmed by a read round: a broadcast of heartbeats sent
// after the request arrived, whose Context carries the round's id. A
// follower echoes the Context in its response, and a response to round k
// proves that we were still leader after every request of round <= k had
// arrived. A request is answered once a quorum has answered its round or a
// later one. Round ids are unique and increasing for the life of the peer, so
// a delayed response can never confirm a request made after it was sent,
// even if the application reuses a request context.
type readOnly struct {
	option ReadOnlyOption
	// pending holds the requests in arrival order.
	// Invariant: rounds are non-decreasing along pending, and exactly the
	// last unissued requests have round 0.
	pending  []readIndexRequest
	unissued int
	// lastRound is the id of the latest round issued, or 0.
	lastRound uint64
	// acked maps each peer to the highest round it has confirmed.
	acked map[uint64]uint64
	// leader is the local peer, which implicitly confirms every round.
	leader uint64
}

func newReadOnly(option ReadOnlyOption, leader uint64) *readOnly {
	return &readOnly{option: option, leader: leader}
}

// roundContextLen is the length of the Context of a heartbeat of a read round.
const roundContextLen = 8

// addRequest queues a request accepted at the given commit index. A request
// with the same sender and context as a pending one replaces it: the retry
// is answered once, with an index and a confirmation no older than the
// retry itself.
func (ro *readOnly) addRequest(index uint64, m pb.Message) {
	ctx := m.Entries[0].Data
	for i := range ro.pending {
		p := &ro.pending[i]
		if p.req.From == m.From && bytes.Equal(p.req.Entries[0].Data, ctx) {
			if p.round == 0 {
				ro.unissued--
			}
			copy(ro.pending[i:], ro.pending[i+1:])
			ro.pending[len(ro.pending)-1] = readIndexRequest{}
			ro.pending = ro.pending[:len(ro.pending)-1]
			break
		}
	}
	ro.pending = append(ro.pending, readIndexRequest{req: m, index: index})
	ro.unissued++
}

// hasUnissued reports whether requests are waiting for a round to be issued.
func (ro *readOnly) hasUnissued() bool { return ro.unissued > 0 }

// issueRound starts a new round for the requests that have none and returns
// the heartbeat Context to send: the latest round while requests are
// pending (a heartbeat that is lost is thereby retried), or nil.
func (ro *readOnly) issueRound(r *raft) []byte {
	if ro.unissued > 0 {
		ro.lastRound = r.nextReadRound
		r.nextReadRound++
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
func (ro *readOnly) recvAck(id uint64, ctx []byte) bool {
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
func (ro *readOnly) releaseConfirmed(voters quorum.JointConfig) []readIndexRequest {
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
func (ro *readOnly) AckedIndex(id uint64) (quorum.Index, bool) {
	if id == ro.leader {
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
	if m.From == None {
		// NB: one name for the local origin, so that a retry replaces an
		// earlier attempt whichever way that attempt reached us (directly,
		// or forwarded back to us by a peer that took us for its leader).
		m.From = r.id
	}
	if !r.committedEntryInCurrentTerm() {
		// Thesis 6.4 step 1: until an entry of its term is committed, the
		// leader's commit index may be behind that of its predecessor. This
		// holds for a sole voter too: after a configuration change the
		// previous leader may have committed entries this one has not yet
		// learned are committed.
		r.pendingReadIndexMessages = replaceOrAppendRead(r.pendingReadIndexMessages, m)
		return nil
	}
	r.serveReadIndex(m)
	return nil
}

// replaceOrAppendRead appends m to reads, first dropping an earlier request
// from the same sender with the same context: a retry is answered once, and
// never by the earlier attempt.
func replaceOrAppendRead(reads []pb.Message, m pb.Message) []pb.Message {
	for i := range reads {
		if reads[i].From == m.From && bytes.Equal(reads[i].Entries[0].Data, m.Entries[0].Data) {
			reads = append(reads[:i], reads[i+1:]...)
			break
		}
	}
	return append(reads, m)
}

// isSoleVoter reports whether the local peer alone is the configuration's
// quorum. NB: a single voter other than us is not enough: a leader removed
// from the configuration keeps leading (unless StepDownOnRemoval), while the
// remaining voter may elect itself and commit entries it never hears of.
func (r *raft) isSoleVoter() bool {
	if !r.trk.IsSingleton() {
		return false
	}
	_, member := r.trk.Voters[0][r.id]
	return member
}

// serveReadIndex answers or queues a read once the commit index is current
// (the leader has committed an entry of its term).
func (r *raft) serveReadIndex(m pb.Message) {
	if r.isSoleVoter() {
		// Our own acknowledgement is a quorum: no other leader can commit
		// anything without us.
		if resp := r.responseToReadIndexReq(m, r.raftLog.committed); resp.To != None {
			r.send(resp)
		}
		return
	}
	switch r.readOnly.option {
	case ReadOnlySafe:
		// The heartbeat round goes out with the next Ready (flushOutgoing),
		// shared by every request received until then.
		r.readOnly.addRequest(r.raftLog.committed, m)
	case ReadOnlyLeaseBased:
		if resp := r.responseToReadIndexReq(m, r.raftLog.committed); resp.To != None {
			r.send(resp)
		}
	}
}

// releaseConfirmedReads answers the requests a quorum has confirmed.
func (r *raft) releaseConfirmedReads() {
	for _, rs := range r.readOnly.releaseConfirmed(r.trk.Voters) {
		if resp := r.responseToReadIndexReq(rs.req, rs.index); resp.To != None {
			r.send(resp)
		}
	}
}

// committedEntryInCurrentTerm reports whether the leader has committed an
// entry of its own term.
func (r *raft) committedEntryInCurrentTerm() bool {
	// NB: a leader's term is never 0, so an unknown term (0) never matches.
	return r.raftLog.zeroTermOnOutOfBounds(r.raftLog.term(r.raftLog.committed)) == r.term
}

// releasePendingReadIndexMessages serves the reads that waited for the first
// commit of the term.
func (r *raft) releasePendingReadIndexMessages() {
	if len(r.pendingReadIndexMessages) == 0 || !r.committedEntryInCurrentTerm() {
		return
	}
	msgs := r.pendingReadIndexMessages
	r.pendingReadIndexMessages = nil
	for _, m := range msgs {
		r.serveReadIndex(m)
	}
}

// responseToReadIndexReq answers a confirmed request: a local request becomes
// a ReadState (and the returned message is empty), a forwarded one a
// MsgReadIndexResp to return to its sender.
func (r *raft) responseToReadIndexReq(req pb.Message, readIndex uint64) pb.Message {
	if req.From == None || req.From == r.id {
		r.readStates = append(r.readStates, ReadState{Index: readIndex, RequestCtx: req.Entries[0].Data})
		return pb.Message{}
	}
	return pb.Message{Type: pb.MsgReadIndexResp, To: req.From, Index: readIndex, Entries: req.Entries}
}
