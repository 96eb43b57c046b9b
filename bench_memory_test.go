package raft_test

import (
	"runtime"
	"testing"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// BenchmarkIdleGroupMemory measures what one Raft group costs a host that
// runs many of them: the heap retained by an idle replica of a three-voter
// group (RawNode plus a MemoryStorage holding a snapshot and the leader's
// first entry), as a follower and as a leader with its followers caught up.
// It reports retained-B/group (heap still live after a GC, per group) next
// to the usual B/op and allocs/op of building the group.
func BenchmarkIdleGroupMemory(b *testing.B) {
	for _, role := range []string{"follower", "leader"} {
		b.Run(role, func(b *testing.B) {
			groups := make([]*raft.RawNode, b.N)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range groups {
				groups[i] = newIdleGroupReplica(b, role == "leader")
			}
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&after)
			retained := float64(after.HeapAlloc) - float64(before.HeapAlloc)
			b.ReportMetric(retained/float64(b.N), "retained-B/group")
			runtime.KeepAlive(groups)
		})
	}
}

// newIdleGroupReplica returns replica 1 of the group {1, 2, 3}, at rest:
// every Ready handled and, for a leader, every follower acknowledged.
func newIdleGroupReplica(b *testing.B, leader bool) *raft.RawNode {
	storage := raft.NewMemoryStorage()
	snap := pb.Snapshot{Metadata: pb.SnapshotMetadata{
		Index: 1, Term: 1, ConfState: pb.ConfState{Voters: []uint64{1, 2, 3}},
	}}
	if err := storage.ApplySnapshot(snap); err != nil {
		b.Fatal(err)
	}
	rn, err := raft.NewRawNode(&raft.Config{
		ID: 1, ElectionTick: 10, HeartbeatTick: 1, Storage: storage,
		MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 256, Logger: discardLogger,
	})
	if err != nil {
		b.Fatal(err)
	}
	if !leader {
		return rn
	}
	if err := rn.Campaign(); err != nil {
		b.Fatal(err)
	}
	persistAll(b, rn, storage)
	term := rn.BasicStatus().Term
	for _, from := range []uint64{2, 3} {
		if err := rn.Step(pb.Message{Type: pb.MsgVoteResp, From: from, To: 1, Term: term}); err != nil {
			b.Fatal(err)
		}
	}
	persistAll(b, rn, storage)
	last, err := storage.LastIndex()
	if err != nil {
		b.Fatal(err)
	}
	for _, from := range []uint64{2, 3} {
		if err := rn.Step(pb.Message{Type: pb.MsgAppResp, From: from, To: 1, Term: term, Index: last}); err != nil {
			b.Fatal(err)
		}
	}
	persistAll(b, rn, storage)
	if st := rn.BasicStatus(); st.RaftState != raft.StateLeader || st.Commit != last {
		b.Fatalf("got %v with commit %d, want a leader with commit %d", st.RaftState, st.Commit, last)
	}
	return rn
}

// persistAll handles Readies until there are none, dropping their messages.
func persistAll(b *testing.B, rn *raft.RawNode, storage *raft.MemoryStorage) {
	for rn.HasReady() {
		rd := rn.Ready()
		if err := storage.Append(rd.Entries); err != nil {
			b.Fatal(err)
		}
		if !raft.IsEmptyHardState(rd.HardState) {
			if err := storage.SetHardState(rd.HardState); err != nil {
				b.Fatal(err)
			}
		}
		rn.Advance(rd)
	}
}
