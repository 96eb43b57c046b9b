package raft

import (
	"encoding/binary"
	"math"

	"github.com/quorate/raft/quorum"
)

// leaderLease is the leader's lease under ReadOnlyLeaseBased (thesis 6.4.1):
// how long it may answer reads without asking a quorum first.
//
// The lease rests on the followers' promise. A voter that heard from its
// leader refuses to vote for anyone else (and to grant pre-votes) until an
// election timeout has passed since (CheckQuorum, thesis 4.2.3 and 9.6). So
// once a voter acknowledged a heartbeat sent at the leader's tick s, no new
// leader can win that voter before tick s+ElectionTick; and once a quorum
// has, the leader alone leads until the quorum-th smallest of those ticks.
// Every heartbeat under ReadOnlyLeaseBased therefore carries the tick at
// which it was sent, and followers (of this library or any other that
// follows the protocol) echo it in their responses. Appends count too: the
// leader notes the tick at which each stretch of its entries first went
// out, and a follower that acknowledges one of them must have heard from
// the leader no earlier than that tick.
//
// A read that arrives while the lease covers its arrival tick is answered
// at once, at the commit index; one that arrives outside the lease waits
// until acknowledgements extend the lease over its arrival tick, and is
// then answered at the commit index it arrived at.
//
// A leadership transfer breaks the promise: the transferee's campaign
// bypasses it, and MsgTimeoutNow may be delayed in the network for as long
// as the leadership lasts. Once the leader has sent one, the lease is gone
// for the rest of the leadership, and a read waits for a quorum to
// acknowledge heartbeats sent after it arrived, as under ReadOnlySafe.
//
// NB: all this counts ticks. It holds when every peer's clock ticks at the
// same rate; a follower whose clock runs faster than the leader's may vote
// while the leader still trusts its lease.
//
// Invariant: heard[id] <= now for every id; held is in arrival order.
type leaderLease struct {
	// now counts the leader's ticks since it took office, quiesced ones
	// included: the leader's clock (see raft.tick).
	now uint64
	// leaseBook holds the acknowledgements, the reads and the heartbeat
	// times of the lease. A leader of another ReadOnlyOption keeps only
	// the clock and spares their room.
	// Invariant: non-nil exactly under ReadOnlyLeaseBased.
	*leaseBook
	// revoked is set once the leader sent MsgTimeoutNow.
	revoked bool
	// beatOwed is set when a read was held and a heartbeat sent now could
	// cover it: the next Ready carries one (see flushDeferred).
	beatOwed bool
}

// leaseBook is what only a lease-based leader records (see leaderLease).
// The lease's length is Config.ElectionTick, which its methods are given.
type leaseBook struct {
	// beaten is set once heartbeats went out; beatAt is the tick of the
	// latest that did.
	beaten bool
	beatAt uint64
	// heard maps each follower to the latest tick at which it is known to
	// have heard from the leader: the send tick of a heartbeat, or of the
	// first append of an entry, that it acknowledged in this leadership.
	heard map[uint64]uint64
	// firstSent marks when the leader's entries first went out: the
	// entries up to firstSent[k].index and after firstSent[k-1].index
	// first went out no earlier than firstSent[k].tick (the first mark
	// covers everything up to its index). Marks whose tick is an election
	// timeout old can no longer extend the lease; they are merged into
	// one that keeps the oldest tick (see mergeStaleMarks).
	// Invariant: index and tick increase along firstSent.
	firstSent []sentMark
	// held are the reads waiting for the lease to cover them.
	held []heldRead
}

// holdsReads reports whether reads wait for the lease to cover them.
func (ls *leaderLease) holdsReads() bool {
	return ls.leaseBook != nil && len(ls.held) > 0
}

// heldReads returns the reads waiting for the lease to cover them.
func (ls *leaderLease) heldReads() []heldRead {
	if ls.leaseBook == nil {
		return nil
	}
	return ls.held
}

// hasStaleMarks reports whether firstSent may hold marks to merge.
func (ls *leaderLease) hasStaleMarks() bool {
	return ls.leaseBook != nil && len(ls.firstSent) > 1
}

// sentMark is an entry of leaderLease.firstSent.
type sentMark struct{ index, tick uint64 }

// sentUpTo records that the leader's entries up to index have gone out.
func (ls *leaderLease) sentUpTo(index uint64) {
	n := len(ls.firstSent)
	switch {
	case n > 0 && ls.firstSent[n-1].index >= index:
	case n > 0 && ls.firstSent[n-1].tick == ls.now:
		ls.firstSent[n-1].index = index
	default:
		ls.firstSent = append(ls.firstSent, sentMark{index: index, tick: ls.now})
	}
}

// mergeStaleMarks merges the marks that can no longer extend the lease
// into one, which covers all their entries with the oldest of their ticks:
// those electionTimeout ticks old or more.
// NB: they are not dropped: an acknowledgement of their entries (say, one
// delayed in the network) would then be matched to the next mark, whose
// later tick claims the follower heard from us after it may have last done
// so, stretching the lease past its promise (a stale read).
func (ls *leaderLease) mergeStaleMarks(electionTimeout uint64) {
	n := 0
	for n < len(ls.firstSent) && ls.firstSent[n].tick+electionTimeout <= ls.now {
		n++
	}
	if n > 1 {
		ls.firstSent[n-1].tick = ls.firstSent[0].tick
		ls.firstSent = append(ls.firstSent[:0], ls.firstSent[n-1:]...)
	}
}

