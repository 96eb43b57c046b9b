package confchange

import (
	"fmt"

	"github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// Restore builds the configuration described by cs, typically taken from a
// snapshot or from storage at startup, together with a progress map holding a
// fresh Progress (as for an added node) for each of its nodes.
//
// chg must represent an empty configuration: no voters, no learners and no
// progress; its MaxInflight, MaxInflightBytes and LastIndex shape the new
// Progress entries. The configuration is reached through the same checked
// transitions a live group would take: for a non-joint cs, one Simple change
// per voter and then per learner; for a joint cs, Simple changes adding the
// outgoing voters one by one, then a single EnterJoint(cs.AutoLeave, ...)
// that replaces them by the incoming voters and adds the learners and
// LearnersNext. An empty cs yields chg's empty configuration unchanged.
//
// It returns an error if chg is not empty, if cs is not a valid configuration
// (a node ID 0; a node in two roles; learners, LearnersNext or AutoLeave
// without voters; LearnersNext that are not outgoing-only voters; AutoLeave or
// LearnersNext in a non-joint cs), or if any step fails.
func Restore(chg Changer, cs raftpb.ConfState) (tracker.Config, tracker.ProgressMap, error) {
	if err := checkEmpty(chg.Tracker); err != nil {
		return chg.fail(err)
	}
	if err := validateConfState(cs); err != nil {
		return chg.fail(err)
	}
	// install makes the result of one step the starting point of the next.
	install := func(cfg tracker.Config, prs tracker.ProgressMap, err error) error {
		if err != nil {
			return fmt.Errorf("restoring %s: %w", describeConfState(cs), err)
		}
		chg.Tracker.Config, chg.Tracker.Progress = cfg, prs
		return nil
	}
	single := func(typ raftpb.ConfChangeType, id uint64) raftpb.ConfChangeSingle {
		return raftpb.ConfChangeSingle{Type: typ, NodeID: id}
	}

	if len(cs.VotersOutgoing) == 0 {
		for _, id := range cs.Voters {
			if err := install(chg.Simple(single(raftpb.ConfChangeAddNode, id))); err != nil {
				return chg.fail(err)
			}
		}
		for _, id := range cs.Learners {
			if err := install(chg.Simple(single(raftpb.ConfChangeAddLearnerNode, id))); err != nil {
				return chg.fail(err)
			}
		}
		return chg.Tracker.Config, chg.Tracker.Progress, nil
	}

	for _, id := range cs.VotersOutgoing {
		if err := install(chg.Simple(single(raftpb.ConfChangeAddNode, id))); err != nil {
			return chg.fail(err)
		}
	}
	if err := install(chg.EnterJoint(cs.AutoLeave, jointChanges(cs)...)); err != nil {
		return chg.fail(err)
	}
	return chg.Tracker.Config, chg.Tracker.Progress, nil
}

// jointChanges returns the changes that turn a configuration whose voters are
// cs.VotersOutgoing into the incoming half of the joint configuration cs,
// with its learners and LearnersNext.
//
// NB: EnterJoint starts the incoming half as a copy of the outgoing one, so
// the outgoing voters are removed from it before the incoming voters are
// added. Removing them keeps their progress (they are still outgoing voters),
// and AddLearnerNode then stages the LearnersNext among them.
func jointChanges(cs raftpb.ConfState) []raftpb.ConfChangeSingle {
	ccs := make([]raftpb.ConfChangeSingle, 0,
		len(cs.VotersOutgoing)+len(cs.Voters)+len(cs.Learners)+len(cs.LearnersNext))
	add := func(typ raftpb.ConfChangeType, ids []uint64) {
		for _, id := range ids {
			ccs = append(ccs, raftpb.ConfChangeSingle{Type: typ, NodeID: id})
		}
	}
	add(raftpb.ConfChangeRemoveNode, cs.VotersOutgoing)
	add(raftpb.ConfChangeAddNode, cs.Voters)
	add(raftpb.ConfChangeAddLearnerNode, cs.Learners)
	add(raftpb.ConfChangeAddLearnerNode, cs.LearnersNext)
	return ccs
}

// checkEmpty returns an error unless trk has no voters, learners or progress.
func checkEmpty(trk tracker.ProgressTracker) error {
	cfg := trk.Config
	if len(cfg.Voters[0])+len(cfg.Voters[1])+len(cfg.Learners)+len(cfg.LearnersNext)+len(trk.Progress) > 0 {
		return fmt.Errorf("can't restore into a non-empty config %s with %d progress entries",
			cfg.String(), len(trk.Progress))
	}
	return nil
}

// validateConfState returns an error if cs does not describe a configuration
// that checkInvariants would accept. A node listed twice in the same field is
// harmless and allowed. Errors name the first offending node in field order.
func validateConfState(cs raftpb.ConfState) error {
	joint := len(cs.VotersOutgoing) > 0
	if !joint && (len(cs.LearnersNext) > 0 || cs.AutoLeave) {
		return fmt.Errorf("ConfState %s has LearnersNext or AutoLeave but no outgoing voters", describeConfState(cs))
	}
	if len(cs.Voters) == 0 && (joint || len(cs.Learners) > 0) {
		return fmt.Errorf("ConfState %s has no voters", describeConfState(cs))
	}
	voters, outgoing := idSet(cs.Voters), idSet(cs.VotersOutgoing)
	learners, learnersNext := idSet(cs.Learners), idSet(cs.LearnersNext)
	for _, f := range []struct {
		name string
		ids  map[uint64]struct{}
	}{{"Voters", voters}, {"VotersOutgoing", outgoing}, {"Learners", learners}, {"LearnersNext", learnersNext}} {
		if _, ok := f.ids[0]; ok {
			return fmt.Errorf("ConfState %s lists node ID 0 in %s", describeConfState(cs), f.name)
		}
	}
	for _, id := range cs.Learners {
		_, isVoter := voters[id]
		_, isOutgoing := outgoing[id]
		if isVoter || isOutgoing {
			return fmt.Errorf("ConfState %s lists node %d as both learner and voter", describeConfState(cs), id)
		}
	}
	// NB: LearnersNext is then disjoint from Learners too, since Learners is
	// disjoint from VotersOutgoing.
	for _, id := range cs.LearnersNext {
		if _, ok := outgoing[id]; !ok {
			return fmt.Errorf("ConfState %s lists node %d in LearnersNext but not in VotersOutgoing", describeConfState(cs), id)
		}
		if _, ok := voters[id]; ok {
			return fmt.Errorf("ConfState %s lists node %d both in LearnersNext and in Voters", describeConfState(cs), id)
		}
	}
	return nil
}

// idSet returns the set of ids in s.
func idSet(s []uint64) map[uint64]struct{} {
	set := make(map[uint64]struct{}, len(s))
	for _, id := range s {
		set[id] = struct{}{}
	}
	return set
}

// describeConfState formats cs for error messages.
func describeConfState(cs raftpb.ConfState) string {
	return fmt.Sprintf("{voters=%v voters_outgoing=%v learners=%v learners_next=%v autoleave=%t}",
		cs.Voters, cs.VotersOutgoing, cs.Learners, cs.LearnersNext, cs.AutoLeave)
}
