package raft

import (
	"errors"
	"slices"

	"github.com/quorate/raft/quorum"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// replication is the leader's side of log replication (paper 5.3; thesis
// 3.5 for flow control): what the leader knows of each member's log, and
// which followers it owes a message.
//
// Appends are never built while stepping. An input (a proposal, an
// acknowledgement, a heartbeat response, a commit) only updates Progress
// and marks the followers it concerns as due; the Ready builder then sends
// each due follower what it needs at that moment (flushAppends). Any number
// of proposals and acknowledgements between two Readies thus costs one
// MsgApp per follower (more only when MaxSizePerMsg splits the entries),
// and asking whether there is work (HasReady) needs to build nothing.
type replication struct {
	// peers hold what the leader knows of the members' logs in increasing
	// ID order: one array of compact values rather than a
	// tracker.ProgressMap of pointers, which for the handful of members a
	// group has is smaller, and faster to search and to walk. A
	// tracker.Progress is built only for the API (progressMap, Status,
	// WithProgress).
	// Invariant: exactly the members of the active configuration, by
	// increasing ID, but for the leader itself while selfIn is set.
	peers []peerProgress
	// self is the leader's ID.
	self uint64
	// selfMatch is, while selfIn is set, the highest index of its own log
	// the leader has acknowledged (its own MsgAppResp, once the entries are
	// durable).
	selfMatch uint64
	// uncommitted estimates the payload bytes appended by this leader and
	// not yet applied (Config.MaxUncommittedEntriesSize).
	uncommitted entryPayloadSize
	// selfIn is set while the leader is a member whose progress is derived
	// rather than kept in peers. That progress only ever says one thing -
	// match selfMatch, next selfMatch+1, replicating, active - so keeping
	// it would cost a peerProgress per group for nothing (see selfProgress).
	// NB: it is cleared, and the leader's progress put into peers like a
	// follower's, in the rare cases where it can say something else: the
	// leader joined the configuration while leading (its progress then
	// starts fresh, as any new member's), or a message other than its own
	// acknowledgement concerns it (see takeSelfIntoPeers).
	selfIn bool
	// selfLearner is set while selfIn when the leader is a learner.
	selfLearner bool
	// selfVoter is set while selfIn when the leader is a voter of a
	// configuration that is not joint (as peerProgress.voter).
	selfVoter bool
	// anyDue is set when some peer may be marked due
	// (peerProgress.due). Invariant: no peer is due while it is clear.
	anyDue bool
	// termCommitted is set once the leader is known to have committed an
	// entry of its term: by its first commit, or when asked
	// (committedEntryInCurrentTerm). It stays set for the leadership.
	// NB: here, beside the other flags, where it takes no room of its own.
	termCommitted bool
	// commitSettled is set while the commit index is as high as the
	// members' matches and the configuration let it be: maybeCommit sets
	// it, and a change of configuration (adopt) clears it. Of the other
	// inputs to maybeCommit, a match rising past the commit index is
	// always followed by maybeCommit, the terms of the leader's log do not
	// change while it leads, and the commit cap (peerAside.commitCap) is
	// lifted only by a change of configuration. So while it is set, a
	// match that rises to at most the commit index cannot raise it (see
	// commitMayRise).
	commitSettled bool
}

// begin sets up the progress of a leadership that starts with a log ending
// at last: every member of m is probed from last+1, and the leader (self),
// holding all of it, is replicating and active.
func (rp *replication) begin(m *membership, self, last uint64) {
	voters, learners := m.voters(), m.learners()
	var buf [16]uint64
	ids := append(append(append(buf[:0], voters[0]...), voters[1]...), learners...)
	slices.Sort(ids)
	// NB: a voter of both halves of a joint configuration is one member.
	ids = slices.Compact(ids)
	rp.self = self
	_, rp.selfIn = slices.BinarySearch(ids, self)
	n := len(ids)
	if rp.selfIn {
		n--
	}
	rp.peers = make([]peerProgress, 0, n)
	for _, id := range ids {
		if id != self {
			rp.peers = append(rp.peers, peerProgress{id: id, next: last + 1, learner: learners.has(id)})
		}
	}
	rp.selfMatch, rp.selfLearner = last, rp.selfIn && learners.has(self)
	rp.setVoters(voters)
}

// setVoters marks the voters of a configuration that is not joint, for
// commitIndex.
func (rp *replication) setVoters(voters jointVoters) {
	simple := len(voters[1]) == 0
	for i := range rp.peers {
		rp.peers[i].voter = simple && voters[0].has(rp.peers[i].id)
	}
	rp.selfVoter = rp.selfIn && simple && voters[0].has(rp.self)
}

// adopt makes the members of prs, the Progress of the new configuration
// whose voters are voters, the members whose progress is tracked. A member
// that stays keeps its progress, but for whether it is a learner (all a
// configuration change alters); one that joins takes its Progress from
// prs - the leader too, if it was not a member. Followers that left are no
// longer owed anything.
func (rp *replication) adopt(prs tracker.ProgressMap, voters jointVoters) {
	old, self := rp.peers, rp.self
	n := len(prs)
	own, stays := prs[self]
	stays = stays && rp.selfIn
	if stays {
		n--
	}
	rp.selfIn, rp.selfLearner = stays, stays && own.IsLearner
	rp.peers = make([]peerProgress, 0, n)
	rp.anyDue, rp.commitSettled = false, false
	for id, pr := range prs {
		if stays && id == self {
			continue
		}
		i := slices.IndexFunc(old, func(p peerProgress) bool { return p.id == id })
		if i < 0 {
			rp.peers = append(rp.peers, progressFrom(id, pr))
			continue
		}
		p := old[i]
		p.learner = pr.IsLearner
		rp.anyDue = rp.anyDue || p.due
		rp.peers = append(rp.peers, p)
	}
	slices.SortFunc(rp.peers, func(a, b peerProgress) int { return cmpUint64(a.id, b.id) })
	rp.setVoters(voters)
}

// selfProgress returns the leader's own progress as peers would hold it.
// Only meaningful while selfIn.
func (rp *replication) selfProgress() peerProgress {
	return peerProgress{id: rp.self, match: rp.selfMatch, next: rp.selfMatch + 1, state: flowReplicate,
		voter: rp.selfVoter, learner: rp.selfLearner, active: true}
}

// takeSelfIntoPeers puts the leader's derived progress into peers, where
// any message may change it as it would a follower's, and returns it.
// Only called while selfIn, for a message that is not the leader's own
// acknowledgement (which ackOwn takes): such messages are rare, and the
// progress stays in peers for the rest of the leadership.
func (rp *replication) takeSelfIntoPeers() *peerProgress {
	i, _ := slices.BinarySearchFunc(rp.peers, rp.self, func(p peerProgress, id uint64) int { return cmpUint64(p.id, id) })
	rp.peers = slices.Insert(rp.peers, i, rp.selfProgress())
	rp.selfIn, rp.selfLearner, rp.selfVoter = false, false, false
	return &rp.peers[i]
}

// ackOwn takes the leader's acknowledgement of its own log up to index,
// while selfIn, and reports whether it raised selfMatch.
func (rp *replication) ackOwn(index uint64) bool {
	if index <= rp.selfMatch {
		return false
	}
	rp.selfMatch = index
	return true
}

// forEach calls fn with a copy of the progress of every member in
// increasing ID order, the leader's included. NB: copies, so that the
// leader's derived progress, made on the fly, does not move to the heap
// (a pointer passed to fn would).
func (rp *replication) forEach(fn func(p peerProgress)) {
	own := rp.selfIn
	for i := range rp.peers {
		if own && rp.peers[i].id > rp.self {
			own = false
			fn(rp.selfProgress())
		}
		fn(rp.peers[i])
	}
	if own {
		fn(rp.selfProgress())
	}
}

// followers returns the number of members other than the leader.
func (rp *replication) followers() int {
	if rp.selfIn || rp.index(rp.self) < 0 {
		return len(rp.peers)
	}
	return len(rp.peers) - 1
}

// index returns the position of member id in peers, or -1.
func (rp *replication) index(id uint64) int {
	if len(rp.peers) <= 8 {
		for i := range rp.peers {
			if rp.peers[i].id == id {
				return i
			}
		}
		return -1
	}
	i, ok := slices.BinarySearchFunc(rp.peers, id, func(p peerProgress, id uint64) int { return cmpUint64(p.id, id) })
	if !ok {
		return -1
	}
	return i
}

// peer returns the progress of member id, or nil if id is not a member or
// is the leader while its progress is derived (selfIn).
// NB: the pointer is good until the next adopt or takeSelfIntoPeers.
func (rp *replication) peer(id uint64) *peerProgress {
	if i := rp.index(id); i >= 0 {
		return &rp.peers[i]
	}
	return nil
}

// progressMap returns the members' progress, the leader's included, as a
// fresh map, with windows of limits lim, for the callers that need a
// tracker.ProgressMap (a configuration change).
func (rp *replication) progressMap(lim windowLimits) tracker.ProgressMap {
	prs := make(tracker.ProgressMap, len(rp.peers)+1)
	rp.forEach(func(p peerProgress) {
		pr := p.progress(true, lim)
		prs[p.id] = &pr
	})
	return prs
}

// maxFastQuorum is the largest number of voters whose commit index
// commitIndex finds on the stack.
const maxFastQuorum = 9

// commitIndex returns the highest index a quorum of the voters of m has
// acknowledged (Progress.Match; selfMatch for the leader while selfIn),
// provided it is above floor; when it is not, it returns an index at most
// floor. For a configuration that is not joint, with at most
// maxFastQuorum voters, the Matches are read off peers directly; otherwise
// through m's voters and matchIndexer.
// NB: a caller asks whether the commit index can rise past floor, so the
// Matches at or below it are counted but not kept: a leader's own
// acknowledgement, the one of a follower that already had the commit
// index, skip the sort altogether.
func (rp *replication) commitIndex(m *membership, floor uint64) uint64 {
	// NB: the peers' header and the count above floor in locals, so that
	// the loop keeps them in registers (about half the instructions of
	// appending to a slice of buf).
	var buf [maxFastQuorum]uint64
	peers, n, k := rp.peers, 0, 0
	if rp.selfIn && rp.selfVoter {
		n = 1
		if rp.selfMatch > floor {
			buf[0], k = rp.selfMatch, 1
		}
	}
	for i := range peers {
		if !peers[i].voter {
			continue
		}
		if n == maxFastQuorum {
			return uint64(m.voters().CommittedIndex(matchIndexer{rp}))
		}
		n++
		if match := peers[i].match; match > floor {
			buf[k] = match
			k++
		}
	}
	if n == 0 {
		// Joint, or no voter at all.
		return uint64(m.voters().CommittedIndex(matchIndexer{rp}))
	}
	// NB: with fewer than a quorum above floor, majorityIndex answers 0
	// before sorting.
	return majorityIndex(buf[:k], n)
}

// owesAppend reports whether follower p can take an append and has
// something to be told, given a log ending at last and committed up to
// commit: a probe (in flowProbe, an unpaused follower is due one), a
// commit index it was not sent, or entries it was not sent while its
// window has room.
// NB: one expression, which the compiler inlines into markAllDue (about 30
// instructions per follower less than a call through markPeerDue).
func (p *peerProgress) owesAppend(last, commit uint64) bool {
	return !p.isPaused() && (p.state == flowProbe || p.canBumpCommit(commit) || p.next <= last && !p.windowFull())
}

// markDue records that follower id is owed an append if owesAppend says so,
// or in any case when evenIfEmpty is set.
func (rp *replication) markDue(id uint64, evenIfEmpty bool, last, commit uint64) {
	if i := rp.index(id); i >= 0 && id != rp.self {
		rp.markPeerDue(&rp.peers[i], evenIfEmpty, last, commit)
	}
}

// markPeerDue is markDue for p, a follower other than the leader.
func (rp *replication) markPeerDue(p *peerProgress, evenIfEmpty bool, last, commit uint64) {
	if !evenIfEmpty && !p.owesAppend(last, commit) {
		return
	}
	p.due, rp.anyDue = true, true
	p.evenIfEmpty = p.evenIfEmpty || evenIfEmpty
}

// markAllDue marks every follower that is owed an append.
func (rp *replication) markAllDue(r *raft) {
	last, commit := r.log.lastIndex(), r.log.committed()
	for i := range rp.peers {
		// NB: markPeerDue without evenIfEmpty, written out, for the
		// followers not due already (after a commit, the next ack finds
		// them all due).
		if p := &rp.peers[i]; !p.due && p.id != rp.self && p.owesAppend(last, commit) {
			p.due, rp.anyDue = true, true
		}
	}
}

// recheck marks follower id due if its progress, just changed, now owes it
// an append.
func (r *raft) recheck(id uint64) {
	r.leading.repl.markDue(id, false, r.log.lastIndex(), r.log.committed())
}

// hasDue reports whether some follower is owed an append.
// NB: a peer marked due may have paused since (say, moved to snapshot
// state); the flush would send it nothing, so it does not count.
func (rp *replication) hasDue() bool {
	if !rp.anyDue {
		return false
	}
	for i := range rp.peers {
		if p := &rp.peers[i]; p.due && !p.isPaused() {
			return true
		}
	}
	return false
}

// admit accounts for the payload of entries a leader is about to append,
// and reports whether MaxUncommittedEntriesSize lets them in. NB: when
// nothing is pending the proposal is admitted whatever its size, so that
// one large entry cannot be refused forever; empty payloads (such as a new
// leader's entry) are always admitted.
func (rp *replication) admit(ents []pb.Entry, limit entryPayloadSize) bool {
	size := payloadsSize(ents)
	if size > 0 && rp.uncommitted > 0 && rp.uncommitted+size > limit {
		return false
	}
	rp.uncommitted += size
	return true
}

// release accounts for applied payload. The estimate never drops below
// zero: entries appended in an earlier term were never counted.
func (rp *replication) release(size entryPayloadSize) {
	rp.uncommitted -= min(size, rp.uncommitted)
}

// quorumActive reports whether the members active since the last round
// form a quorum of voters. The leader, being always active, counts.
func (rp *replication) quorumActive(voters jointVoters) bool {
	active := make(map[uint64]bool, len(rp.peers)+1)
	rp.forEach(func(p peerProgress) {
		if !p.learner {
			active[p.id] = p.active
		}
	})
	return voters.VoteResult(active) == quorum.VoteWon
}

// forgetActivity starts a new CheckQuorum round: every member but the
// leader must be heard from again.
func (rp *replication) forgetActivity() {
	for i := range rp.peers {
		rp.peers[i].active = rp.peers[i].id == rp.self
	}
}

// matchIndexer reads a quorum's acknowledged index off Progress.Match
// (selfMatch for the leader while selfIn).
type matchIndexer struct{ rp *replication }

// AckedIndex implements quorum.AckedIndexer.
func (m matchIndexer) AckedIndex(id uint64) (quorum.Index, bool) {
	if id == m.rp.self && m.rp.selfIn {
		return quorum.Index(m.rp.selfMatch), true
	}
	p := m.rp.peer(id)
	if p == nil {
		return 0, false
	}
	return quorum.Index(p.match), true
}

// appendOwn appends proposals to the leader's log, giving them the current
// term and the next indexes, and reports whether they fit under the
// uncommitted-size limit. The followers get them with the next Ready.
func (r *raft) appendOwn(ents []pb.Entry) bool {
	l := r.leading
	if !l.repl.admit(ents, r.cfg.maxUncommittedSize) {
		r.cfg.logger.Warningf("%x drops a proposal: it would exceed MaxUncommittedEntriesSize", r.id)
		return false
	}
	next := r.log.lastIndex() + 1
	for i := range ents {
		ents[i].Index, ents[i].Term = next+uint64(i), r.term
	}
	last := r.log.append(ents...)
	// The leader acknowledges its own entries once they are durable, as
	// the followers do.
	r.send(&pb.Message{To: r.id, Type: pb.MsgAppResp, Index: last})
	l.repl.markAllDue(r)
	return true
}

// commitMayRise reports whether a member's match having risen to index may
// let the commit index rise, that is, whether maybeCommit is worth asking.
// NB: most acks past the first of a quorum are at most the commit index
// their predecessor raised; this answers them without counting the
// quorum (some 110 instructions per commit in a group of 3).
func (r *raft) commitMayRise(index uint64) bool {
	return index > r.log.committed() || !r.leading.repl.commitSettled
}

// maybeCommit raises the commit index to what a quorum of the active
// configuration holds, provided that entry is of the current term (paper
// 5.4.2), and reports whether it did.
func (r *raft) maybeCommit() bool {
	rp := &r.leading.repl
	rp.commitSettled = true
	committed := r.log.committed()
	acked := rp.commitIndex(&r.conf, committed)
	if r.aside != nil {
		acked = r.capCommit(acked)
	}
	switch {
	case acked <= committed:
		return false
	case rp.termCommitted && acked <= r.log.lastIndex():
		// NB: the leader committed an entry of its term already, and every
		// entry after that one is of its term too (it appends only its
		// own), so the term need not be looked up (about 60 instructions
		// per commit). An index past the log, which only acks of entries
		// the leader never sent can make, goes the long way, which refuses
		// it as the lookup finds no term there.
		r.log.commitTo(acked)
		return true
	case !r.log.maybeCommit(entryID{term: r.term, index: acked}):
		return false
	}
	rp.termCommitted = true
	return true
}

// onCommit does what a raised commit index makes possible: every follower
// is owed the new index, and the reads that waited for the leader's first
// commit may be served.
func (r *raft) onCommit() {
	r.leading.repl.markAllDue(r)
	r.releaseWaitingReads()
	if r.leading.hasDepartures() {
		r.settleDepartures()
	}
}

// flushAppends sends every due follower what it is owed: as many appends as
// its window and MaxSizePerMsg allow, or a single one, possibly empty,
// when only a probe or a commit index is due. It runs once per Ready.
func (r *raft) flushAppends() {
	rp := &r.leading.repl
	if !rp.anyDue {
		return
	}
	rp.anyDue = false
	last, commit := r.log.lastIndex(), r.log.committed()
	// NB: sending changes no member's place in peers, so the loop keeps
	// its header in a register rather than reloading it around each call.
	peers := rp.peers
	for i := range peers {
		p := &peers[i]
		if !p.due {
			continue
		}
		evenIfEmpty := p.evenIfEmpty || p.state == flowProbe || p.canBumpCommit(commit)
		p.due, p.evenIfEmpty = false, false
		// NB: once p.next is past the last entry, a further append would
		// be empty, which only the first may be.
		for sent := r.sendAppend(p, evenIfEmpty, last, commit); sent && p.next <= last; sent = r.sendAppend(p, false, last, commit) {
		}
	}
	if r.cfg.readOnly == ReadOnlyLeaseBased {
		r.leading.lease.sentUpTo(r.log.lastIndex())
	}
}

// cmpUint64 orders uint64s for slices.SortFunc.
func cmpUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sendAppend sends follower p the next append its progress allows, and
// reports whether it sent anything: the entries after p.next-1 that fit in
// one message (none while its replication window is full), or the storage
// snapshot when those entries are compacted. With evenIfEmpty unset, an
// append without entries is not sent. last and commit are the log's last
// index and commit index.
func (r *raft) sendAppend(p *peerProgress, evenIfEmpty bool, last, commit uint64) bool {
	if p.isPaused() {
		return false
	}
	// NB: the entry the append follows and the entries after it are asked
	// of the log one by one: built as a logSlice and returned by value, they
	// cost some 40 instructions more per append. With a full window, or
	// with every entry sent (NB: asked here, where the log would answer
	// the same after a call: the append that only carries a commit index
	// saves some 30 instructions), only the commit index can go out.
	prev := p.next - 1
	prevTerm, err := r.log.term(prev)
	if err != nil {
		return r.sendSnapshot(p)
	}
	var ents []pb.Entry
	if p.next <= last && !p.windowFull() {
		if ents, err = r.log.entries(p.next, r.cfg.maxMsgSize); err != nil {
			return r.sendSnapshot(p)
		}
	}
	if len(ents) == 0 && !evenIfEmpty {
		return false
	}
	r.send(&pb.Message{To: p.id, Type: pb.MsgApp, Index: prev, LogTerm: prevTerm, Entries: ents, Commit: commit})
	p.sentEntries(len(ents), uint64(payloadsSize(ents)), r.windowLimits())
	p.sentCommit = commit
	if p.state == flowProbe {
		// NB: an empty append is a probe too (thesis 3.5): in probe state
		// one is outstanding at a time, whatever it carries, until the
		// follower answers it or a heartbeat response shows it alive.
		p.paused = true
	}
	return true
}

// sendSnapshot sends the storage snapshot to a follower that needs entries
// no longer in the log, and reports whether it did. A follower not heard
// from lately is left alone: the snapshot would most likely be wasted.
func (r *raft) sendSnapshot(p *peerProgress) bool {
	id := p.id
	if !p.active {
		r.cfg.logger.Debugf("%x holds back a snapshot for %x: not heard from lately", r.id, id)
		return false
	}
	snap, err := r.log.snapshot()
	switch {
	case errors.Is(err, ErrSnapshotTemporarilyUnavailable):
		r.cfg.logger.Debugf("%x cannot send a snapshot to %x yet: storage has none ready", r.id, id)
		return false
	case err != nil:
		r.cfg.logger.Errorf("%x cannot send a snapshot to %x: storage failed: %v", r.id, id, err)
		return false
	case IsEmptySnap(snap):
		invariantBroken("%x needs a snapshot for %x (next %d) but storage returned an empty one", r.id, id, p.next)
	case r.leading.withholdsSnapshot(id, snap.Metadata.Index):
		r.cfg.logger.Debugf("%x holds back a snapshot for %x: it would tell it of its exit too early", r.id, id)
		return false
	}
	r.cfg.logger.Debugf("%x sends the snapshot at %d@%d to %x (%s); first index %d, commit %d",
		r.id, snap.Metadata.Index, snap.Metadata.Term, id, p, r.log.firstIndex(), r.log.committed())
	p.becomeSnapshot(snap.Metadata.Index)
	r.cfg.logger.Debugf("%x pauses appends to %x until the snapshot is reported (%s)", r.id, id, p)
	r.send(&pb.Message{To: id, Type: pb.MsgSnap, Snapshot: &snap})
	return true
}

// bcastHeartbeat sends a heartbeat to every follower. If read requests are
// waiting for confirmation, the heartbeats carry the latest read round.
func (r *raft) bcastHeartbeat() {
	l := r.leading
	var ctx []byte
	if r.cfg.readOnly == ReadOnlyLeaseBased {
		ctx = l.lease.beatContext()
	} else {
		ctx = l.reads.issueRound()
	}
	for i := range l.repl.peers {
		p := &l.repl.peers[i]
		if p.id == r.id {
			continue
		}
		// NB: the follower may not have our entries up to the commit index
		// yet; it must not commit beyond what we know matches.
		commit := min(p.match, r.log.committed())
		r.send(&pb.Message{To: p.id, Type: pb.MsgHeartbeat, Commit: commit, Context: ctx})
		p.sentCommit = commit
		p.dropIdleWindow()
	}
	if ctx != nil && r.cfg.readOnly == ReadOnlySafe {
		// NB: where the leader alone is a quorum (e.g. after the others were
		// removed), its own confirmation suffices.
		r.releaseConfirmedReads()
	}
}

// windowLimits returns the bounds of a follower's window of appends in
// flight.
func (r *raft) windowLimits() windowLimits {
	return windowLimits{count: r.cfg.maxInflight, bytes: r.cfg.maxInflightBytes}
}
