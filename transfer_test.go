package raft

import (
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// transfer asks leader id to hand over to transferee and runs the network.
func (nw *network) transfer(id, transferee uint64) {
	nw.send(pb.Message{From: transferee, To: id, Type: pb.MsgTransferLeader})
}

func TestLeadershipTransfer(t *testing.T) {
	t.Run("to an up-to-date peer", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		nw.transfer(1, 2)
		assert.Equal(t, StateLeader, nodes[1].raft.state, "got %v for 2, want leader", nodes[1].raft.state)
		assert.Equal(t, StateFollower, nodes[0].raft.state, "got %v for 1, want follower", nodes[0].raft.state)
		assert.Equal(t, uint64(2), nodes[1].raft.term, "got term %d, want 2", nodes[1].raft.term)
	})
	t.Run("to a lagging peer, which is caught up first", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		nw.isolate(3)
		nw.propose(1, "x")
		nw.heal()
		leader := nodes[0]
		require.NoError(t, leader.raft.Step(pb.Message{From: 3, To: 1, Type: pb.MsgTransferLeader}))
		assert.Equal(t, uint64(3), leader.raft.leadTransferee(), "got transferee %d, want 3", leader.raft.leadTransferee())
		msgs := leader.process()
		assert.Len(t, msgsOf(msgs, pb.MsgApp, 3), 1, "got no append to catch 3 up")
		assert.Empty(t, msgsOf(msgs, pb.MsgTimeoutNow, 3), "got MsgTimeoutNow before 3 is caught up")
		nw.send(msgs...)
		assert.Equal(t, StateLeader, nodes[2].raft.state, "got %v for 3, want leader", nodes[2].raft.state)
	})
	t.Run("through a follower", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		nodes[1].TransferLeader(2)
		nw.send(nodes[1].process()...)
		assert.Equal(t, StateLeader, nodes[1].raft.state, "got %v for 2, want leader", nodes[1].raft.state)
	})
	t.Run("proposals are dropped meanwhile", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		nw.isolate(3)
		nodes[0].TransferLeader(3)
		err := nodes[0].Propose([]byte("x"))
		assert.ErrorIs(t, err, ErrProposalDropped, "got %v, want ErrProposalDropped", err)
	})
	t.Run("aborted after an election timeout", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		nw.isolate(3)
		leader := nodes[0]
		leader.TransferLeader(3)
		require.Equal(t, uint64(3), leader.BasicStatus().LeadTransferee, "transferee: got %v, want 3", leader.BasicStatus().LeadTransferee)
		for range 9 {
			leader.Tick()
		}
		assert.Equal(t, uint64(3), leader.BasicStatus().LeadTransferee, "got the transfer aborted early")
		leader.Tick()
		assert.Equal(t, None, leader.BasicStatus().LeadTransferee, "got the transfer still running after an election timeout")
		assert.Equal(t, StateLeader, leader.raft.state, "got %v, want leader", leader.raft.state)
		assert.NoError(t, leader.Propose([]byte("x")), "got proposals still refused")
	})
	t.Run("refused to a learner", func(t *testing.T) {
		n := newTestNode(t, 1, newConfStorage([]uint64{1}, 2))
		nw := newNetwork(n)
		nw.campaign(1)
		n.TransferLeader(2)
		assert.Equal(t, None, n.raft.leadTransferee(), "got a transfer to a learner")
	})
	t.Run("to self is a no-op", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 3)
		nodes[0].TransferLeader(1)
		assert.Equal(t, None, nodes[0].raft.leadTransferee(), "got a transfer to self")
	})
	t.Run("a second request for another peer replaces the first", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		nw.isolate(3)
		nw.isolate(2)
		nodes[0].TransferLeader(3)
		nodes[0].TransferLeader(2)
		assert.Equal(t, uint64(2), nodes[0].raft.leadTransferee(), "got transferee %d, want 2", nodes[0].raft.leadTransferee())
	})
	t.Run("removing the transferee aborts", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		nw.isolate(3)
		nodes[0].TransferLeader(3)
		nodes[0].ApplyConfChange(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 3})
		assert.Equal(t, None, nodes[0].raft.leadTransferee(), "got the transfer to a removed peer still running")
	})
	t.Run("the transferee campaigns without pre-vote and through leases", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3, withPreVote(), withCheckQuorum())
		nw.transfer(1, 3)
		assert.Equal(t, StateLeader, nodes[2].raft.state, "got %v for 3, want leader", nodes[2].raft.state)
	})
}

