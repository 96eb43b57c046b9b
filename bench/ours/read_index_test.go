package suite

import (
	"fmt"
	"testing"

	"github.com/quorate/raft"
)

// BenchmarkReadIndex issues one ReadIndex per op under ReadOnlySafe, at the
// leader or at a follower (which forwards it to the leader), and runs the
// group until the ReadState is handed out: one heartbeat round per read.
func BenchmarkReadIndex(b *testing.B) {
	cases := []struct {
		at     string
		voters int
	}{
		{"leader", 1}, {"leader", 3}, {"leader", 5},
		{"follower", 3}, {"follower", 5},
	}
	for _, tc := range cases {
		b.Run(fmt.Sprintf("at=%s/voters=%d", tc.at, tc.voters), func(b *testing.B) {
			benchReads(b, newCluster(b, tc.voters, clusterOptions{ticks: liveTicks}), tc.at)
		})
	}
}

// BenchmarkReadIndexLease is BenchmarkReadIndex under ReadOnlyLeaseBased
// (with CheckQuorum, which it requires): the leader answers from its lease,
// without a heartbeat round; a follower forwards the request to it.
func BenchmarkReadIndexLease(b *testing.B) {
	for _, at := range []string{"leader", "follower"} {
		b.Run(fmt.Sprintf("at=%s/voters=3", at), func(b *testing.B) {
			benchReads(b, newCluster(b, 3, clusterOptions{ticks: liveTicks, tune: func(cfg *raft.Config) {
				cfg.ReadOnlyOption = raft.ReadOnlyLeaseBased
				cfg.CheckQuorum = true
			}}), at)
		})
	}
}

// benchReads issues one ReadIndex per op at the leader of c or at a
// follower (at), and runs the group until its ReadState is out.
func benchReads(b *testing.B, c *cluster, at string) {
	r := c.leader()
	if at == "follower" {
		r = c.replicas[1]
	}
	rctx := []byte("read")
	b.ReportAllocs()
	for b.Loop() {
		r.rn.ReadIndex(rctx)
		c.stabilize()
	}
	if r.reads != b.N {
		b.Fatalf("replica %d: got %d read states, want %d", r.id, r.reads, b.N)
	}
}
