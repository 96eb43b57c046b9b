package suite

import (
	"testing"

	"github.com/quorate/raft/confchange"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// BenchmarkConfChange adds learner 9 to a group of three voters, then
// removes it, one change per op: proposed at the leader, committed, and
// applied (ApplyConfChange) by every replica.
func BenchmarkConfChange(b *testing.B) {
	c := newCluster(b, 3, clusterOptions{ticks: liveTicks, applyConfChanges: true})
	changes := [2]pb.ConfChange{
		{Type: pb.ConfChangeAddLearnerNode, NodeID: 9},
		{Type: pb.ConfChangeRemoveNode, NodeID: 9},
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if err := c.leader().rn.ProposeConfChange(changes[i%2]); err != nil {
			b.Fatalf("ProposeConfChange: %v", err)
		}
		c.stabilize()
		i++
	}
	want := 0
	if i%2 == 1 {
		want = 1
	}
	for _, r := range c.replicas {
		if got := len(r.confState.Learners); got != want {
			b.Fatalf("replica %d after %d changes: got learners %v, want %d", r.id, i, r.confState.Learners, want)
		}
	}
}

// BenchmarkConfChanger runs confchange.Changer.Simple on its own, adding a
// learner to a group of 3 voters, or of 7 voters and 2 learners.
func BenchmarkConfChanger(b *testing.B) {
	for _, tc := range []struct {
		name string
		cs   pb.ConfState
	}{
		{"voters=3", pb.ConfState{Voters: []uint64{1, 2, 3}}},
		{"voters=7/learners=2", pb.ConfState{Voters: []uint64{1, 2, 3, 4, 5, 6, 7}, Learners: []uint64{8, 9}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			trk := tracker.MakeProgressTracker(maxInflightMsgs, 0)
			cfg, prs, err := confchange.Restore(confchange.Changer{Tracker: trk, LastIndex: 10}, tc.cs)
			if err != nil {
				b.Fatalf("Restore: %v", err)
			}
			trk.Config, trk.Progress = cfg, prs
			chg := confchange.Changer{Tracker: trk, LastIndex: 10}
			add := pb.ConfChangeSingle{Type: pb.ConfChangeAddLearnerNode, NodeID: 10}
			var got tracker.Config
			b.ReportAllocs()
			for b.Loop() {
				if got, _, err = chg.Simple(add); err != nil {
					b.Fatalf("Simple: %v", err)
				}
			}
			if _, ok := got.Learners[10]; !ok {
				b.Fatalf("got learners %v, want 10 among them", got.Learners)
			}
		})
	}
}
