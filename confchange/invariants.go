package confchange

import (
	"errors"
	"fmt"

	"github.com/quorate/raft/tracker"
)

// checkInvariants returns an error describing the first way in which cfg and
// prs are not a consistent configuration, or nil. They are consistent when:
//
//   - prs has a non-nil Progress for exactly the voters (of either half) and
//     the learners;
//   - voters, including those staged in LearnersNext, are not marked
//     IsLearner, and learners are;
//   - Learners is disjoint from both halves of the voters;
//   - LearnersNext is a subset of the outgoing voters and disjoint from the
//     incoming voters (so it is empty unless the config is joint, and
//     disjoint from Learners, which is disjoint from the outgoing voters);
//   - AutoLeave is false unless the config is joint.
//
// When several ids break a rule, the smallest is reported, so the message
// does not depend on map iteration order.
func checkInvariants(cfg tracker.Config, prs tracker.ProgressMap) error {
	if consistent(cfg, prs) {
		// NB: the common case, checked in one pass per map; the rules are
		// gone through one by one only to say which id breaks which.
		return nil
	}
	return inconsistency(cfg, prs)
}

// consistent reports whether cfg and prs follow every rule of
// checkInvariants, without finding out which id breaks one.
func consistent(cfg tracker.Config, prs tracker.ProgressMap) bool {
	incoming, outgoing := cfg.Voters[0], cfg.Voters[1]
	// NB: one walk over prs, counting the members it has progress for:
	// since its keys are distinct, every voter and learner has a progress
	// exactly when the counts reach the sizes of their sets.
	var nIn, nOut, nLearners int
	for id, pr := range prs {
		_, in := incoming[id]
		_, out := outgoing[id]
		_, learner := cfg.Learners[id]
		switch {
		case pr == nil, learner && (in || out), pr.IsLearner != learner:
			return false
		case !in && !out && !learner:
			return false
		}
		nIn, nOut, nLearners = nIn+b2i(in), nOut+b2i(out), nLearners+b2i(learner)
	}
	if nIn != len(incoming) || nOut != len(outgoing) || nLearners != len(cfg.Learners) {
		return false
	}
	if len(cfg.LearnersNext) > 0 {
		// NB: the outgoing voters all have progress (above).
		for id := range cfg.LearnersNext {
			_, in := incoming[id]
			_, out := outgoing[id]
			if !out || in {
				return false
			}
		}
	}
	return !cfg.AutoLeave || len(outgoing) > 0
}

// b2i is 1 for true, 0 for false.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// inconsistency returns the error checkInvariants reports for cfg and prs,
// or nil if they are consistent.
func inconsistency(cfg tracker.Config, prs tracker.ProgressMap) error {
	incoming, outgoing := cfg.Voters[0], cfg.Voters[1]
	has := func(s map[uint64]struct{}, id uint64) bool { _, ok := s[id]; return ok }

	if id, ok := smallest(prs, func(id uint64, pr *tracker.Progress) bool { return pr == nil }); ok {
		return fmt.Errorf("node %d has a nil progress", id)
	}
	if id, ok := smallest(prs, func(id uint64, _ *tracker.Progress) bool {
		return !has(incoming, id) && !has(outgoing, id) && !has(cfg.Learners, id)
	}); ok {
		return fmt.Errorf("node %d has a progress but is neither voter nor learner", id)
	}
	for _, voters := range cfg.Voters {
		if err := checkVoters(voters, prs); err != nil {
			return err
		}
	}
	if err := checkLearners(cfg, prs); err != nil {
		return err
	}
	if err := checkLearnersNext(cfg, prs); err != nil {
		return err
	}
	if cfg.AutoLeave && len(outgoing) == 0 {
		return errors.New("AutoLeave is set but the config is not joint")
	}
	return nil
}

// checkVoters checks that every voter in one half of the voters has a
// progress that is not marked as a learner.
func checkVoters(voters map[uint64]struct{}, prs tracker.ProgressMap) error {
	if id, ok := smallest(voters, func(id uint64, _ struct{}) bool { return prs[id] == nil }); ok {
		return fmt.Errorf("node %d is a voter but has no progress", id)
	}
	if id, ok := smallest(voters, func(id uint64, _ struct{}) bool { return prs[id].IsLearner }); ok {
		return fmt.Errorf("node %d is a voter but its progress is marked as a learner", id)
	}
	return nil
}

// checkLearners checks the rules for cfg.Learners.
func checkLearners(cfg tracker.Config, prs tracker.ProgressMap) error {
	incoming, outgoing := cfg.Voters[0], cfg.Voters[1]
	if id, ok := smallest(cfg.Learners, func(id uint64, _ struct{}) bool { return prs[id] == nil }); ok {
		return fmt.Errorf("node %d is a learner but has no progress", id)
	}
	if id, ok := smallest(cfg.Learners, func(id uint64, _ struct{}) bool { _, in := incoming[id]; return in }); ok {
		return fmt.Errorf("node %d is both a learner and an incoming voter", id)
	}
	if id, ok := smallest(cfg.Learners, func(id uint64, _ struct{}) bool { _, in := outgoing[id]; return in }); ok {
		return fmt.Errorf("node %d is both a learner and an outgoing voter", id)
	}
	if id, ok := smallest(cfg.Learners, func(id uint64, _ struct{}) bool { return !prs[id].IsLearner }); ok {
		return fmt.Errorf("node %d is a learner but its progress is not marked as a learner", id)
	}
	return nil
}

// checkLearnersNext checks the rules for cfg.LearnersNext.
func checkLearnersNext(cfg tracker.Config, prs tracker.ProgressMap) error {
	incoming, outgoing := cfg.Voters[0], cfg.Voters[1]
	next := cfg.LearnersNext
	if id, ok := smallest(next, func(id uint64, _ struct{}) bool { return prs[id] == nil }); ok {
		return fmt.Errorf("node %d is in LearnersNext but has no progress", id)
	}
	if id, ok := smallest(next, func(id uint64, _ struct{}) bool { _, in := outgoing[id]; return !in }); ok {
		return fmt.Errorf("node %d is in LearnersNext but is not an outgoing voter", id)
	}
	if id, ok := smallest(next, func(id uint64, _ struct{}) bool { _, in := incoming[id]; return in }); ok {
		return fmt.Errorf("node %d is both in LearnersNext and an incoming voter", id)
	}
	return nil
}

// smallest returns the smallest key of m for which bad returns true, and
// whether there is one.
func smallest[V any](m map[uint64]V, bad func(uint64, V) bool) (uint64, bool) {
	var found bool
	var least uint64
	for id, v := range m {
		if (!found || id < least) && bad(id, v) {
			found, least = true, id
		}
	}
	return least, found
}
