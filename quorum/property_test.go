package quorum

import (
	"math"
	"math/rand/v2"
	"testing"
)

// propertyIDSpace bounds the voter IDs of random configurations. It is
// larger than maxStackVoters so that both CommittedIndex code paths run.
const propertyIDSpace = 40

// randomConfig returns a MajorityConfig of random size (possibly empty) over
// IDs 1..propertyIDSpace.
func randomConfig(rng *rand.Rand) MajorityConfig {
	c := MajorityConfig{}
	n := rng.IntN(propertyIDSpace + 1)
	for _, id := range rng.Perm(propertyIDSpace)[:n] {
		c[uint64(id)+1] = struct{}{}
	}
	return c
}

// randomJointConfig returns a random JointConfig whose outgoing half is
// empty a third of the time, as it is outside of membership changes.
func randomJointConfig(rng *rand.Rand) JointConfig {
	cfg := JointConfig{randomConfig(rng)}
	if rng.IntN(3) > 0 {
		cfg[1] = randomConfig(rng)
	}
	return cfg
}

// randomAcks acknowledges a random index for about three quarters of the IDs
// (including a few outside any configuration). Indexes come from a narrow
// range so that ties are common, with the occasional extreme value.
func randomAcks(rng *rand.Rand) mapAckIndexer {
	l := mapAckIndexer{}
	for id := uint64(1); id <= propertyIDSpace+2; id++ {
		switch r := rng.IntN(20); {
		case r < 5:
		case r == 5:
			l[id] = math.MaxUint64
		default:
			l[id] = Index(rng.IntN(12))
		}
	}
	return l
}

// randomVotes gives each ID (including a few outside any configuration) a
// yes, a no or no vote at all, with a bias towards one of them that changes
// from call to call so that every VoteResult shows up often.
func randomVotes(rng *rand.Rand) map[uint64]bool {
	votes := map[uint64]bool{}
	pYes, pNo := rng.Float64(), rng.Float64()
	for id := uint64(1); id <= propertyIDSpace+2; id++ {
		if rng.Float64() < pYes {
			votes[id] = true
		} else if rng.Float64() < pNo {
			votes[id] = false
		}
	}
	return votes
}

func TestCommittedIndexMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		cfg, l := randomJointConfig(rng), randomAcks(rng)
		for h, half := range cfg {
			if got, want := half.CommittedIndex(l), naiveCommitted(half, l); got != want {
				t.Fatalf("case %d: half %d %v with acks %v: got %v, want %v", i, h, half, l, got, want)
			}
		}
		if got, want := cfg.CommittedIndex(l), naiveJointCommitted(cfg, l); got != want {
			t.Fatalf("case %d: %v with acks %v: got %v, want %v", i, cfg, l, got, want)
		}
	}
}

func TestVoteResultMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	seen := map[VoteResult]int{}
	for i := 0; i < 2000; i++ {
		cfg, votes := randomJointConfig(rng), randomVotes(rng)
		for h, half := range cfg {
			if got, want := half.VoteResult(votes), naiveVote(JointConfig{half}, votes); got != want {
				t.Fatalf("case %d: half %d %v with votes %v: got %v, want %v", i, h, half, votes, got, want)
			}
		}
		got, want := cfg.VoteResult(votes), naiveVote(cfg, votes)
		if got != want {
			t.Fatalf("case %d: %v with votes %v: got %v, want %v", i, cfg, votes, got, want)
		}
		seen[got]++
	}
	// Guard against a generator that never exercises some outcome.
	for _, r := range []VoteResult{VotePending, VoteLost, VoteWon} {
		if seen[r] < 100 {
			t.Errorf("%v occurred %d times in 2000 cases, want at least 100", r, seen[r])
		}
	}
}
