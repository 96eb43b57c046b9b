package raft

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// TestHasReadyRestMemoHidesNothing checks HasReady's memory of a peer at
// rest (raft.quietAt) against a fresh look after every input: a missed
// bump of raft.activity would make HasReady answer false while a Ready
// holds work, and the application would wait for it forever. The inputs are
// random ticks, deliveries (in any order, some dropped), proposals, reads,
// conf changes, transfers, Readies taken without Advance, and Advances.
func TestHasReadyRestMemoHidesNothing(t *testing.T) {
	for _, async := range []bool{false, true} {
		for seed := range uint64(20) {
			t.Run(fmt.Sprintf("async=%v/seed=%d", async, seed), func(t *testing.T) {
				opts := []testOption{withPreVote(), withCheckQuorum()}
				if async {
					opts = append(opts, withAsyncWrites())
				}
				nodes := newTestCluster(t, 3, opts...)
				rng := rand.New(rand.NewPCG(seed, 3))
				var queue []pb.Message
				pendingReady := map[uint64]*Ready{}
				check := func(step int, what string) {
					for _, n := range nodes {
						got, want := n.HasReady(), n.lookForReady()
						require.Equal(t, want, got, "step %d (%s), peer %d: got HasReady %v, want %v", step, what, n.raft.id, got, want)
					}
				}
				for step := range 3000 {
					n := nodes[rng.IntN(len(nodes))]
					id := n.raft.id
					var what string
					switch k := rng.IntN(20); {
					case k < 6:
						n.Tick()
						what = "tick"
					case k < 12 && len(queue) > 0:
						i := rng.IntN(len(queue))
						m := queue[i]
						queue = append(queue[:i], queue[i+1:]...)
						what = fmt.Sprintf("deliver %v %d->%d", m.Type, m.From, m.To)
						if rng.IntN(8) > 0 && m.To <= uint64(len(nodes)) {
							_ = nodes[m.To-1].Step(m)
						}
					case k < 14:
						_ = n.Propose([]byte("x"))
						what = "propose"
					case k == 14:
						n.ReadIndex([]byte{byte(step), byte(step >> 8)})
						what = "read"
					case k == 15:
						n.TransferLeader(uint64(1 + rng.IntN(3)))
						what = "transfer"
					case k == 16:
						_ = n.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 4})
						what = "conf change"
					case !async && pendingReady[id] != nil:
						n.persist(*pendingReady[id])
						n.apply(pendingReady[id].CommittedEntries)
						n.Advance(*pendingReady[id])
						delete(pendingReady, id)
						what = "advance"
					default:
						if !n.HasReady() || pendingReady[id] != nil {
							continue
						}
						if async {
							queue = n.processAsyncOnce(queue)
						} else {
							rd := n.Ready()
							pendingReady[id] = &rd
							queue = append(queue, rd.Messages...)
						}
						what = "ready"
					}
					check(step, what)
				}
			})
		}
	}
}