func TestForgetLeader(t *testing.T) {
	t.Run("a follower forgets its leader and can grant a pre-vote at once", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3, withPreVote(), withCheckQuorum())
		nw.isolate(1)
		require.NoError(t, nodes[1].ForgetLeader())
		assert.Equal(t, None, nodes[1].raft.lead, "got lead %d, want none", nodes[1].raft.lead)
		assert.Equal(t, StateFollower, nodes[1].raft.state, "got %v, want follower", nodes[1].raft.state)
		assert.Equal(t, uint64(1), nodes[1].raft.term, "got term %d, want 1", nodes[1].raft.term)
		nw.campaign(3)
		assert.Equal(t, StateLeader, nodes[2].raft.state, "got %v for 3, want leader", nodes[2].raft.state)
	})
	t.Run("one follower alone cannot depose a live leader", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3, withPreVote(), withCheckQuorum())
		require.NoError(t, nodes[2].ForgetLeader())
		nw.campaign(3)
		assert.Equal(t, StateLeader, nodes[0].raft.state, "got %v for 1, want leader", nodes[0].raft.state)
	})
	t.Run("the leader is followed again when heard from", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		require.NoError(t, nodes[1].ForgetLeader())
		nw.send(pb.Message{From: 1, To: 1, Type: pb.MsgBeat})
		assert.Equal(t, uint64(1), nodes[1].raft.lead, "got lead %d, want 1", nodes[1].raft.lead)
	})
	t.Run("a no-op under ReadOnlyLeaseBased", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 3, withCheckQuorum(), withLeaseReads())
		require.NoError(t, nodes[1].ForgetLeader())
		assert.Equal(t, uint64(1), nodes[1].raft.lead, "got lead %d, want 1 kept", nodes[1].raft.lead)
	})
	t.Run("a no-op on the leader and a candidate", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 3)
		require.NoError(t, nodes[0].ForgetLeader())
		assert.Equal(t, StateLeader, nodes[0].raft.state, "nodes[0].raft.state: got %v, want StateLeader", nodes[0].raft.state)
		assert.Equal(t, uint64(1), nodes[0].raft.lead, "nodes[0].raft.lead: got %v, want 1", nodes[0].raft.lead)
		c := newTestNode(t, 1, newConfStorage([]uint64{1, 2, 3}))
		require.NoError(t, c.Campaign())
		require.NoError(t, c.ForgetLeader())
		assert.Equal(t, StateCandidate, c.raft.state, "c.raft.state: got %v, want StateCandidate", c.raft.state)
	})
}

// TestTransferStateSetAside checks that a leader keeps no room for a
// transfer (leaderState.aside) until one starts, and lets it go once the
// transfer is abandoned.
func TestTransferStateSetAside(t *testing.T) {
	nodes, nw := leaderWithFollowers(t, 3)
	leader := nodes[0]
	require.Nil(t, leader.raft.leading.aside, "got room set aside before any transfer")
	nw.isolate(3)
	nw.propose(1, "x")
	require.NoError(t, leader.raft.Step(pb.Message{From: 3, To: 1, Type: pb.MsgTransferLeader}))
	require.NotNil(t, leader.raft.leading.aside, "got no room for the transfer under way")
	assert.Equal(t, uint64(3), leader.raft.leadTransferee(), "got transferee %d, want 3", leader.raft.leadTransferee())
	for range leader.raft.cfg.electionTimeout {
		leader.raft.tick()
	}
	assert.Equal(t, uint64(None), leader.raft.leadTransferee(), "got transferee %d after an election timeout, want none", leader.raft.leadTransferee())
	assert.Nil(t, leader.raft.leading.aside, "got the room of an abandoned transfer kept")
}
