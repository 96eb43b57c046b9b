package raft

import (
	"bytes"
	"slices"

	pb "github.com/quorate/raft/raftpb"
)

// A follower cannot confirm a read itself: it forwards the application's
// ReadIndex request to its leader, which answers with a MsgReadIndexResp
// echoing the request's entry. If the application retries a context, the
// answer to an earlier attempt may still be on its way when the retry is
// made; that answer's index was confirmed before the retry and may miss
// writes that completed in between, so it must not answer the retry.
//
// Each attempt therefore gets an identifier, drawn at random from the
// peer's randomness, and carried in the Index field of the forwarded entry:
// the entry's Data stays the application's context, byte for byte, and any
// leader (ours, or one speaking the v3.6 protocol) echoes the whole entry
// back unchanged. The follower accepts an answer only when its identifier
// is that of the latest attempt for its context. Because identifiers are
// random rather than counted, a restarted peer does not reuse those of its
// previous incarnation, whose answers may still be in flight.

// maxForwardedReads bounds the number of forwarded requests a follower
// remembers. A request is forgotten when it is answered, when the peer
// changes role or term, and when the application retries its context. A
// follower whose leader leaves this many requests unanswered forgets all of
// them. The answer to a forgotten request is dropped, and the application
// retries as for a lost one.
const maxForwardedReads = 4096

// readForwarder is the follower's side of ReadIndex: the requests it
// forwarded to the leader and has not seen answered. It belongs to one role
// in one term; raft resets it whenever either changes.
type readForwarder struct {
	// few holds the requests while there are at most fewForwardedReads of
	// them and latest is nil: a follower most often has a handful
	// outstanding, which a short list finds faster than a map, and keeps
	// without copying their contexts (raft keeps a request's context, see
	// RawNode.ReadIndex).
	few []forwardedRead
	// latest maps a request context to the identifier of its latest
	// attempt once more requests are outstanding; few is nil from then on.
	// Invariant: len(few) <= fewForwardedReads; len(latest) <=
	// maxForwardedReads; a context appears once; no identifier is 0.
	latest map[string]uint64
}

// forwardedRead is the latest attempt, id, of the request with context ctx.
type forwardedRead struct {
	ctx []byte
	id  uint64
}

// fewForwardedReads is the number of requests readForwarder keeps in a
// list before it moves them to a map.
const fewForwardedReads = 8

// find returns the position of ctx in few, or -1.
func (f *readForwarder) find(ctx []byte) int {
	for i := range f.few {
		if bytes.Equal(f.few[i].ctx, ctx) {
			return i
		}
	}
	return -1
}

// drop removes few[i]. NB: the order of few does not matter (pending
// returns the contexts in no particular order).
func (f *readForwarder) drop(i int) {
	last := len(f.few) - 1
	f.few[i] = f.few[last]
	f.few[last] = forwardedRead{}
	f.few = f.few[:last]
}

// supersede forgets the outstanding attempt for ctx, if any: the
// application asked again, so no answer to an earlier attempt may answer
// it. It must be called for every local request, whether it is then
// forwarded, served locally or dropped.
func (f *readForwarder) supersede(ctx []byte) {
	if f.latest != nil {
		delete(f.latest, string(ctx))
		return
	}
	if i := f.find(ctx); i >= 0 {
		f.drop(i)
	}
}

// begin records id as the latest attempt for ctx. If that would exceed the
// bound, it first forgets every other request, and returns their contexts.
func (f *readForwarder) begin(ctx []byte, id uint64) (forgotten []string) {
	if id == 0 {
		invariantBroken("forwarded read of %q with identifier 0", ctx)
	}
	if f.latest == nil {
		if i := f.find(ctx); i >= 0 {
			f.few[i] = forwardedRead{ctx: ctx, id: id}
			return nil
		}
		if len(f.few) < fewForwardedReads {
			f.few = append(f.few, forwardedRead{ctx: ctx, id: id})
			return nil
		}
		f.latest = make(map[string]uint64, 2*fewForwardedReads)
		for _, r := range f.few {
			f.latest[string(r.ctx)] = r.id
		}
		f.few = nil
	}
	if _, ok := f.latest[string(ctx)]; !ok && len(f.latest) >= maxForwardedReads {
		forgotten = f.pending()
		clear(f.latest)
	}
	f.latest[string(ctx)] = id
	return forgotten
}

// outstanding returns the number of requests waiting for an answer.
func (f *readForwarder) outstanding() int { return len(f.few) + len(f.latest) }

