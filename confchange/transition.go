package confchange

import (
	"fmt"

	"github.com/quorate/raft/quorum"
	"github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// transition is the working state of one Changer operation: a private copy of
// the configuration and progress map that the operation edits in place.
//
// Invariant: cfg shares no map with the Changer's Config, and cfg.Voters[0]
// is non-nil.
// Invariant: prs is a distinct map from orig. A Progress in prs that is the
// same pointer as orig's entry for that id is shared with the caller and is
// only read; writableProgress copies it before anything changes it.
type transition struct {
	cfg  tracker.Config
	prs  tracker.ProgressMap
	orig tracker.ProgressMap

	// start is the Changer's configuration, which the transition started
	// from; it is only read, for error messages.
	start tracker.Config

	// nextIndex is the Next of the progress given to added nodes.
	nextIndex        uint64
	maxInflight      int
	maxInflightBytes uint64
}

// newTransition copies the Changer's configuration and progress map.
func newTransition(c Changer) *transition {
	cfg := c.Tracker.Config.Clone()
	if cfg.Voters[0] == nil {
		cfg.Voters[0] = quorum.MajorityConfig{}
	}
	prs := make(tracker.ProgressMap, len(c.Tracker.Progress)+1)
	for id, pr := range c.Tracker.Progress {
		prs[id] = pr
	}
	return &transition{
		cfg:              cfg,
		prs:              prs,
		orig:             c.Tracker.Progress,
		start:            c.Tracker.Config,
		nextIndex:        max(c.LastIndex, 1),
		maxInflight:      c.Tracker.MaxInflight,
		maxInflightBytes: c.Tracker.MaxInflightBytes,
	}
}

// incoming returns the incoming half of the voters; it is never nil.
func (t *transition) incoming() quorum.MajorityConfig { return t.cfg.Voters[0] }

// outgoing returns the outgoing half of the voters; it is empty unless the
// configuration is joint.
func (t *transition) outgoing() quorum.MajorityConfig { return t.cfg.Voters[1] }

// joint reports whether the configuration is joint.
func (t *transition) joint() bool { return len(t.outgoing()) > 0 }

// apply applies ccs in order to the incoming configuration. It returns an
// error for a change of unknown type and if the incoming configuration ends
// up without voters.
func (t *transition) apply(ccs []raftpb.ConfChangeSingle) error {
	for _, cc := range ccs {
		if err := t.applyOne(cc); err != nil {
			return err
		}
	}
	if len(t.incoming()) == 0 {
		return fmt.Errorf("no voter of %s would remain", t.start.Voters[0])
	}
	return nil
}

// applyOne applies one change to the incoming configuration.
//
// A change for node ID 0 is skipped: 0 is never a valid node ID (it is
// raft.None), and a zero ConfChange is what a conf change proposal that was
// dropped decodes to.
func (t *transition) applyOne(cc raftpb.ConfChangeSingle) error {
	switch {
	case cc.NodeID == 0:
	case cc.Type == raftpb.ConfChangeAddNode:
		t.makeVoter(cc.NodeID)
	case cc.Type == raftpb.ConfChangeAddLearnerNode:
		t.makeLearner(cc.NodeID)
	case cc.Type == raftpb.ConfChangeRemoveNode:
		t.remove(cc.NodeID)
	case cc.Type == raftpb.ConfChangeUpdateNode:
		// Membership is unaffected; the application acts on the change's
		// context.
	default:
		return fmt.Errorf("node %d has unknown conf change type %d", cc.NodeID, cc.Type)
	}
	return nil
}

// makeVoter makes id a voter of the incoming configuration, adding it if it
// is unknown and promoting it if it is a learner or staged in LearnersNext.
func (t *transition) makeVoter(id uint64) {
	pr := t.prs[id]
	if pr == nil {
		t.addProgress(id, false)
		t.incoming()[id] = struct{}{}
		return
	}
	if pr.IsLearner {
		t.writableProgress(id).IsLearner = false
	}
	delete(t.cfg.Learners, id)
	delete(t.cfg.LearnersNext, id)
	t.incoming()[id] = struct{}{}
}

// makeLearner makes id a learner, adding it if it is unknown and demoting it
// if it is a voter.
//
// NB: a voter of the outgoing configuration keeps its vote there until the
// joint configuration is left, so it cannot become a learner yet; it is
// staged in LearnersNext, and LeaveJoint completes the demotion.
func (t *transition) makeLearner(id uint64) {
	pr := t.prs[id]
	if pr == nil {
		t.addProgress(id, true)
		t.cfg.Learners = addID(t.cfg.Learners, id)
		return
	}
	if pr.IsLearner {
		return
	}
	delete(t.incoming(), id)
	if _, ok := t.outgoing()[id]; ok {
		t.cfg.LearnersNext = addID(t.cfg.LearnersNext, id)
		return
	}
	t.writableProgress(id).IsLearner = true
	t.cfg.Learners = addID(t.cfg.Learners, id)
}

// remove removes id from the incoming configuration and the learners. Its
// progress is kept while it is still a voter of the outgoing configuration,
// since that configuration's quorum still counts it.
func (t *transition) remove(id uint64) {
	if t.prs[id] == nil {
		return
	}
	delete(t.incoming(), id)
	delete(t.cfg.Learners, id)
	delete(t.cfg.LearnersNext, id)
	if _, ok := t.outgoing()[id]; !ok {
		delete(t.prs, id)
	}
}

// completeDemotions makes learners of the voters staged in LearnersNext, as
// leaving the joint configuration ends their vote in the outgoing half.
func (t *transition) completeDemotions() {
	for id := range t.cfg.LearnersNext {
		t.cfg.Learners = addID(t.cfg.Learners, id)
		t.writableProgress(id).IsLearner = true
	}
	t.cfg.LearnersNext = nil
}

// dropOutgoing drops the outgoing half of a joint configuration, with the
// progress of the nodes that were only in it, and clears AutoLeave, which
// only has a meaning in a joint configuration. Demotions must be completed
// first, so that a demoted voter keeps its progress as a learner.
func (t *transition) dropOutgoing() {
	for id := range t.outgoing() {
		_, voter := t.incoming()[id]
		_, learner := t.cfg.Learners[id]
		if !voter && !learner {
			delete(t.prs, id)
		}
	}
	t.cfg.Voters[1] = nil
	t.cfg.AutoLeave = false
}

// addProgress gives a newly added node a progress that probes it from the end
// of the log.
//
// NB: the node counts as recently active, or a leader running CheckQuorum
// could step down right after adding nodes it has not heard from yet.
func (t *transition) addProgress(id uint64, isLearner bool) {
	t.prs[id] = &tracker.Progress{
		Match:        0,
		Next:         t.nextIndex,
		Inflights:    tracker.NewInflights(t.maxInflight, t.maxInflightBytes),
		IsLearner:    isLearner,
		RecentActive: true,
	}
}

// writableProgress returns id's progress in t.prs, first replacing it with a
// copy if it is still shared with the caller's map. id must have a progress.
//
// NB: the copy is shallow: it shares Inflights with the caller's Progress.
// Transitions only ever change IsLearner.
func (t *transition) writableProgress(id uint64) *tracker.Progress {
	pr := t.prs[id]
	if pr == t.orig[id] {
		cp := *pr
		pr = &cp
		t.prs[id] = pr
	}
	return pr
}

// normalize replaces empty sets in the configuration by nil, so that equal
// configurations are also reflect.DeepEqual and the outgoing half of a
// non-joint configuration is always nil.
func (t *transition) normalize() {
	if len(t.cfg.Voters[1]) == 0 {
		t.cfg.Voters[1] = nil
	}
	if len(t.cfg.Learners) == 0 {
		t.cfg.Learners = nil
	}
	if len(t.cfg.LearnersNext) == 0 {
		t.cfg.LearnersNext = nil
	}
}

// addID adds id to the set s, allocating s if it is nil, and returns s.
func addID(s map[uint64]struct{}, id uint64) map[uint64]struct{} {
	if s == nil {
		s = map[uint64]struct{}{}
	}
	s[id] = struct{}{}
	return s
}
