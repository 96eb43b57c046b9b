package raft

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// TestExitUnderLeavingLeaderIsReleased checks that a follower removed
// together with its leader eventually hands its removal to the application,
// in a group that runs as a host runs it: the leader is stopped once it
// applied its own removal, and the remaining voters go on.
//
// Review finding: since bc633ee a follower lets its held exit go only
// under a leader that votes in the new configuration, or once a later
// configuration change commits. But the new configuration's leader never
// contacts a peer that is no longer a member, and the peer hears of no
// later change: it holds its exit forever, and its host, which waits for
// the removal to be applied before stopping it (ApplyConfChange's
// contract), never learns it was removed.
func TestExitUnderLeavingLeaderIsReleased(t *testing.T) {
	nodes, nw := leaderWithFollowers(t, 4, withPreVote(), withCheckQuorum())
	leader, removed := nodes[0], nodes[2]
	// One joint change takes out both the leader 1 and the follower 3; it
	// leaves the joint configuration by itself (AutoLeave).
	cc := pb.ConfChangeV2{Changes: []pb.ConfChangeSingle{
		{Type: pb.ConfChangeRemoveNode, NodeID: 1},
		{Type: pb.ConfChangeRemoveNode, NodeID: 3},
	}}
	nw.proposeConfChange(t, 1, cc)
	nw.flush()
	require.Equal(t, pb.ConfState{Voters: []uint64{2, 4}}, confStateOf(leader), "the leader should have left the joint configuration")
	// The leader's host stops it now that it applied its removal.
	nw.crash(1)
	require.GreaterOrEqual(t, removed.raft.log.committed(), leader.raft.log.applied(), "3 should know the leave is committed")

	// 2 and 4 elect a leader among them (3 happens to tick slowest).
	for range 20 * testElectionTick {
		if len(nw.leaders()) > 0 {
			break
		}
		nw.tickPeers(2, 4)
	}
	require.Len(t, nw.leaders(), 1, "got leaders %v, want one among 2 and 4", nw.leaders())
	require.NotEqual(t, uint64(3), nw.leaders()[0], "want the new leader among 2 and 4")
	nw.propose(nw.leaders()[0], "after")
	for range 20 * testElectionTick {
		nw.tick()
	}
	assert.Equal(t, pb.ConfState{Voters: []uint64{2, 4}}, confStateOf(removed),
		"got 3 in configuration %v, holding its exit at %d (applied %d, committed %d), want its removal applied",
		confStateOf(removed), removed.raft.heldExitIndex(), removed.raft.log.applied(), removed.raft.log.committed())
}
