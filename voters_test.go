package raft

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorate/raft/confchange"
	"github.com/quorate/raft/quorum"
	"github.com/quorate/raft/tracker"
)

// ackMap is a quorum.AckedIndexer over a map; an absent peer has not
// acknowledged anything.
type ackMap map[uint64]quorum.Index

func (m ackMap) AckedIndex(id uint64) (quorum.Index, bool) {
	idx, ok := m[id]
	return idx, ok
}

// randomMajority returns a random majority configuration of up to max
// voters drawn from IDs 1..2*max.
func randomMajority(rng *rand.Rand, max int) quorum.MajorityConfig {
	c := quorum.MajorityConfig{}
	for range rng.IntN(max + 1) {
		c[1+rng.Uint64N(uint64(2*max))] = struct{}{}
	}
	return c
}

func TestJointVotersAnswerAsQuorum(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 5000 {
		// NB: up to 11 voters in a half, past the 8 that majorityIndex
		// sorts its own way.
		var maps quorum.JointConfig
		maps[0] = randomMajority(rng, 11)
		if rng.IntN(2) == 0 {
			maps[1] = randomMajority(rng, 11)
		}
		acks, votes := ackMap{}, map[uint64]bool{}
		for id := uint64(1); id <= 22; id++ {
			if rng.IntN(4) > 0 {
				acks[id] = quorum.Index(rng.Uint64N(10))
			}
			if rng.IntN(3) > 0 {
				votes[id] = rng.IntN(2) == 0
			}
		}
		m := membershipOf(tracker.Config{Voters: maps})
		compact := m.voters()
		require.Equal(t, maps.CommittedIndex(acks), compact.CommittedIndex(acks),
			"case %d: committed index of %v with acks %v", i, maps, acks)
		require.Equal(t, maps.VoteResult(votes), compact.VoteResult(votes),
			"case %d: vote result of %v with votes %v", i, maps, votes)
		for id := uint64(0); id <= 23; id++ {
			_, in := maps[0][id]
			_, out := maps[1][id]
			require.Equal(t, in || out, compact.has(id), "case %d: has(%d) in %v", i, id, maps)
			sole := in && len(maps[0]) == 1 && len(maps[1]) == 0
			require.Equal(t, sole, m.isSoleVoter(id), "case %d: isSoleVoter(%d) in %v", i, id, maps)
		}
		require.Equal(t, quorum.MajorityConfig(maps.IDs()).Slice(), nilIfEmpty(compact.appendIDs(nil)), "case %d: voter IDs of %v", i, maps)
	}
}

func nilIfEmpty(ids []uint64) []uint64 {
	if len(ids) == 0 {
		return nil
	}
	return ids
}

// idSet returns a set of the given IDs, as tracker.Config holds them.
func idSet(ids ...uint64) map[uint64]struct{} {
	m := map[uint64]struct{}{}
	for _, id := range ids {
		m[id] = struct{}{}
	}
	return m
}

func TestMembershipKeepsTheConfiguration(t *testing.T) {
	set := idSet
	for _, tt := range []struct {
		name string
		cfg  tracker.Config
	}{
		{"simple", tracker.Config{Voters: quorum.JointConfig{set(3, 1, 2)}, Learners: set(5, 4)}},
		{"joint", tracker.Config{Voters: quorum.JointConfig{set(1, 2, 4), set(1, 2, 3)}, Learners: set(5),
			LearnersNext: set(3), AutoLeave: true}},
		{"empty", tracker.Config{Voters: quorum.JointConfig{quorum.MajorityConfig{}}}},
		{"empty maps kept apart from nil ones", tracker.Config{Voters: quorum.JointConfig{set(1), set()}, Learners: set()}},
		// NB: not a valid configuration; the membership keeps it as given,
		// and eachMember counts such a member as a voter.
		{"a learner that also votes", tracker.Config{Voters: quorum.JointConfig{set(1, 2), set(2, 3)}, Learners: set(1, 3, 6)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := membershipOf(tt.cfg)
			assert.Equal(t, tt.cfg, m.config(), "got the configuration back changed (nil and empty maps alike)")
			assert.Equal(t, confState(tt.cfg), confState(m.config()))
			assert.Equal(t, confState(tt.cfg), m.confState(), "confState from the sorted parts")
			assert.Equal(t, len(tt.cfg.Voters[1]) > 0, m.isJoint())
			var wantIDs []uint64
			wantLearner := map[uint64]bool{}
			for id := uint64(0); id <= 6; id++ {
				_, learner := tt.cfg.Learners[id]
				_, in := tt.cfg.Voters[0][id]
				_, out := tt.cfg.Voters[1][id]
				assert.Equal(t, in || out, m.isVoter(id), "isVoter(%d)", id)
				assert.Equal(t, in || out || learner, m.isMember(id), "isMember(%d)", id)
				if in || out || learner {
					wantIDs = append(wantIDs, id)
					wantLearner[id] = learner && !in && !out
				}
			}
			var gotIDs []uint64
			gotLearner := map[uint64]bool{}
			m.eachMember(func(id uint64, learner bool) {
				gotIDs = append(gotIDs, id)
				gotLearner[id] = learner
			})
			assert.Equal(t, wantIDs, gotIDs, "eachMember order: got %v, want every member once, in increasing order", gotIDs)
			assert.Equal(t, wantLearner, gotLearner, "eachMember learners: got %v, want %v", gotLearner, wantLearner)
		})
	}
	t.Run("the configuration handed out is the caller's to change", func(t *testing.T) {
		m := membershipOf(tracker.Config{Voters: quorum.JointConfig{set(1, 2, 3)}})
		got := m.config()
		delete(got.Voters[0], 1)
		assert.True(t, m.isVoter(1), "got a change to config()'s result seen by the membership")
	})
}

func TestPlaceholderProgress(t *testing.T) {
	set := idSet
	cfg := tracker.Config{Voters: quorum.JointConfig{set(1, 2, 4), set(1, 2, 3)}, Learners: set(5), LearnersNext: set(3)}
	prs := placeholderProgress(cfg, 10)
	t.Run("every member has one, learners marked", func(t *testing.T) {
		require.Len(t, prs, 5, "got progress for %v, want 1 to 5", prs)
		for id, pr := range prs {
			_, learner := cfg.Learners[id]
			assert.Equal(t, learner, pr.IsLearner, "progress of %d: got IsLearner %v, want %v", id, pr.IsLearner, learner)
			assert.Equal(t, uint64(10), pr.Next, "progress of %d: got Next %d, want 10", id, pr.Next)
		}
	})
	t.Run("a Changer accepts them and leaves them as they were", func(t *testing.T) {
		trk := tracker.MakeProgressTracker(8, 0)
		trk.Config, trk.Progress = cfg, prs
		_, _, err := confchange.Changer{Tracker: trk, LastIndex: 9}.LeaveJoint()
		require.NoError(t, err)
		assert.False(t, prs[1].IsLearner, "got the shared voter placeholder changed")
		assert.True(t, prs[5].IsLearner, "got the shared learner placeholder changed")
	})
}
