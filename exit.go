package raft

import (
	"math"

	"github.com/quorate/raft/quorum"
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
//   - Any other peer waits until it knows a leader other than itself. A
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
// An exit is held only while no configuration change that applies follows
// it in the log, committed or not (see laterConfChange). With validation
// on, a leader appends a change only once the one before it is applied, so
// a later change shows that the exit was applied, and let go, by a leader
// that knew the new configuration could go on (a restarted peer replaying
// its log meets such exits). And holding an exit with a later change behind
// it would be unsafe: a peer holding it counts votes and acknowledgements
// in the configuration before it, two changes behind peers that applied
// both, whose quorums need not overlap its own (found by the simulation:
// seed 47670, a restarted peer elected under its old configuration; seed
// 46622, a leader that committed a later change while holding its exit,
// with DisableConfChangeValidation). NB: with DisableConfChangeValidation
// a leader may append its demotion and then its removal before either
// commits; neither is held then, and, as with etcd-raft, the leader may
// apply both and be stopped before the remaining voters know (seed 18775).
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
	// after are the voters of the configuration the change leads to.
	after quorum.JointConfig
	// marker is the index of the leader's entry appended after the change
	// was known committed, or 0.
	marker uint64
	// next is the configuration the change leads to, against which a later
	// change is judged (see laterConfChange).
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
		return r.knowsOtherLeader()
	}
	h := r.aside.exit
	acked := h.after.CommittedIndex(matchIndexer{&r.leading.repl})
	return h.marker != 0 && uint64(acked) >= h.marker
}

// knowsOtherLeader reports whether the peer follows a leader other than
// itself.
func (r *raft) knowsOtherLeader() bool {
	return r.state != StateLeader && r.lead != None && r.lead != r.id
}

// holdExit returns the prefix of ents, committed entries about to be handed
// out, that may go to the application now: all of them, or those before a
// change that takes this peer out of the voters, which it then holds back.
func (r *raft) holdExit(ents []pb.Entry) []pb.Entry {
	if h := r.heldExit(); h != nil {
		switch {
		case r.exitReleased():
			r.cfg.logger.Infof("%x lets its exit at index %d be applied: the new configuration %s can go on without it",
				r.id, h.index, h.after)
		case r.laterConfChange(h.index, h.next):
			r.cfg.logger.Infof("%x lets its exit at index %d be applied: a later configuration change follows it",
				r.id, h.index)
		default:
			return ents
		}
		r.releaseExit()
	}
	if r.knowsOtherLeader() {
		// NB: no exit is held while following another leader (see below),
		// so the changes need not be worked out.
		return ents
	}
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
		was, is := membershipOf(cfg), membershipOf(next)
		cfg = next
		if ents[i].Index <= r.releasedExit() || !was.isVoter(r.id) || is.isVoter(r.id) {
			continue
		}
		if !r.laterConfChange(ents[i].Index, next) {
			h := &exitHold{index: ents[i].Index, after: next.Voters, next: next}
			r.moreAside().exit = h
			if r.state == StateLeader {
				r.appendExitMarker(h)
			}
			r.cfg.logger.Infof("%x holds back its exit at index %d until the new configuration %s can go on without it",
				r.id, h.index, h.after)
			return ents[:i]
		}
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

// laterConfChange reports whether a configuration change after index, the
// exit leading to the configuration after, is in the log, committed or not,
// and applies to after (see exitHold). A later change that does not apply
// moves nothing on: every peer skips it, and with
// DisableConfChangeValidation it may have been appended in the same breath
// as the exit (an application's request to leave a joint configuration
// right behind the leader's own; found by the simulation, seed 21756).
// NB: an error reading the log counts as a later change, letting the exit
// go as etcd-raft would rather than holding it on a guess.
func (r *raft) laterConfChange(index uint64, after tracker.Config) bool {
	found := false
	err := r.log.forEachConfChange(index+1, r.log.lastIndex()+1, func(e *pb.Entry) bool {
		if _, ok := r.nextConfig(after, e); !ok {
			return true
		}
		found = true
		return false
	})
	if err != nil {
		r.cfg.logger.Warningf("%x could not read its log after its exit at %d: %v", r.id, index, err)
		return true
	}
	return found
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
