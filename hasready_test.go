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

// TestHasReadyMemoWithBoundedApplying checks HasReady's memory of a peer at
// rest, and the deferred sizing of committed batches (applyTracker.unsized),
// where the randomized runs above do not go: MaxCommittedSizePerReady of a
// byte or a few entries, so that handing out pauses and resumes often;
// several Readies taken before one Advance; and an application that
// confirms applying part of a batch itself, by stepping a
// MsgStorageApplyResp, before it calls Advance; with campaigns and
// leadership transfers among the proposals, reads and deliveries. After
// every input HasReady must agree with a fresh look, a Ready it announces
// must hold something, and no input may break an invariant.
func TestHasReadyMemoWithBoundedApplying(t *testing.T) {
	sweepApplyBounds(t, []uint64{1, 60, 200}, runBoundedApplying)
}

// sweepApplyBounds runs run as a subtest for each MaxCommittedSizePerReady
// of bounds and each of 25 seeds.
func sweepApplyBounds(t *testing.T, bounds []uint64, run func(t *testing.T, maxApply, seed uint64)) {
	for _, maxApply := range bounds {
		for seed := range uint64(25) {
			t.Run(fmt.Sprintf("maxApply=%d/seed=%d", maxApply, seed), func(t *testing.T) {
				run(t, maxApply, seed)
			})
		}
	}
}

// runBoundedApplying drives a cluster of 3, whose peers hand out at most
// maxApply bytes of committed entries at a time, at random (see
// TestHasReadyMemoWithBoundedApplying).
func runBoundedApplying(t *testing.T, maxApply, seed uint64) {
	d := newMemoRun(t, seed, maxApply)
	// pending are the Readies taken and not advanced yet, and early the
	// number of their committed entries confirmed before Advance, per peer.
	pending := map[uint64][]Ready{}
	early := map[uint64]int{}
	committed := func(rds []Ready) []pb.Entry {
		var ents []pb.Entry
		for _, rd := range rds {
			ents = append(ents, rd.CommittedEntries...)
		}
		return ents
	}
	d.run(func(n *testNode, k, step int) (string, bool) {
		id := n.raft.id
		switch {
		case k < 15 && len(pending[id]) > 0:
			// The application confirms part of what it was handed.
			ents := committed(pending[id])[early[id]:]
			if len(ents) == 0 {
				return "", false
			}
			j := 1 + d.rng.IntN(len(ents))
			n.apply(ents[:j])
			early[id] += j
			require.NoError(t, n.Step(pb.Message{Type: pb.MsgStorageApplyResp, From: LocalApplyThread, To: id, Entries: ents[:j]}))
			return fmt.Sprintf("confirm %d applied early", j), true
		case k < 17 && len(pending[id]) > 0:
			for _, rd := range pending[id] {
				n.persist(rd)
				n.recordReadStates(rd.ReadStates)
			}
			n.apply(committed(pending[id])[early[id]:])
			n.Advance(pending[id][len(pending[id])-1])
			delete(pending, id)
			delete(early, id)
			return "advance", true
		}
		if !n.HasReady() || len(pending[id]) > 2 {
			return "", false
		}
		rd := n.Ready()
		require.False(t, readyIsEmpty(rd), "step %d, peer %d: got an empty Ready after HasReady said true", step, id)
		pending[id] = append(pending[id], rd)
		d.queue = append(d.queue, rd.Messages...)
		return fmt.Sprintf("ready (%d pending)", len(pending[id])), true
	})
}

// memoRun is a cluster of 3 driven at random, for the checks of HasReady's
// memory above: the peers, the messages in flight between them, and the
// source of the choices.
type memoRun struct {
	t     *testing.T
	nodes []*testNode
	rng   *rand.Rand
	queue []pb.Message
}

// newMemoRun returns a run seeded with seed over a fresh cluster of 3 with
// opts, whose peers send appends of about 100 bytes and hand out at most
// maxApply bytes of committed entries at a time.
func newMemoRun(t *testing.T, seed, maxApply uint64, opts ...testOption) *memoRun {
	opts = append(opts, withConfig(func(c *Config) {
		c.MaxCommittedSizePerReady = maxApply
		c.MaxSizePerMsg = 100
	}))
	return &memoRun{t: t, nodes: newTestCluster(t, 3, opts...), rng: rand.New(rand.NewPCG(seed, 11))}
}

