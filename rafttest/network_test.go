package rafttest

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"

	"github.com/quorate/raft"
	"github.com/stretchr/testify/require"
)

// waitLeader steps nw until a majority follows one leader, other than the
// nodes in not, and returns it.
func waitLeader(t *testing.T, nw *Network, maxSteps int, not ...uint64) uint64 {
	t.Helper()
	var lead uint64
	ok := nw.RunUntil(maxSteps, func() bool {
		lead = nw.Leader()
		return lead != raft.None && !slices.Contains(not, lead)
	})
	require.True(t, ok, "no leader other than %v after %d steps", not, maxSteps)
	return lead
}

// commit proposes data at the current leader until every node in ids has
// applied it, re-proposing after a leadership change lost it.
func commit(t *testing.T, nw *Network, data string, ids ...uint64) {
	t.Helper()
	appliedEverywhere := func() bool {
		for _, id := range ids {
			if !slices.Contains(nw.Node(id).Applied, data) {
				return false
			}
		}
		return true
	}
	for attempt := 0; attempt < 10; attempt++ {
		lead := waitLeader(t, nw, 500)
		if err := nw.Propose(lead, data); err != nil {
			continue
		}
		if nw.RunUntil(300, appliedEverywhere) {
			return
		}
	}
	t.Fatalf("%q not applied on nodes %v after 10 proposals", data, ids)
}

// requireSameApplied checks state machine safety: every node applied the
// same entries in the same order (a node may lag behind the others).
func requireSameApplied(t *testing.T, nw *Network) {
	t.Helper()
	var longest []string
	for _, id := range nw.IDs() {
		if a := nw.Node(id).Applied; len(a) > len(longest) {
			longest = a
		}
	}
	for _, id := range nw.IDs() {
		a := nw.Node(id).Applied
		require.Equal(t, longest[:len(a)], a, "node %d applied a different sequence", id)
	}
}

func TestNetworkCommitsDespiteLoss(t *testing.T) {
	for _, drop := range []float64{0, 0.1, 0.3} {
		t.Run(fmt.Sprintf("drop=%v", drop), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				nw := NewNetwork(NetworkConfig{
					Seed:   7,
					Voters: []uint64{1, 2, 3},
					Link:   Link{DropRate: drop, MinDelay: 1, MaxDelay: 3},
				})
				defer nw.Stop()
				waitLeader(t, nw, 500)
				for i := range 10 {
					commit(t, nw, fmt.Sprintf("v%d", i), 1, 2, 3)
				}
				requireSameApplied(t, nw)
				for _, id := range nw.IDs() {
					for i := range 10 {
						require.Contains(t, nw.Node(id).Applied, fmt.Sprintf("v%d", i), "node %d", id)
					}
				}
			})
		})
	}
}

func TestNetworkReplacesPartitionedLeader(t *testing.T) {
	for _, tc := range []struct {
		name        string
		checkQuorum bool
	}{
		{name: "plain", checkQuorum: false},
		{name: "prevote and checkquorum", checkQuorum: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				nw := NewNetwork(NetworkConfig{
					Seed:   11,
					Voters: []uint64{1, 2, 3},
					OnConfig: func(c *raft.Config) {
						c.CheckQuorum = tc.checkQuorum
						c.PreVote = tc.checkQuorum
					},
				})
				defer nw.Stop()
				old := waitLeader(t, nw, 500)
				commit(t, nw, "before", 1, 2, 3)
				oldTerm := nw.Node(old).Status().Term

				nw.Isolate(old)
				var rest []uint64
				for _, id := range nw.IDs() {
					if id != old {
						rest = append(rest, id)
					}
				}
				lead := waitLeader(t, nw, 500, old)
				commit(t, nw, "during", rest...)
				require.NotContains(t, nw.Node(old).Applied, "during", "the isolated leader applied an entry it could not have seen")
				if tc.checkQuorum {
					st := nw.Node(old).Status()
					// It may be a pre-candidate by now, but never a
					// candidate: pre-votes fail without a quorum.
					require.Contains(t, []raft.StateType{raft.StateFollower, raft.StatePreCandidate}, st.RaftState,
						"with CheckQuorum the isolated leader steps down")
					require.Equal(t, oldTerm, st.Term, "with PreVote the isolated node does not bump its term")
				}

				nw.Heal()
				ok := nw.RunUntil(500, func() bool {
					st := nw.Node(old).Status()
					return st.Lead == lead && slices.Contains(nw.Node(old).Applied, "during")
				})
				require.True(t, ok, "the old leader did not rejoin under leader %d", lead)
				require.Equal(t, raft.StateFollower, nw.Node(old).Status().RaftState)
				commit(t, nw, "after", 1, 2, 3)
				requireSameApplied(t, nw)
			})
		})
	}
}