// ackIndex records that follower id acknowledged the leader's entries up
// to index, and reports whether that is news.
func (ls *leaderLease) ackIndex(id, index uint64) bool {
	for _, mark := range ls.firstSent {
		if mark.index >= index {
			return ls.heardAt(id, mark.tick)
		}
	}
	return false
}

// heardAt records that follower id heard from the leader at tick, and
// reports whether that is news.
func (ls *leaderLease) heardAt(id, tick uint64) bool {
	if prev, ok := ls.heard[id]; tick > ls.now || (ok && prev >= tick) {
		return false
	}
	if ls.heard == nil {
		ls.heard = make(map[uint64]uint64)
	}
	ls.heard[id] = tick
	return true
}

// heldRead is a lease read that arrived outside the lease.
type heldRead struct {
	req readRequest
	// index is the commit index when the read arrived.
	index uint64
	// at is the leader's tick when the read arrived.
	at uint64
}

// tickContextLen is the length of a heartbeat Context carrying a tick.
const tickContextLen = 8

// beatContext returns the Context of a heartbeat sent now, and notes that
// one went out. Only under ReadOnlyLeaseBased (it needs the leaseBook).
func (ls *leaderLease) beatContext() []byte {
	ls.beaten, ls.beatAt, ls.beatOwed = true, ls.now, false
	ctx := make([]byte, tickContextLen)
	binary.BigEndian.PutUint64(ctx, ls.now)
	return ctx
}

// ack records that follower id acknowledged the heartbeat with Context ctx,
// and reports whether that is news. A Context of another length (from a
// heartbeat of an earlier configuration of the leader) is ignored.
func (ls *leaderLease) ack(id uint64, ctx []byte) bool {
	if len(ctx) != tickContextLen {
		return false
	}
	return ls.heardAt(id, binary.BigEndian.Uint64(ctx))
}

// leaseIndexer reads, for the quorum arithmetic, how far each voter's
// promise reaches: the tick before which the leader may rely on it. The
// leader itself is never in doubt. A promise lasts electionTimeout ticks.
type leaseIndexer struct {
	ls              *leaderLease
	self            uint64
	electionTimeout uint64
}

// AckedIndex implements quorum.AckedIndexer.
func (li leaseIndexer) AckedIndex(id uint64) (quorum.Index, bool) {
	if id == li.self {
		return quorum.Index(math.MaxUint64), true
	}
	sent, ok := li.ls.heard[id]
	if !ok {
		return 0, false
	}
	if li.ls.revoked {
		// Only the acknowledgement itself is known: the voter was still
		// ours after the tick it was sent at.
		return quorum.Index(sent), true
	}
	return quorum.Index(sent + li.electionTimeout), true
}

// covers reports whether a read that arrived at tick at may be answered:
// no other leader can have been elected by then, voters promising not to
// vote for electionTimeout ticks after they heard from the leader self.
func (ls *leaderLease) covers(at, self uint64, voters jointVoters, electionTimeout uint64) bool {
	if ls.revoked && len(ls.heard) == 0 {
		return false
	}
	reach := uint64(voters.CommittedIndex(leaseIndexer{ls: ls, self: self, electionTimeout: electionTimeout}))
	return at < reach
}

// serveLeaseRead answers req at the commit index if the lease covers it
// now, or holds it until it does.
func (r *raft) serveLeaseRead(req readRequest) {
	ls := &r.leading.lease
	commit := r.log.committed()
	if len(ls.held) == 0 && ls.covers(ls.now, r.id, r.conf.voters(), uint64(r.cfg.electionTimeout)) {
		r.answerRead(req, commit)
		return
	}
	ls.held = append(ls.held, heldRead{req: req, index: commit, at: ls.now})
	r.leading.wakeBy(ls.now + 1)
	// NB: without a transfer, a heartbeat of this very tick extends the
	// lease over the read once a quorum acknowledges it - one that went out
	// earlier in the tick as well as a new one.
	ls.beatOwed = !ls.revoked && !(ls.beaten && ls.beatAt == ls.now)
}

// releaseLeaseReads answers the held reads the lease now covers, in
// arrival order.
func (r *raft) releaseLeaseReads() {
	ls := &r.leading.lease
	if !r.conf.isVoter(r.id) {
		// Removed while they were held: see serveReadIndex.
		for _, h := range ls.held {
			if h.req.from == r.id {
				r.dropRead(h.req.ctx, ErrReadLeadershipEnded)
			}
		}
		ls.held = nil
		return
	}
	n := 0
	for n < len(ls.held) && ls.covers(ls.held[n].at, r.id, r.conf.voters(), uint64(r.cfg.electionTimeout)) {
		r.answerRead(ls.held[n].req, ls.held[n].index)
		n++
	}
	if n > 0 {
		clear(ls.held[:n])
		ls.held = ls.held[n:]
	}
}

// withdrawHeld forgets the held reads of sender with context ctx.
func (ls *leaderLease) withdrawHeld(sender uint64, ctx []byte) {
	if ls.leaseBook == nil {
		return
	}
	for i := 0; i < len(ls.held); {
		if ls.held[i].req.is(sender, ctx) {
			ls.held = append(ls.held[:i], ls.held[i+1:]...)
			continue
		}
		i++
	}
}
