package confchange

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// randomChanges returns up to four changes of random types on node IDs
// 0..8, so that they hit existing voters, learners and unknown nodes alike,
// and now and then node 0 or a type that does not exist.
func randomChanges(rng *rand.Rand) []raftpb.ConfChangeSingle {
	types := []raftpb.ConfChangeType{
		raftpb.ConfChangeAddNode, raftpb.ConfChangeAddLearnerNode,
		raftpb.ConfChangeRemoveNode, raftpb.ConfChangeUpdateNode,
	}
	ccs := make([]raftpb.ConfChangeSingle, rng.IntN(5))
	for i := range ccs {
		ccs[i] = raftpb.ConfChangeSingle{Type: types[rng.IntN(len(types))], NodeID: rng.Uint64N(9)}
		if rng.IntN(40) == 0 {
			ccs[i].Type = 9
		}
	}
	return ccs
}

// TestRandomOperations applies random operations, starting from the empty
// configuration and threading every successful result into the next step,
// and checks what every operation promises whatever its input: the Changer's
// tracker is left untouched, an error comes with zero results, a result is
// consistent, each kind of operation changes the voters only as it may, and
// restoring the result's ConfState gives back the same Config.
func TestRandomOperations(t *testing.T) {
	// succeeded counts the successful operations by kind, across seeds.
	succeeded := map[byte]int{}
	for seed := range uint64(20) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			chg := Changer{Tracker: tracker.MakeProgressTracker(4, 0)}
			for step := range 100 {
				chg.LastIndex++
				ccs := randomChanges(rng)
				var op string
				var cfg tracker.Config
				var prs tracker.ProgressMap
				var err error
				before := takeSnapshot(chg.Tracker)
				switch rng.IntN(3) {
				case 0:
					op = "Simple " + Describe(ccs...)
					cfg, prs, err = chg.Simple(ccs...)
				case 1:
					autoLeave := rng.IntN(2) == 0
					op = fmt.Sprintf("EnterJoint(%t) %s", autoLeave, Describe(ccs...))
					cfg, prs, err = chg.EnterJoint(autoLeave, ccs...)
				default:
					op = "LeaveJoint"
					cfg, prs, err = chg.LeaveJoint()
				}
				msg := fmt.Sprintf("step %d: %s on %s", step, op, chg.Tracker.Config)
				requireUnchanged(t, before, chg.Tracker)
				if err != nil {
					require.Equal(t, tracker.Config{}, cfg, "%s: config returned with error %v", msg, err)
					require.Nil(t, prs, "%s: progress returned with error %v", msg, err)
					continue
				}
				require.NoError(t, checkInvariants(cfg, prs), msg)
				checkVoterChange(t, msg, op, chg.Tracker.Config, cfg)
				checkRestoreReproduces(t, msg, cfg, prs)
				chg.Tracker.Config, chg.Tracker.Progress = cfg, prs
				succeeded[op[0]]++
			}
		})
	}
	// Guard against a generator that never gets an operation of some kind
	// through, which would leave its checks unexercised.
	for kind, name := range map[byte]string{'S': "Simple", 'E': "EnterJoint", 'L': "LeaveJoint"} {
		if succeeded[kind] < 50 {
			t.Errorf("%s succeeded %d times in 2000 steps, want at least 50", name, succeeded[kind])
		}
	}
}

// checkVoterChange checks how a successful operation named op changed the
// voters from before to after.
func checkVoterChange(t *testing.T, msg, op string, before, after tracker.Config) {
	t.Helper()
	switch {
	case op == "LeaveJoint":
		require.True(t, maps.Equal(before.Voters[0], after.Voters[0]), "%s: incoming voters changed to %s", msg, after)
		require.Nil(t, after.Voters[1], "%s: still joint", msg)
		require.Nil(t, after.LearnersNext, "%s: LearnersNext left behind", msg)
		require.False(t, after.AutoLeave, "%s: AutoLeave left set", msg)
	case op[0] == 'E':
		require.True(t, maps.Equal(before.Voters[0], after.Voters[1]), "%s: outgoing voters %s are not the old voters", msg, after)
	default:
		require.LessOrEqual(t, symmetricDifference(before.Voters[0], after.Voters[0]), 1, "%s: got %s", msg, after)
		require.Nil(t, after.Voters[1], "%s: simple change made the config joint", msg)
	}
}

// checkRestoreReproduces checks that restoring the ConfState of cfg yields
// cfg again, with a Progress for the same nodes.
func checkRestoreReproduces(t *testing.T, msg string, cfg tracker.Config, prs tracker.ProgressMap) {
	t.Helper()
	trk := tracker.MakeProgressTracker(4, 0)
	trk.Config, trk.Progress = cfg, prs
	cs := trk.ConfState()
	got, gotPrs, err := Restore(Changer{Tracker: tracker.MakeProgressTracker(4, 0)}, cs)
	require.NoError(t, err, "%s: restoring %s", msg, describeConfState(cs))
	require.Equal(t, cfg, got, "%s: restoring %s", msg, describeConfState(cs))
	require.Equal(t, len(prs), len(gotPrs), "%s: progress entries after restoring", msg)
	for id, pr := range prs {
		require.Contains(t, gotPrs, id, "%s: restored progress", msg)
		require.Equal(t, pr.IsLearner, gotPrs[id].IsLearner, "%s: IsLearner of node %d after restoring", msg, id)
	}
}
