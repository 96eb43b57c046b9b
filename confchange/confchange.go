package confchange

import (
	"fmt"
	"maps"

	"github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// Changer computes configuration transitions starting from the configuration
// and progress map in Tracker.
//
// Its methods read Tracker but never modify it, nor any Progress it points
// to: each returns a new tracker.Config and tracker.ProgressMap which the
// caller installs (typically into the same ProgressTracker) once the change
// is to take effect. Progress entries that a transition leaves unchanged are
// shared between the input and the returned map.
//
// Each method first checks that Tracker holds a consistent configuration
// (every voter and learner has a Progress with the matching IsLearner, the
// sets do not overlap, LearnersNext only holds outgoing voters, AutoLeave only
// in a joint config) and returns an error if it does not. On error the
// returned Config is the zero value and the ProgressMap is nil.
type Changer struct {
	// Tracker holds the configuration and progress map to start from. Its
	// MaxInflight and MaxInflightBytes size the Inflights of nodes that a
	// change adds.
	Tracker tracker.ProgressTracker
	// LastIndex is the index of the last entry in the local log. A node that
	// a change adds starts with Next = max(LastIndex, 1), so the leader
	// probes it from the end of its log.
	LastIndex uint64
}

// EnterJoint applies ccs to the incoming half of a joint configuration whose
// outgoing half is a copy of the current voters (thesis 4.3). autoLeave is
// recorded in Config.AutoLeave and tells the leader to propose the transition
// out of the joint configuration by itself once this one is committed.
//
// It returns an error if the current configuration is already joint, if it
// has no voters, if a change has an unknown type, or if the changes leave the
// incoming configuration without voters.
func (c Changer) EnterJoint(autoLeave bool, ccs ...raftpb.ConfChangeSingle) (tracker.Config, tracker.ProgressMap, error) {
	t, err := c.begin()
	if err != nil {
		return c.fail(err)
	}
	if t.joint() {
		return c.fail(fmt.Errorf("entering joint config refused: the config is already joint (%s)", c.Tracker.Config))
	}
	if len(t.incoming()) == 0 {
		// NB: a joint configuration with an empty outgoing half would be
		// indistinguishable from a non-joint one, so it could never be left.
		return c.fail(fmt.Errorf("entering joint config refused: the config has no voters (%s)", c.Tracker.Config))
	}
	t.cfg.Voters[1] = maps.Clone(t.incoming())
	if err := t.apply(ccs); err != nil {
		return c.fail(fmt.Errorf("entering joint config refused: %w", err))
	}
	t.cfg.AutoLeave = autoLeave
	return c.finish(t)
}

// LeaveJoint transitions out of a joint configuration: the outgoing voters
// are dropped, the nodes staged in LearnersNext become learners, and the
// progress of nodes that are in neither remaining set is removed. AutoLeave is
// cleared.
//
// It returns an error if the current configuration is not joint.
func (c Changer) LeaveJoint() (tracker.Config, tracker.ProgressMap, error) {
	t, err := c.begin()
	if err != nil {
		return c.fail(err)
	}
	if !t.joint() {
		return c.fail(fmt.Errorf("leaving joint config refused: the config is not joint (%s)", c.Tracker.Config))
	}
	t.completeDemotions()
	t.dropOutgoing()
	return c.finish(t)
}

// Simple applies ccs to a non-joint configuration directly, which is safe
// only if the set of voters changes by at most one node (thesis 4.1): any
// number of learners may be added, removed, promoted or demoted alongside.
//
// It returns an error if the current configuration is joint, if a change has
// an unknown type, if the changes leave no voters, or if more than one voter
// would be added or removed.
func (c Changer) Simple(ccs ...raftpb.ConfChangeSingle) (tracker.Config, tracker.ProgressMap, error) {
	t, err := c.begin()
	if err != nil {
		return c.fail(err)
	}
	if t.joint() {
		return c.fail(fmt.Errorf("simple change refused: the config is joint (%s)", c.Tracker.Config))
	}
	if err := t.apply(ccs); err != nil {
		return c.fail(fmt.Errorf("simple change refused: %w", err))
	}
	if n := symmetricDifference(c.Tracker.Voters[0], t.incoming()); n > 1 {
		return c.fail(fmt.Errorf("simple change refused: it changes %d voters, %s to %s, and more than one needs a joint config",
			n, c.Tracker.Voters[0], t.incoming()))
	}
	return c.finish(t)
}

// begin validates the Changer's configuration and returns a transition that
// works on copies of it.
func (c Changer) begin() (*transition, error) {
	if err := checkInvariants(c.Tracker.Config, c.Tracker.Progress); err != nil {
		return nil, fmt.Errorf("invalid config before change: %w", err)
	}
	return newTransition(c), nil
}

// finish checks the result of a transition and hands it out.
func (c Changer) finish(t *transition) (tracker.Config, tracker.ProgressMap, error) {
	t.normalize()
	if err := checkInvariants(t.cfg, t.prs); err != nil {
		// The checks on the input and on each operation should make this
		// impossible; report it rather than hand out a broken config.
		return c.fail(fmt.Errorf("config change would break an invariant: %w", err))
	}
	return t.cfg, t.prs, nil
}

// fail returns err together with the zero results.
func (Changer) fail(err error) (tracker.Config, tracker.ProgressMap, error) {
	return tracker.Config{}, nil, err
}

// symmetricDifference returns the number of ids in exactly one of a and b.
func symmetricDifference(a, b map[uint64]struct{}) int {
	n := 0
	for id := range a {
		if _, ok := b[id]; !ok {
			n++
		}
	}
	for id := range b {
		if _, ok := a[id]; !ok {
			n++
		}
	}
	return n
}
