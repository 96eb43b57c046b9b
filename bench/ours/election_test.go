package suite

import (
	"fmt"
	"testing"

	"github.com/quorate/raft"
)

// BenchmarkElection has replicas 1 and 2 take leadership in turn: one op is
// a Campaign at the replica that does not lead, and the group run until it
// leads and every replica has applied its empty entry.
func BenchmarkElection(b *testing.B) {
	for _, voters := range []int{3, 5} {
		b.Run(fmt.Sprintf("voters=%d", voters), func(b *testing.B) {
			c := newCluster(b, voters, clusterOptions{ticks: liveTicks})
			next := 1
			b.ReportAllocs()
			for b.Loop() {
				r := c.replicas[next]
				if err := r.rn.Campaign(); err != nil {
					b.Fatalf("replica %d: Campaign: %v", r.id, err)
				}
				c.stabilize()
				if st := r.rn.BasicStatus(); st.RaftState != raft.StateLeader {
					b.Fatalf("replica %d after its campaign: got %v, want %v", r.id, st.RaftState, raft.StateLeader)
				}
				next = 1 - next
			}
			c.checkCaughtUp()
		})
	}
}
