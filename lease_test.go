package raft

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// TestLeaseStaleAckOfOldEntries checks that an acknowledgement of entries
// whose first sending is an election timeout old extends the lease no
// further than that first sending: the followers may have heard nothing
// since, and be free to elect another leader.
//
// The followers acknowledge entry x, first sent at the leader's tick 0, and
// their answers are delayed while the leader is cut off and appends y at
// tick 1. Once the mark of x is an election timeout old, the answers about x
// arrive. Matching them to the mark of y (tick 1) would stretch the lease
// one tick past the followers' promise, into the tick at which they elect
// another leader that commits a write: a stale read.
func TestLeaseStaleAckOfOldEntries(t *testing.T) {
	nodes, nw := leaseLeader(t, 3)
	old := nodes[0]
	require.Zero(t, old.raft.leading.lease.now, "the leader should still be at its first tick")

	// x goes out at tick 0; the followers take it, their answers wait.
	require.NoError(t, old.Propose([]byte("x")))
	var delayed []pb.Message
	for _, m := range old.process() {
		if m.Type != pb.MsgApp {
			continue
		}
		for _, resp := range nodes[m.To-1].stepAndCollect(m) {
			if resp.Type == pb.MsgAppResp && !resp.Reject {
				delayed = append(delayed, resp)
			}
		}
	}
	require.Len(t, delayed, 2, "want an acknowledgement of x from each follower")

	// Cut off, the leader appends y at tick 1 and ticks on until the
	// followers' promise of tick 0 runs out.
	nw.isolate(1)
	old.Tick()
	old.process()
	nw.propose(1, "y")
	for range testElectionTick - 1 {
		old.Tick()
		old.process()
	}
	require.Equal(t, StateLeader, old.raft.state, "the quorum check at tick %d saw the followers active", testElectionTick)

	// The followers' clocks ran as long; quiesced, so that neither
	// campaigns on its own. Peer 2 campaigns and wins with 3's vote, which
	// 3 may grant: it heard from 1 an election timeout ago.
	for range testElectionTick {
		for _, n := range nodes[1:] {
			n.TickQuiesced()
		}
	}
	successorWrites(t, nw, nodes[1], "new")

	// The delayed answers about x reach the old leader, still at the tick
	// its followers' promise ran out.
	for _, m := range delayed {
		old.stepAndCollect(m)
	}
	nw.readIndex(1, "stale?")
	assert.Empty(t, readStateCtxs(old.readStates),
		"got a lease read answered by the deposed leader 1 at tick %d after 2 was elected and committed index %d",
		old.raft.leading.lease.now, nodes[1].raft.log.committed())
}

// successorWrites has n campaign, requires that it wins, and has it
// commit a write of data: what a lease read of the leader it deposed
// must not miss.
func successorWrites(t *testing.T, nw *network, n *testNode, data string) {
	t.Helper()
	require.NoError(t, n.Campaign())
	nw.send(n.process()...)
	require.Equal(t, StateLeader, n.raft.state, "got state %v for %x, want leader", n.raft.state, n.raft.id)
	nw.propose(n.raft.id, data)
	require.Contains(t, n.appliedData(), data, "the new leader should have committed its write")
}
