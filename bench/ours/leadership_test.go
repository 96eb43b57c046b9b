package suite

import (
	"testing"

	"github.com/quorate/raft"
)

// BenchmarkProposeForwarded is the one-proposal commit cycle of
// BenchmarkProposeCycle with the proposal made at a follower, which
// forwards it to the leader.
func BenchmarkProposeForwarded(b *testing.B) {
	c := newCluster(b, 3, clusterOptions{ticks: liveTicks})
	f := c.replicas[1]
	data := make([]byte, 128)
	from := c.leader().applied
	b.ReportAllocs()
	for b.Loop() {
		if err := f.rn.Propose(data); err != nil {
			b.Fatalf("replica %d: Propose: %v", f.id, err)
		}
		c.stabilize()
		c.maybeCompact()
	}
	c.checkProposed(from, b.N)
}

// BenchmarkTransferLeader hands leadership back and forth between replicas
// 1 and 2 of a group of three: one op is a TransferLeader and the group run
// until the transferee leads.
func BenchmarkTransferLeader(b *testing.B) {
	c := newCluster(b, 3, clusterOptions{ticks: liveTicks})
	from, to := c.replicas[0], c.replicas[1]
	b.ReportAllocs()
	for b.Loop() {
		from.rn.TransferLeader(to.id)
		c.stabilize()
		if st := to.rn.BasicStatus(); st.RaftState != raft.StateLeader {
			b.Fatalf("replica %d after the transfer: got %v, want %v", to.id, st.RaftState, raft.StateLeader)
		}
		from, to = to, from
	}
}

// BenchmarkTickCheckQuorum ticks every replica of a group of three with
// CheckQuorum and PreVote on, once per op, and runs the group: the leader's
// heartbeat round and, every election timeout, its quorum check.
func BenchmarkTickCheckQuorum(b *testing.B) {
	c := newCluster(b, 3, clusterOptions{ticks: liveTicks, tune: func(cfg *raft.Config) {
		cfg.CheckQuorum = true
		cfg.PreVote = true
	}})
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range c.replicas {
			r.rn.Tick()
		}
		c.stabilize()
	}
	if st := c.leader().rn.BasicStatus(); st.RaftState != raft.StateLeader {
		b.Fatalf("replica 1 after the ticks: got %v, want %v", st.RaftState, raft.StateLeader)
	}
}
