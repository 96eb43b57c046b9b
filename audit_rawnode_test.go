package raft

import (
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAuditTickQuiescedOnALeader checks the leader's side of TickQuiesced,
// which the existing test covers only for a follower: a quiesced leader's
// clock moves, but it sends no heartbeats and, even with CheckQuorum, does
// not step down for lack of responses it never asked for.
func TestAuditTickQuiescedOnALeader(t *testing.T) {
	nodes, _ := leaderWithFollowers(t, 3, withCheckQuorum())
	leader := nodes[0]
	require.False(t, leader.HasReady(), "the leader should have nothing pending")
	for range 10 * leader.raft.cfg.electionTimeout {
		leader.TickQuiesced()
	}
	t.Run("no heartbeats", func(t *testing.T) {
		msgs := leader.process()
		assert.Empty(t, msgs, "got %v, want no messages", msgTypes(msgs))
	})
	t.Run("no CheckQuorum step-down", func(t *testing.T) {
		assert.Equal(t, StateLeader, leader.raft.state, "got %v, want leader", leader.raft.state)
	})
	t.Run("the next tick resumes heartbeats", func(t *testing.T) {
		leader.Tick()
		got := msgTypes(leader.process())
		assert.Contains(t, got, pb.MsgHeartbeat, "got %v, want heartbeats", got)
	})
}