// run makes 3000 random inputs, checking HasReady after each: those of
// common, and for the rest of the choices own's, which says what it did,
// or false if it did nothing.
func (d *memoRun) run(own func(n *testNode, k, step int) (what string, ok bool)) {
	for step := range 3000 {
		n := d.nodes[d.rng.IntN(len(d.nodes))]
		k := d.rng.IntN(20)
		what, done := d.common(n, k, step)
		if !done {
			if what, done = own(n, k, step); !done {
				continue
			}
		}
		d.check(step, what)
	}
}

// check requires every peer's HasReady to agree with a fresh look.
func (d *memoRun) check(step int, what string) {
	for _, n := range d.nodes {
		got, want := n.HasReady(), n.lookForReady()
		require.Equal(d.t, want, got, "step %d (%s), peer %d: got HasReady %v, want %v", step, what, n.raft.id, got, want)
	}
}

// common gives n the input k picks among those every run makes - ticks,
// deliveries, proposals, reads, transfers, campaigns - and says what it
// was; done is false when k picks none of them (k >= 13, or a delivery
// with nothing in flight), which leaves the input to the caller.
func (d *memoRun) common(n *testNode, k, step int) (what string, done bool) {
	switch {
	case k < 2:
		n.Tick()
		return "tick", true
	case k < 9 && len(d.queue) > 0:
		// NB: mostly the oldest first, so that the network keeps up.
		i := 0
		if d.rng.IntN(4) == 0 {
			i = d.rng.IntN(len(d.queue))
		}
		m := d.queue[i]
		d.queue = append(d.queue[:i], d.queue[i+1:]...)
		if m.To >= 1 && m.To <= uint64(len(d.nodes)) {
			_ = d.nodes[m.To-1].Step(m)
		}
		return fmt.Sprintf("deliver %v %d->%d", m.Type, m.From, m.To), true
	case k < 9:
		return "", false
	case k < 12:
		_ = n.Propose(make([]byte, d.rng.IntN(40)))
		return "propose", true
	case k == 12:
		switch d.rng.IntN(8) {
		case 0:
			n.TransferLeader(uint64(1 + d.rng.IntN(len(d.nodes))))
			return "transfer", true
		case 1:
			_ = n.Campaign()
			return "campaign", true
		}
		n.ReadIndex([]byte{byte(step), byte(step >> 8)})
		return "read", true
	}
	return "", false
}

// TestHasReadyMemoWithSlowStorageThreads checks HasReady's memory of a
// peer at rest with AsyncStorageWrites and storage threads that lag: each
// peer's MsgStorageAppend and MsgStorageApply wait in their thread's queue
// and are done, in order, at random later steps, with
// MaxCommittedSizePerReady of a byte or a few entries, so that committed
// entries wait for durability and for the apply bound by turns; with
// campaigns and leadership transfers among the other inputs. After every
// input HasReady must agree with a fresh look, and a Ready it announces must
// hold something.
func TestHasReadyMemoWithSlowStorageThreads(t *testing.T) {
	sweepApplyBounds(t, []uint64{1, 60, 0}, runSlowStorageThreads)
}

// runSlowStorageThreads drives a cluster of 3 with lagging storage threads
// at random (see TestHasReadyMemoWithSlowStorageThreads).
func runSlowStorageThreads(t *testing.T, maxApply, seed uint64) {
	d := newMemoRun(t, seed, maxApply, withAsyncWrites(), withPreVote())
	// appends and applies are each peer's storage threads' queues.
	appends, applies := map[uint64][]pb.Message{}, map[uint64][]pb.Message{}
	d.run(func(n *testNode, k, step int) (string, bool) {
		id := n.raft.id
		switch {
		case k < 15 && len(appends[id]) > 0:
			m := appends[id][0]
			appends[id] = appends[id][1:]
			d.queue = append(d.queue, n.deliverResponses(n.persistAppend(m))...)
			return "append thread", true
		case k < 17 && len(applies[id]) > 0:
			m := applies[id][0]
			applies[id] = applies[id][1:]
			n.apply(m.Entries)
			d.queue = append(d.queue, n.deliverResponses(m.Responses)...)
			return "apply thread", true
		}
		if !n.HasReady() {
			return "", false
		}
		rd := n.Ready()
		require.False(t, readyIsEmpty(rd), "step %d, peer %d: got an empty Ready after HasReady said true", step, id)
		n.recordReadStates(rd.ReadStates)
		for _, m := range rd.Messages {
			switch m.To {
			case LocalAppendThread:
				appends[id] = append(appends[id], m)
			case LocalApplyThread:
				applies[id] = append(applies[id], m)
			default:
				d.queue = append(d.queue, m)
			}
		}
		return "ready", true
	})
}
