package raft

import (
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAuditGrantingAVoteRestartsTheElectionTimer checks the rule for
// followers of the paper's figure 2: a follower converts to candidate only
// if its election timeout elapses "without receiving AppendEntries RPC from
// current leader or granting vote to candidate". The vote here is of the
// follower's own term, so no term change resets the timer on the side.
func TestAuditGrantingAVoteRestartsTheElectionTimer(t *testing.T) {
	s := newConfStorage([]uint64{1, 2, 3})
	require.NoError(t, s.SetHardState(pb.HardState{Term: 5}))
	n := newTestNode(t, 2, s)
	r := n.raft
	r.setRandomizedElectionTimeout(r.cfg.electionTimeout)
	for range r.cfg.electionTimeout - 1 {
		n.Tick()
	}
	require.Equal(t, StateFollower, r.state, "got %v one tick before the timeout, want follower", r.state)

	require.NoError(t, n.Step(pb.Message{From: 3, To: 2, Type: pb.MsgVote, Term: 5}))
	require.Equal(t, uint64(3), r.vote, "got vote %x, want the vote granted to 3", r.vote)
	resps := msgsOf(n.process(), pb.MsgVoteResp, 3)
	require.Len(t, resps, 1, "got %d vote responses, want 1", len(resps))
	require.False(t, resps[0].Reject, "got a rejection, want the vote granted")

	t.Run("the tick that would have timed out does not", func(t *testing.T) {
		n.Tick()
		assert.Equal(t, StateFollower, r.state, "got %v, want follower", r.state)
		assert.Equal(t, uint64(5), r.term, "got term %d, want 5", r.term)
	})
	t.Run("a full timeout after the vote does", func(t *testing.T) {
		for range r.cfg.electionTimeout - 1 {
			n.Tick()
		}
		assert.Equal(t, StateCandidate, r.state, "got %v, want candidate", r.state)
	})
}
