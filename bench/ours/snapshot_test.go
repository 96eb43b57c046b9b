package suite

import (
	"testing"

	pb "github.com/quorate/raft/raftpb"
)

// BenchmarkSnapshot has a follower of a group of three take a snapshot from
// its leader once per op: the MsgSnap stepped in, its Ready persisted (the
// snapshot applied to storage) and advanced. The snapshot is 10 entries
// past the last one each time, with the same membership.
func BenchmarkSnapshot(b *testing.B) {
	c := newCluster(b, 3, clusterOptions{ticks: liveTicks})
	f := c.replicas[1]
	term := f.rn.BasicStatus().Term
	index := uint64(1000)
	b.ReportAllocs()
	for b.Loop() {
		snap := pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: index, Term: term,
			ConfState: pb.ConfState{Voters: []uint64{1, 2, 3}}}}
		if err := f.rn.Step(pb.Message{Type: pb.MsgSnap, From: 1, To: f.id, Term: term, Snapshot: &snap}); err != nil {
			b.Fatalf("Step(MsgSnap): %v", err)
		}
		for f.rn.HasReady() {
			rd := f.rn.Ready()
			c.check(persist(f.storage, rd.HardState, rd.Entries, &rd.Snapshot))
			f.rn.Advance(rd)
		}
		c.drop()
		index += 10
	}
	if got, err := f.storage.FirstIndex(); err != nil || got != index-10+1 {
		b.Fatalf("follower storage: got first index %d (%v), want %d", got, err, index-10+1)
	}
}
