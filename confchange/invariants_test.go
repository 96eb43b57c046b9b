package confchange

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quorate/raft/quorum"
	"github.com/quorate/raft/tracker"
)

// randomConsistent returns a consistent configuration of ids 1..6 (joint or
// not) with its progress map.
func randomConsistent(rng *rand.Rand) (tracker.Config, tracker.ProgressMap) {
	cfg := tracker.Config{Voters: quorum.JointConfig{quorum.MajorityConfig{}, nil}}
	prs := tracker.ProgressMap{}
	joint := rng.IntN(2) == 0
	if joint {
		cfg.Voters[1] = quorum.MajorityConfig{}
		cfg.AutoLeave = rng.IntN(2) == 0
	}
	for id := uint64(1); id <= 6; id++ {
		switch rng.IntN(5) {
		case 0: // not a member
		case 1: // incoming voter, maybe outgoing too
			cfg.Voters[0][id] = struct{}{}
			if joint && rng.IntN(2) == 0 {
				cfg.Voters[1][id] = struct{}{}
			}
			prs[id] = &tracker.Progress{}
		case 2: // outgoing voter only, maybe becoming a learner
			if !joint {
				continue
			}
			cfg.Voters[1][id] = struct{}{}
			if rng.IntN(2) == 0 {
				if cfg.LearnersNext == nil {
					cfg.LearnersNext = map[uint64]struct{}{}
				}
				cfg.LearnersNext[id] = struct{}{}
			}
			prs[id] = &tracker.Progress{}
		default: // learner
			if cfg.Learners == nil {
				cfg.Learners = map[uint64]struct{}{}
			}
			cfg.Learners[id] = struct{}{}
			prs[id] = &tracker.Progress{IsLearner: true}
		}
	}
	return cfg, prs
}

// perturb changes cfg or prs in one random way, which may or may not break
// a rule.
func perturb(rng *rand.Rand, cfg *tracker.Config, prs tracker.ProgressMap) {
	id := rng.Uint64N(7) + 1
	set := func(m *map[uint64]struct{}) {
		if *m == nil {
			*m = map[uint64]struct{}{}
		}
		(*m)[id] = struct{}{}
	}
	switch rng.IntN(9) {
	case 0:
		prs[id] = nil
	case 1:
		prs[id] = &tracker.Progress{IsLearner: rng.IntN(2) == 0}
	case 2:
		delete(prs, id)
	case 3:
		set((*map[uint64]struct{})(&cfg.Voters[0]))
	case 4:
		set((*map[uint64]struct{})(&cfg.Voters[1]))
	case 5:
		set(&cfg.Learners)
	case 6:
		set(&cfg.LearnersNext)
	case 7:
		cfg.AutoLeave = !cfg.AutoLeave
	default:
		if pr := prs[id]; pr != nil {
			pr.IsLearner = !pr.IsLearner
		}
	}
}

// TestConsistentAgreesWithTheRules holds the one-pass check of
// checkInvariants against its rule-by-rule form over random
// configurations, consistent ones and ones changed in a few random ways.
func TestConsistentAgreesWithTheRules(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var ok, broken int
	for i := range 20000 {
		cfg, prs := randomConsistent(rng)
		for range rng.IntN(3) {
			perturb(rng, &cfg, prs)
		}
		err := inconsistency(cfg, prs)
		require.Equal(t, err == nil, consistent(cfg, prs), "case %d: consistent(%v, %v) disagrees with %v", i, cfg, prs, err)
		require.Equal(t, err, checkInvariants(cfg, prs), "case %d: checkInvariants", i)
		if err == nil {
			ok++
		} else {
			broken++
		}
	}
	require.Greater(t, ok, 5000, "got %d consistent cases, want many", ok)
	require.Greater(t, broken, 5000, "got %d inconsistent cases, want many", broken)
}
