package raft

import (
	"math"

	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// exitHold holds back a committed configuration change that takes this
// peer from voter to non-voter (a removal, or a demotion to learner): the
// change and the entries after it are not handed to the application until
// the peer knows the change cannot be lost with it.
//
// Without it, a peer could apply its own exit - and be stopped by its
// host, or step down, or simply stop campaigning - while no voter of the
// new configuration knew the change was committed. Those voters would go
// on counting votes in the old configuration, which needs the departed
// peer, and never elect anyone again (issue 12; found by the simulation,
// seeds 69 and 259).
//
// What the peer waits for depends on its role:
//   - A leader waits until a quorum of the new configuration knows the
//     change is committed. A follower knows once it has acknowledged an
//     entry appended after the leader knew of the commit: an append
//     carrying such an entry also carries a commit index at least as high,
//     and a follower commits up to it. So the leader appends an empty
//     entry, the marker, and waits for a quorum of the new configuration
//     to acknowledge it.
//   - Any other peer waits until a leader other than itself tells it a
//     commit index at or past the exit (raft.commitTold: one it learned
//     while leading, say, the next leader may not know; seed 38621). A
//     leader tells a departing follower that its exit is committed only
//     once the new configuration can go on without it (see departure): a
//     leader that stays will commit the change anew if it must, and
//     remembers it across a crash; a leader that leaves too waits until a
//     quorum of the new configuration knows. Meanwhile the peer may
//     campaign under the configuration before the change, which is safe:
//     any quorum of it overlaps every quorum of the next, as for any
//     single-voter or joint step (thesis 4.3). Should it win, its first
//     entry is its marker.
//
// A peer that does not lead holds an exit only while no configuration
// change that applies follows it in the log, committed or not (see
// laterConfChange). With validation on, a leader appends a change only
// once the one before it is applied, so a later change shows that the exit
// was applied, and let go, by a leader that knew the new configuration
// could go on (a restarted peer replaying its log meets such exits). And
// the peer would count votes in the configuration before the exit, two
// changes behind peers that applied both, whose quorums need not overlap
// its own (found by the simulation, seed 47670: a restarted peer held its
// exit, was elected under its old configuration, and lost committed
// entries).
//
// A leader counts acknowledgements in the configuration before its exit
// until it applies it, so it commits nothing from the first later change on
// until then (see capCommit). Only DisableConfChangeValidation lets it
// append such a change - its removal right after its demotion, say - and
// seed 46622 committed one and lost entries the same way. A later change
// already committed with the exit (both inherited from an earlier term,
// say) leaves nothing to hold back: the leader applies both, as in
// etcd-raft. NB: a leader that stops leading while it holds an exit with
// such a change behind it lets the exit go under the rule above; in a group
// of two, the other voter, not knowing the exit committed, may then never be
// elected (left open: holding would need proof that the later change cannot
// have been committed elsewhere).
//
// raft holds an exitHold only while an exit is held (peerAside.exit), and
// keeps the index of the last exit it let go (peerAside.releasedExit), which
// is not held again when it comes up for the application.
//
// Invariant: index is committed and above the applying index; marker is 0
// unless the peer leads.
type exitHold struct {
	// index is the index of the change held back.
	index uint64
	// marker is the index of the leader's entry appended after the change
	// was known committed, or 0.
	marker uint64
	// next is the configuration the change leads to: its voters must be
	// able to go on without this peer, and a later change is judged against
	// it (see laterConfChange).
	next tracker.Config
}

// releasedExit returns the index of the last exit let go, or 0.
func (r *raft) releasedExit() uint64 {
	if a := r.aside; a != nil {
		return a.releasedExit
	}
	return 0
}

// heldExitIndex returns the index of the exit held back, or 0.
func (r *raft) heldExitIndex() uint64 {
	if h := r.heldExit(); h != nil {
		return h.index
	}
	return 0
}

// releaseExit lets the held exit go.
func (r *raft) releaseExit() {
	a := r.aside
	a.releasedExit, a.exit = a.exit.index, nil
}

// applyLimit returns the highest index that may be handed to the
// application now: the entry before a held exit, or any.
func (r *raft) applyLimit() uint64 {
	if r.aside == nil {
		return math.MaxUint64
	}
	return r.asideApplyLimit()
}

// asideApplyLimit is applyLimit for a peer with an aside, which may hold an
// exit. NB: kept out of line, so that applyLimit, asked for several times
// per Ready, inlines.
//
//go:noinline
func (r *raft) asideApplyLimit() uint64 {
	if h := r.aside.exit; h != nil && !r.exitReleased() {
		return h.index - 1
	}
	return math.MaxUint64
}

// exitReleased reports whether the held exit may now be handed out.
func (r *raft) exitReleased() bool {
	if r.state != StateLeader {
		return r.leaderToldCommit()
	}
	h := r.aside.exit
	acked := h.next.Voters.CommittedIndex(matchIndexer{&r.leading.repl})
	return h.marker != 0 && uint64(acked) >= h.marker
}

// leaderToldCommit reports whether the peer follows a leader other than
// itself that told it a commit index at least as high as its own (see
// raft.commitTold).
func (r *raft) leaderToldCommit() bool {
	return r.commitTold && r.state != StateLeader && r.lead != None && r.lead != r.id
}

// holdExit returns the prefix of ents, committed entries about to be handed
// out, that may go to the application now: all of them, or those before a
// change that takes this peer out of the voters, which it then holds back.
// NB: the Ready builder calls it only with entries or an exit held (with
// neither it returns ents as they are), and it works out the changes
// (holdExitAmong) only when ents hold one.
func (r *raft) holdExit(ents []pb.Entry) []pb.Entry {
	if h := r.heldExit(); h != nil {
		switch {
		case r.exitReleased():
			r.cfg.logger.Infof("%x lets its exit at index %d be applied: the new configuration %s can go on without it",
				r.id, h.index, h.next.Voters)
		case r.state != StateLeader && r.laterConfChange(h.index, h.next) != 0:
			r.cfg.logger.Infof("%x lets its exit at index %d be applied: a later configuration change follows it",
				r.id, h.index)
		default:
			return ents
		}
		r.releaseExit()
	}
	if r.leaderToldCommit() {
		// NB: no exit is held while following a leader that knows every
		// entry here committed (see below), so the changes need not be
		// worked out.
		return ents
	}
	if !hasConfChange(ents) {
		return ents
	}
	return r.holdExitAmong(ents)
}

// holdExitAmong is holdExit for a peer that holds no exit back (or has
// just let it go) and ents that hold a configuration change.
func (r *raft) holdExitAmong(ents []pb.Entry) []pb.Entry {
	// NB: the entries are walked with the configuration they lead to, so
	// that an exit following another change in the batch (say, leaving a
	// joint configuration entered just before) is judged against the
	// configuration it applies to.
	var cfg tracker.Config
	built := false
	for i := range ents {
		if !isConfChange(&ents[i]) {
			continue
		}
		cc, err := decodeConfChange(ents[i])
		if err != nil {
			// Every peer skips it.
			continue
		}
		if !r.mayRemoveSelf(cc) && !hasConfChange(ents[i+1:]) {
			// NB: the configuration the batch's last change leads to is
			// only needed to judge this peer's exit, which it cannot be.
			break
		}
		if !built {
			// NB: built only now, as most batches hold no change.
			cfg, built = r.conf.config(), true
		}
		next, _, err := changedConfig(r.changerFor(cfg), cc)
		if err != nil {
			continue
		}
		exit := r.votesIn(cfg) && !r.votesIn(next)
		cfg = next
		if !exit || ents[i].Index <= r.releasedExit() {
			continue
		}
		later := r.laterConfChange(ents[i].Index, next)
		if later != 0 && (r.state != StateLeader || later <= r.log.committed()) {
			// History, or nothing left to hold back (see exitHold).
			continue
		}
		if later != 0 {
			r.capCommitBelow(later)
		}
		h := &exitHold{index: ents[i].Index, next: next}
		r.moreAside().exit = h
		if r.state == StateLeader {
			r.appendExitMarker(h)
		}
		r.cfg.logger.Infof("%x holds back its exit at index %d until the new configuration %s can go on without it",
			r.id, h.index, h.next.Voters)
		return ents[:i]
	}
	return ents
}

// hasConfChange reports whether ents hold a configuration change.
func hasConfChange(ents []pb.Entry) bool {
	for i := range ents {
		if isConfChange(&ents[i]) {
			return true
		}
	}
	return false
}

// mayRemoveSelf reports whether cc may take this peer out of the voters: it
// names the peer, or it leaves a joint configuration (which drops the
// outgoing voters). Other changes leave its vote as it is: a simple change
// touches only the nodes it names, and entering a joint configuration keeps
// every voter in its outgoing half.
func (r *raft) mayRemoveSelf(cc pb.ConfChangeV2) bool {
	if cc.LeaveJoint() {
		return true
	}
	for _, c := range cc.Changes {
		if c.NodeID == r.id {
			return true
		}
	}
	return false
}

// laterConfChange returns the index of the first configuration change
// after index, the exit leading to the configuration after, that is in the
// log, committed or not, and applies to after, or 0 if there is none (see
// exitHold). A later change that does not apply moves nothing on: every
// peer skips it, and with DisableConfChangeValidation it may have been
// appended in the same breath as the exit (an application's request to
// leave a joint configuration right behind the leader's own; found by the
// simulation, seed 21756). NB: an error reading the log answers index+1,
// letting the exit go as etcd-raft would rather than holding it on a
// guess.
func (r *raft) laterConfChange(index uint64, after tracker.Config) uint64 {
	found := uint64(0)
	err := r.log.forEachConfChange(index+1, r.log.lastIndex()+1, func(e *pb.Entry) bool {
		if _, ok := r.nextConfig(after, e); !ok {
			return true
		}
		found = e.Index
		return false
	})
	if err != nil {
		r.cfg.logger.Warningf("%x could not read its log after its exit at %d: %v", r.id, index, err)
		return index + 1
	}
	return found
}

// capCommit returns acked, the index a quorum of the leader's configuration
// holds, capped below the first configuration change after the leader's
// own exit while that exit is not applied (see exitHold).
func (r *raft) capCommit(acked uint64) uint64 {
	if r.aside.commitCap == 0 || r.liftCommitCap() {
		return acked
	}
	return min(acked, r.aside.commitCap-1)
}

// liftCommitCap clears the leader's commit cap once its exit is applied
// (its configuration no longer counts it as a voter), and reports whether
// it did.
func (r *raft) liftCommitCap() bool {
	a := r.aside
	if a == nil || a.commitCap == 0 || r.conf.isVoter(r.id) {
		return false
	}
	a.commitCap = 0
	return true
}

// votesIn reports whether this peer is a voter of cfg.
func (r *raft) votesIn(cfg tracker.Config) bool {
	m := membershipOf(cfg)
	return m.isVoter(r.id)
}

// capCommitBelow caps the leader's commit index below index, a
// configuration change after its own exit, which it has not applied (see
// capCommit).
func (r *raft) capCommitBelow(index uint64) {
	if a := r.moreAside(); a.commitCap == 0 || index < a.commitCap {
		a.commitCap = index
	}
}

// appendExitMarker appends the leader's marker for the exit h holds (see
// exitHold).
func (r *raft) appendExitMarker(h *exitHold) {
	if !r.appendOwn([]pb.Entry{{}}) {
		invariantBroken("%x: the empty marker entry after its exit at %d was refused", r.id, h.index)
	}
	h.marker = r.log.lastIndex()
}

// nextConfig returns the configuration that the change in e leads to from
// cfg, and false if it cannot apply to cfg.
func (r *raft) nextConfig(cfg tracker.Config, e *pb.Entry) (tracker.Config, bool) {
	cc, err := decodeConfChange(*e)
	if err != nil {
		return tracker.Config{}, false
	}
	next, _, err := changedConfig(r.changerFor(cfg), cc)
	return next, err == nil
}
