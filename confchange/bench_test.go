package confchange

import (
	"testing"

	"github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// BenchmarkOperations measures one operation on a seven-voter group with two
// learners. Copy-on-write gives only the changed nodes a new Progress; the
// rest of the cost is copying the configuration and the progress map.
func BenchmarkOperations(b *testing.B) {
	group := raftpb.ConfState{Voters: []uint64{1, 2, 3, 4, 5, 6, 7}, Learners: []uint64{8, 9}}
	joint := raftpb.ConfState{
		Voters: []uint64{1, 2, 3, 4, 5, 6}, VotersOutgoing: []uint64{1, 2, 3, 4, 5, 6, 7},
		Learners: []uint64{8, 9}, LearnersNext: []uint64{7},
	}
	for _, bc := range []struct {
		name  string
		start raftpb.ConfState
		op    operation
	}{
		{"simple update", group, simpleOp(changesOf("u1")...)},
		{"simple promote learner", group, simpleOp(changesOf("v8")...)},
		{"simple add learner", group, simpleOp(changesOf("l10")...)},
		{"enter joint replace voter", group, enterJointOp(true, changesOf("r1 v10")...)},
		{"leave joint", joint, leaveJointOp()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			chg := newChanger(b, bc.start)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := bc.op(chg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRestore measures restoring a joint configuration, as a node does
// at startup and when it applies a snapshot.
func BenchmarkRestore(b *testing.B) {
	cs := raftpb.ConfState{
		Voters: []uint64{1, 2, 3, 4, 5, 6}, VotersOutgoing: []uint64{1, 2, 3, 4, 5, 6, 7},
		Learners: []uint64{8, 9}, LearnersNext: []uint64{7}, AutoLeave: true,
	}
	b.ReportAllocs()
	for b.Loop() {
		chg := Changer{Tracker: tracker.MakeProgressTracker(8, 0), LastIndex: 10}
		if _, _, err := Restore(chg, cs); err != nil {
			b.Fatal(err)
		}
	}
}
