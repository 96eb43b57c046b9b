package confchange

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// nodeRole is the part a node plays in a generated ConfState.
type nodeRole int

const (
	incomingOnly nodeRole = iota
	outgoingOnly
	bothHalves
	plainLearner
	nextLearner // an outgoing voter staged in LearnersNext
	numRoles
)

// randomConfState returns a valid ConfState on up to maxNodes nodes, with
// ids drawn from 1..2*maxNodes and each field listed in random order. Half of
// the states are joint; those can have LearnersNext and AutoLeave.
func randomConfState(rng *rand.Rand, maxNodes int) raftpb.ConfState {
	ids := rng.Perm(2 * maxNodes)[:1+rng.IntN(maxNodes)]
	joint := rng.IntN(2) == 0
	for {
		var cs raftpb.ConfState
		for _, i := range ids {
			id := uint64(i + 1)
			role := plainLearner
			if joint {
				role = nodeRole(rng.IntN(int(numRoles)))
			} else if rng.IntN(3) > 0 {
				role = incomingOnly
			}
			switch role {
			case incomingOnly:
				cs.Voters = append(cs.Voters, id)
			case outgoingOnly:
				cs.VotersOutgoing = append(cs.VotersOutgoing, id)
			case bothHalves:
				cs.Voters = append(cs.Voters, id)
				cs.VotersOutgoing = append(cs.VotersOutgoing, id)
			case plainLearner:
				cs.Learners = append(cs.Learners, id)
			case nextLearner:
				cs.VotersOutgoing = append(cs.VotersOutgoing, id)
				cs.LearnersNext = append(cs.LearnersNext, id)
			}
		}
		// Every configuration has incoming voters, and a joint one has
		// outgoing voters too; draw again until that holds.
		if len(cs.Voters) == 0 || joint != (len(cs.VotersOutgoing) > 0) {
			continue
		}
		cs.AutoLeave = joint && rng.IntN(2) == 0
		return cs
	}
}

// TestRestoreReproducesConfState checks that restoring any valid ConfState
// yields a configuration whose ConfState is the one restored, with a fresh
// progress for every node and consistent with checkInvariants.
func TestRestoreReproducesConfState(t *testing.T) {
	rng := rand.New(rand.NewPCG(0x5eed, 42))
	cases := []raftpb.ConfState{{}} // the empty ConfState of a new node
	for range 300 {
		cases = append(cases, randomConfState(rng, 7))
	}
	for i, cs := range cases {
		t.Run(fmt.Sprintf("%03d %s", i, describeConfState(cs)), func(t *testing.T) {
			chg := Changer{Tracker: tracker.MakeProgressTracker(4, 512), LastIndex: 20}
			cfg, prs, err := Restore(chg, cs)
			require.NoError(t, err)
			require.NoError(t, checkInvariants(cfg, prs))

			trk := tracker.MakeProgressTracker(4, 512)
			trk.Config, trk.Progress = cfg, prs
			got := trk.ConfState()
			require.NoError(t, cs.Equivalent(got))

			for id, pr := range prs {
				// NB: nodes in LearnersNext still vote, so they are not
				// marked as learners yet.
				want := tracker.Progress{
					Next: 20, RecentActive: true, Inflights: tracker.NewInflights(4, 512),
					IsLearner: slices.Contains(cs.Learners, id),
				}
				require.Equal(t, want, *pr, "progress of node %d", id)
			}
		})
	}
}

// TestRestoreErrors checks the errors of Restore that the datadriven file
// restore.txt does not show.
func TestRestoreErrors(t *testing.T) {
	t.Run("progress left in an otherwise empty tracker", func(t *testing.T) {
		chg := Changer{Tracker: tracker.MakeProgressTracker(4, 0)}
		chg.Tracker.Progress = tracker.ProgressMap{3: {Next: 1}}
		before := takeSnapshot(chg.Tracker)
		cfg, prs, err := Restore(chg, raftpb.ConfState{Voters: []uint64{1}})
		require.ErrorContains(t, err, "can't restore into a non-empty config")
		require.ErrorContains(t, err, "with 1 progress entries")
		require.Equal(t, tracker.Config{}, cfg)
		require.Nil(t, prs)
		requireUnchanged(t, before, chg.Tracker)
	})
	t.Run("duplicate ids are harmless", func(t *testing.T) {
		cs := raftpb.ConfState{Voters: []uint64{1, 2, 1}, Learners: []uint64{3, 3}}
		cfg, prs, err := Restore(Changer{Tracker: tracker.MakeProgressTracker(4, 0)}, cs)
		require.NoError(t, err)
		trk := tracker.MakeProgressTracker(4, 0)
		trk.Config, trk.Progress = cfg, prs
		want := raftpb.ConfState{Voters: []uint64{1, 2}, Learners: []uint64{3}}
		got := trk.ConfState()
		require.NoError(t, want.Equivalent(got))
	})
}
