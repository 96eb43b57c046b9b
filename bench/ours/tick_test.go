package suite

import (
	"fmt"
	"testing"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// BenchmarkTick ticks one replica of a group at rest.
//
// mode=idle keeps every timeout out of reach: one op is Tick then HasReady,
// which must report nothing, i.e. what a tick costs a replica with nothing
// to do.
//
// mode=heartbeat makes every tick a heartbeat round. For the leader one op
// is Tick followed by the Ready loop of the whole group: heartbeats out,
// responses back. For a follower it is the leader's MsgHeartbeat, a Tick and
// the follower's Ready loop; what it sends is dropped.
func BenchmarkTick(b *testing.B) {
	for _, role := range []string{"leader", "follower"} {
		for _, mode := range []string{"idle", "heartbeat"} {
			for _, voters := range []int{3, 5} {
				b.Run(fmt.Sprintf("role=%s/mode=%s/voters=%d", role, mode, voters), func(b *testing.B) {
					benchTick(b, role == "leader", mode == "idle", voters)
				})
			}
		}
	}
}

func benchTick(b *testing.B, leader, idle bool, voters int) {
	t := liveTicks
	if idle {
		t = farTicks
	}
	c := newCluster(b, voters, clusterOptions{ticks: t})
	r := c.replicas[0]
	if !leader {
		r = c.replicas[1]
	}
	b.ReportAllocs()
	switch {
	case idle:
		for b.Loop() {
			r.rn.Tick()
			if r.rn.HasReady() {
				b.Fatalf("replica %d: got a Ready after an idle tick, want none", r.id)
			}
		}
	case leader:
		for b.Loop() {
			r.rn.Tick()
			c.stabilize()
		}
	default:
		st := c.leader().rn.BasicStatus()
		beat := pb.Message{Type: pb.MsgHeartbeat, From: 1, To: r.id, Term: st.Term, Commit: st.Commit}
		for b.Loop() {
			if err := r.rn.Step(beat); err != nil {
				b.Fatalf("Step(MsgHeartbeat): %v", err)
			}
			r.rn.Tick()
			for r.rn.HasReady() {
				c.handleReady(r)
			}
			c.drop()
		}
	}
	if st := r.rn.BasicStatus(); st.Lead != 1 {
		b.Fatalf("replica %d after the ticks: got leader %d, want 1", r.id, st.Lead)
	}
	if leader && r.rn.BasicStatus().RaftState != raft.StateLeader {
		b.Fatalf("replica 1 after the ticks: got %v, want %v", r.rn.BasicStatus().RaftState, raft.StateLeader)
	}
}
