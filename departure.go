package raft

import (
	"slices"

	"github.com/quorate/raft/quorum"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// This file holds how a leader tells a follower that a configuration change
// taking it out of the voters is committed. Such a follower lets its exit
// go as soon as it knows that under a leader (see exitHold) - its host may
// then stop it, or it stops campaigning - so the leader tells it only once
// the configuration after the change can go on without it:
//
//   - A leader that votes in that configuration will commit the change
//     anew if it must. It must only not forget, across a crash, that the
//     change is committed: with AsyncStorageWrites its messages leave
//     before its HardState is durable, and a leader restarted with an older
//     commit index counts votes in the configuration before the change,
//     needing the departed follower (mixed-cluster simulation, seed
//     100959). So there, a message telling the follower a commit index at
//     or past the change waits for the leader's writes, as acknowledgements
//     do: it leaves with the MsgStorageAppend's responses.
//   - A leader that does not vote in it (it leaves too, or left earlier and
//     leads on without StepDownOnRemoval) may be stopped at any time, and
//     the new configuration's voters may not know the change is committed
//     (simulation seed 1604). Once it knows the change committed, it
//     appends an empty entry, the marker, and tells the follower a commit
//     index below the change until a quorum of the new configuration has
//     acknowledged the marker: an append carrying the marker carried a
//     commit index at least as high, which each of them committed (and,
//     since acknowledgements wait for durability, persisted).

// departure is a follower that a configuration change in the leader's log
// takes out of the voters.
type departure struct {
	id uint64
	// index is the change's index.
	index uint64
	// after are the voters of the configuration the change leads to, and
	// stays is set if the leader is one of them.
	after quorum.JointConfig
	stays bool
	// marker is, for a leader that does not stay, its empty entry appended
	// once it knew the change committed; 0 before that.
	marker uint64
	// settled is set once a quorum of after has acknowledged the marker.
	settled bool
}

// holdsBack reports whether d keeps its follower from learning that index
// is committed.
func (d *departure) holdsBack(index uint64) bool {
	return index >= d.index && !d.stays && !d.settled
}

// shapeForDeparture adjusts m, a message of the leader, for a departing
// recipient (see departure), and reports whether it must wait for the
// leader's writes.
func (r *raft) shapeForDeparture(m *pb.Message) (wait bool) {
	ds := r.leading.departing()
	for i := range ds {
		d := &ds[i]
		if d.id != m.To || (m.Type != pb.MsgApp && m.Type != pb.MsgHeartbeat) {
			continue
		}
		if d.holdsBack(m.Commit) {
			m.Commit = d.index - 1
		}
		wait = wait || (d.stays && r.cfg.asyncStorageWrites && m.Commit >= d.index)
	}
	return wait
}

// withholdsSnapshot reports whether a snapshot at index, whose
// configuration may already have applied the change, must not go to id yet.
func (l *leaderState) withholdsSnapshot(id, index uint64) bool {
	ds := l.departing()
	for i := range ds {
		if d := &ds[i]; d.id == id && d.holdsBack(index) {
			return true
		}
	}
	return false
}

// noteDepartures records as departures the followers that cc, at index,
// takes out of the voters of cfg, and forgets those it makes voters again.
// It returns the configuration after cc, and whether cc applies (if not,
// cfg).
func (r *raft) noteDepartures(cfg tracker.Config, cc pb.ConfChangeV2, index uint64) (tracker.Config, bool) {
	next, _, err := changedConfig(r.changerFor(cfg), cc)
	if err != nil {
		return cfg, false
	}
	before := membershipOf(cfg)
	r.noteDeparturesTo(before.voters(), next, index)
	return next, true
}

// noteDeparturesTo is noteDepartures for a change at index known to lead
// to next from a configuration whose voters are before.
func (r *raft) noteDeparturesTo(before jointVoters, next tracker.Config, index uint64) {
	l := r.leading
	votes := membershipOf(next)
	l.setDepartures(slices.DeleteFunc(l.departing(), func(d departure) bool { return votes.isVoter(d.id) }))
	stays := votes.isVoter(r.id)
	if stays && !r.cfg.asyncStorageWrites {
		return
	}
	// NB: in ID order, so that the departures (and what the leader logs of
	// them) come out the same for the same input.
	var buf [8]uint64
	for _, id := range before.appendIDs(buf[:0]) {
		if id != r.id && !votes.isVoter(id) {
			l.setDepartures(append(l.departing(), departure{id: id, index: index, after: next.Voters, stays: stays}))
		}
	}
}

// noteInheritedDepartures records the departures of the configuration
// changes a new leader finds in its log after the applied index: changes
// of earlier terms that it will commit.
func (r *raft) noteInheritedDepartures() {
	cfg := r.conf.config()
	err := r.log.forEachConfChange(r.log.applied()+1, r.log.lastIndex()+1, func(e *pb.Entry) bool {
		if cc, err := decodeConfChange(*e); err == nil {
			cfg, _ = r.noteDepartures(cfg, cc, e.Index)
		}
		return true
	})
	if err != nil {
		r.cfg.logger.Warningf("%x could not read its unapplied log for configuration changes: %v", r.id, err)
	}
}

// pendingConfig returns the configuration that a change appended at index
// applies to: the active one, after the changes between the applied index
// and index that are not applied yet. NB: with validation on, only one
// change is pending at a time, so that is the active configuration.
func (r *raft) pendingConfig(index uint64) tracker.Config {
	cfg := r.conf.config()
	if !r.cfg.disableConfChangeValidation {
		return cfg
	}
	err := r.log.forEachConfChange(r.log.applied()+1, index, func(e *pb.Entry) bool {
		if next, ok := r.nextConfig(cfg, e); ok {
			cfg = next
		}
		return true
	})
	if err != nil {
		r.cfg.logger.Warningf("%x could not read its unapplied log for configuration changes: %v", r.id, err)
	}
	return cfg
}

// settleDepartures moves the departures of a leader that does not stay
// along: it appends the marker once a change is known committed, and once
// a quorum of the new configuration has acknowledged it, lets the follower
// learn the commit index.
func (r *raft) settleDepartures() {
	l := r.leading
	commit := r.log.committed()
	needMarker := false
	ds := l.departing()
	for i := range ds {
		d := &ds[i]
		needMarker = needMarker || (!d.stays && d.marker == 0 && commit >= d.index)
	}
	if needMarker && r.appendOwn([]pb.Entry{{}}) {
		ds = l.departing()
		for i := range ds {
			if d := &ds[i]; !d.stays && d.marker == 0 && commit >= d.index {
				d.marker = r.log.lastIndex()
			}
		}
	}
	ds = l.departing()
	for i := range ds {
		d := &ds[i]
		if d.stays || d.settled || d.marker == 0 {
			continue
		}
		if uint64(d.after.CommittedIndex(matchIndexer{&l.repl})) >= d.marker {
			d.settled = true
			r.cfg.logger.Infof("%x tells %x its exit at %d is committed: the new configuration %s knows", r.id, d.id, d.index, d.after)
			l.repl.markDue(d.id, true, r.log.lastIndex(), commit)
		}
	}
}

// pruneDepartures forgets the departures that no longer matter once the
// configuration is switched: of followers that are no longer members (the
// leader sends them nothing) and settled ones.
func (r *raft) pruneDepartures() {
	l := r.leading
	l.setDepartures(slices.DeleteFunc(l.departing(), func(d departure) bool {
		return d.settled || !r.conf.isMember(d.id)
	}))
}