// pending returns the contexts of the requests waiting for an answer, in
// no particular order.
func (f *readForwarder) pending() []string {
	ctxs := make([]string, 0, len(f.few)+len(f.latest))
	for _, r := range f.few {
		ctxs = append(ctxs, string(r.ctx))
	}
	for ctx := range f.latest {
		ctxs = append(ctxs, ctx)
	}
	// NB: sorted, so that the reads dropped for them are reported in the
	// same order for the same input, whatever the map's order.
	slices.Sort(ctxs)
	return ctxs
}

// accept reports whether id is the latest attempt for ctx, and forgets ctx
// if it is: each request is answered once.
func (f *readForwarder) accept(ctx []byte, id uint64) bool {
	if f.latest == nil {
		i := f.find(ctx)
		if i < 0 || id == 0 || f.few[i].id != id {
			return false
		}
		f.drop(i)
		return true
	}
	latest, ok := f.latest[string(ctx)]
	if !ok || id == 0 || latest != id {
		return false
	}
	delete(f.latest, string(ctx))
	return true
}

// supersedeRead makes a new request of the local application with context
// ctx the only one that may be answered, whatever the peer's role: every
// earlier attempt with that context is forgotten wherever it waits - in
// flight to the leader, queued for a confirmation round or for the
// leader's first commit, or answered (or reported dropped) and waiting for
// the next Ready - so that no answer confirmed before the retry can answer
// it.
func (r *raft) supersedeRead(ctx []byte) {
	if a := r.aside; a != nil {
		a.fwd.supersede(ctx)
	}
	r.out.withdrawReads(ctx)
	if r.leading != nil {
		r.leading.reads.withdraw(r.id, ctx)
		r.leading.lease.withdrawHeld(r.id, ctx)
	}
}

// dropOutstandingReads reports the application's reads that the role
// change about to happen drops: those a leader holds, and those a follower
// forwarded and has not seen answered.
func (r *raft) dropOutstandingReads() {
	if !r.cfg.reportDroppedReads {
		return
	}
	r.dropLeaderReads()
	if r.aside == nil {
		return
	}
	ctxs := r.aside.fwd.pending()
	for _, ctx := range ctxs {
		r.dropRead([]byte(ctx), ErrReadLeadershipEnded)
	}
}

// nextReadAttemptID draws the identifier of a forwarded read attempt.
func (r *raft) nextReadAttemptID() uint64 {
	for {
		if id := r.timer.draw(); id != 0 {
			return id
		}
	}
}

// forwardReadIndex sends a ReadIndex request on to the leader. A request of
// the local application becomes a new attempt; one that another peer
// forwarded to us, taking us for its leader, goes on unchanged and is
// answered to that peer directly.
func (r *raft) forwardReadIndex(m pb.Message) {
	if len(m.Entries) != 1 {
		r.cfg.logger.Errorf("%x dropped a MsgReadIndex from %x carrying %d entries instead of one", r.id, m.From, len(m.Entries))
		return
	}
	if r.lead == None {
		r.cfg.logger.Infof("%x dropped a read request at term %d: no leader to forward it to", r.id, r.term)
		if m.From == None {
			r.dropRead(m.Entries[0].Data, ErrReadNoLeader)
		}
		return
	}
	if m.From == None {
		ctx := m.Entries[0].Data
		id := r.nextReadAttemptID()
		for _, forgotten := range r.moreAside().fwd.begin(ctx, id) {
			r.dropRead([]byte(forgotten), ErrReadForgotten)
		}
		// NB: a fresh slice; the caller's entries may live in a reused
		// buffer, and the message outlives the call.
		m.Entries = []pb.Entry{{Data: ctx, Index: id}}
	}
	m.To = r.lead
	m.Term = 0
	r.send(&m)
}

// handleReadIndexResp turns the leader's answer to a forwarded request into
// a ReadState, unless it answers an attempt that was superseded by a retry
// or forgotten.
func (r *raft) handleReadIndexResp(m pb.Message) {
	if len(m.Entries) != 1 {
		r.cfg.logger.Errorf("%x dropped a MsgReadIndexResp from %x carrying %d entries instead of one", r.id, m.From, len(m.Entries))
		return
	}
	e := m.Entries[0]
	if a := r.aside; a == nil || !a.fwd.accept(e.Data, e.Index) {
		r.cfg.logger.Debugf("%x dropped the answer [index: %d] from %x to read attempt %d of %q: superseded, forgotten or not ours",
			r.id, m.Index, m.From, e.Index, e.Data)
		return
	}
	r.out.addReadState(ReadState{Index: m.Index, RequestCtx: e.Data})
}
