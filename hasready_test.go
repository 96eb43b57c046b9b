package raft

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// TestHasReadyRestMemoHidesNothing checks HasReady's memory of a peer at
// rest (raft.quiet) against a fresh look after every input: a missed
// stir clearing raft.quiet would make HasReady answer false while a Ready
// holds work, and the application would wait for it forever. The inputs
// are random ticks and quiesced ticks, deliveries (in any order, some
// dropped), proposals, reads (safe and lease), transfers, conf changes
// (additions, removals and demotions, so the exit hold too), ForgetLeader,
// ReportUnreachable, ReportSnapshot, campaigns, log compaction, and
// Readies taken without Advance, with and without AsyncStorageWrites.
func TestHasReadyRestMemoHidesNothing(t *testing.T) {
	for _, async := range []bool{false, true} {
		for _, lease := range []bool{false, true} {
			for seed := range uint64(40) {
				t.Run(fmt.Sprintf("async=%v/lease=%v/seed=%d", async, lease, seed), func(t *testing.T) {
					runHasReadyMemo(t, async, lease, seed, false)
				})
			}
		}
	}
}

// TestHasReadyMeansNonEmptyReady checks HasReady's contract, "whether
// Ready would return something", on the same random runs. Found by
// review: a follower stayed marked due (peerProgress.due) after its
// progress paused in StateSnapshot, so hasDeferred said there was work
// while flushAppends sent nothing, and the Ready was empty.
func TestHasReadyMeansNonEmptyReady(t *testing.T) {
	for _, lease := range []bool{false, true} {
		for seed := range uint64(40) {
			t.Run(fmt.Sprintf("lease=%v/seed=%d", lease, seed), func(t *testing.T) {
				runHasReadyMemo(t, false, lease, seed, true)
			})
		}
	}
}

// runHasReadyMemo drives a cluster of 4 at random and checks HasReady
// against a fresh look after every input; with nonEmpty, it also checks
// that a Ready taken after HasReady said true holds something.
func runHasReadyMemo(t *testing.T, async, lease bool, seed uint64, nonEmpty bool) {
	opts := []testOption{withPreVote(), withCheckQuorum()}
	if async {
		opts = append(opts, withAsyncWrites())
	}
	if lease {
		opts = append(opts, withLeaseReads())
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	if rng.IntN(2) == 0 {
		opts = append(opts, withStepDownOnRemoval())
	}
	nodes := newTestCluster(t, 4, opts...)
	var queue []pb.Message
	pendingReady := map[uint64]*Ready{}
	check := func(step int, what string) {
		for _, n := range nodes {
			got, want := n.HasReady(), n.lookForReady()
			require.Equal(t, want, got, "step %d (%s), peer %d: got HasReady %v, want %v", step, what, n.raft.id, got, want)
		}
	}
	for step := range 4000 {
		n := nodes[rng.IntN(len(nodes))]
		id := n.raft.id
		var what string
		switch k := rng.IntN(30); {
		case k < 6:
			n.Tick()
			what = "tick"
		case k < 8:
			n.TickQuiesced()
			what = "quiesced tick"
		case k < 15 && len(queue) > 0:
			i := rng.IntN(len(queue))
			m := queue[i]
			queue = append(queue[:i], queue[i+1:]...)
			what = fmt.Sprintf("deliver %v %d->%d", m.Type, m.From, m.To)
			if rng.IntN(8) > 0 && m.To >= 1 && m.To <= uint64(len(nodes)) {
				_ = nodes[m.To-1].Step(m)
			}
		case k < 17:
			_ = n.Propose([]byte("x"))
			what = "propose"
		case k == 17:
			n.ReadIndex([]byte{byte(step), byte(step >> 8)})
			what = "read"
		case k == 18:
			n.TransferLeader(uint64(1 + rng.IntN(4)))
			what = "transfer"
		case k == 19:
			target := uint64(1 + rng.IntN(4))
			typ := []pb.ConfChangeType{pb.ConfChangeRemoveNode, pb.ConfChangeAddLearnerNode, pb.ConfChangeAddNode}[rng.IntN(3)]
			_ = n.ProposeConfChange(pb.ConfChange{Type: typ, NodeID: target})
			what = fmt.Sprintf("conf change %v %d", typ, target)
		case k == 20:
			_ = n.ForgetLeader()
			what = "forget leader"
		case k == 21:
			n.ReportUnreachable(uint64(1 + rng.IntN(4)))
			what = "unreachable"
		case k == 22:
			st := SnapshotFinish
			if rng.IntN(2) == 0 {
				st = SnapshotFailure
			}
			n.ReportSnapshot(uint64(1+rng.IntN(4)), st)
			what = "report snapshot"
		case k == 23:
			if n.appliedIndex > 2 && pendingReady[id] == nil {
				_, _ = n.storage.CreateSnapshot(n.appliedIndex, &pb.ConfState{Voters: confStateOf(n).Voters, Learners: confStateOf(n).Learners, VotersOutgoing: confStateOf(n).VotersOutgoing, LearnersNext: confStateOf(n).LearnersNext, AutoLeave: confStateOf(n).AutoLeave}, nil)
				_ = n.storage.Compact(n.appliedIndex)
			}
			what = "compact"
		case k == 24:
			_ = n.Campaign()
			what = "campaign"
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
				require.False(t, nonEmpty && readyIsEmpty(rd), "step %d, peer %d: got an empty Ready after HasReady said true", step, id)
				pendingReady[id] = &rd
				queue = append(queue, rd.Messages...)
			}
			what = "ready"
		}
		check(step, what)
	}
}

// readyIsEmpty reports whether rd holds nothing at all.
func readyIsEmpty(rd Ready) bool {
	return rd.SoftState == nil && IsEmptyHardState(rd.HardState) && IsEmptySnap(rd.Snapshot) &&
		len(rd.Entries) == 0 && len(rd.CommittedEntries) == 0 && len(rd.Messages) == 0 &&
		len(rd.ReadStates) == 0 && len(rd.DroppedReads) == 0 && rd.Fault == nil && !rd.MustSync
}