// TestNetworkDeterministic runs the same lossy scenario twice with one seed
// and checks that it unfolds identically, and differently with another.
func TestNetworkDeterministic(t *testing.T) {
	run := func(seed uint64) []string {
		var trace []string
		synctest.Test(t, func(t *testing.T) {
			nw := NewNetwork(NetworkConfig{
				Seed:   seed,
				Voters: []uint64{1, 2, 3, 4, 5},
				Link:   Link{DropRate: 0.2, MinDelay: 1, MaxDelay: 4},
			})
			defer nw.Stop()
			for range 200 {
				nw.Step()
				var line []string
				for _, id := range nw.IDs() {
					st := nw.Node(id).Status()
					line = append(line, fmt.Sprintf("%d:%s/%d/%d", id, st.RaftState, st.Term, st.Commit))
				}
				trace = append(trace, fmt.Sprint(line))
			}
		})
		return trace
	}
	first, again := run(3), run(3)
	require.Equal(t, first, again, "two runs with seed 3 differ")
	if slices.Equal(first, run(4)) {
		t.Fatalf("seeds 3 and 4 gave the same run; the links ignore the seed")
	}
}

func TestNetworkLinks(t *testing.T) {
	// stepsToLeader returns the step at which a majority first followed a
	// leader, or -1 if none did within 300 steps.
	stepsToLeader := func(l Link) int {
		steps := -1
		synctest.Test(t, func(t *testing.T) {
			nw := NewNetwork(NetworkConfig{Seed: 1, Voters: []uint64{1, 2, 3}, Link: l})
			defer nw.Stop()
			if nw.RunUntil(300, func() bool { return nw.Leader() != raft.None }) {
				steps = nw.Now()
			}
		})
		return steps
	}
	t.Run("a link that drops everything prevents elections", func(t *testing.T) {
		if got := stepsToLeader(Link{DropRate: 1}); got != -1 {
			t.Fatalf("got a leader after %d steps, want none", got)
		}
	})
	t.Run("delays slow elections down", func(t *testing.T) {
		fast, slow := stepsToLeader(Link{MinDelay: 1, MaxDelay: 1}), stepsToLeader(Link{MinDelay: 5, MaxDelay: 5})
		require.NotEqual(t, -1, fast)
		// A vote request, its response and the new leader's first message
		// each take 4 more steps on the slow links.
		if slow < fast+12 {
			t.Fatalf("got a leader after %d steps with delay 5, want at least %d (%d with delay 1 plus 3*4)", slow, fast+12, fast)
		}
	})
	t.Run("a partition cuts both directions until healed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			nw := NewNetwork(NetworkConfig{Seed: 1, Voters: []uint64{1, 2, 3}})
			defer nw.Stop()
			nw.Partition([]uint64{1}, []uint64{2}, []uint64{3})
			if nw.RunUntil(300, func() bool { return nw.Leader() != raft.None }) {
				t.Fatalf("got leader %d with every node cut off", nw.Leader())
			}
			nw.Heal()
			waitLeader(t, nw, 300)
		})
	})
}
