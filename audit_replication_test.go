package raft

import (
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAuditEmptyProbeIsTheOneAppendOutstanding pins down the probe rule of
// flow control (thesis 3.5) for the case the existing flow-control tests do
// not reach: a probe that carries no entries, because the follower already
// has them all. It is as much a probe as one with entries, so until the
// follower answers it (or a heartbeat response shows it alive) nothing else
// goes to that follower, not even the next proposal.
func TestAuditEmptyProbeIsTheOneAppendOutstanding(t *testing.T) {
	nodes, _ := leaderWithFollowers(t, 3)
	leader := nodes[0]
	term := leader.raft.term

	// Follower 3 has everything; reporting it unreachable puts it back in
	// probe state with nothing left to send.
	leader.ReportUnreachable(3)
	pr := leader.raft.leading.repl.progress[3]
	require.Equal(t, tracker.StateProbe, pr.State, "got %v, want probe after ReportUnreachable", pr.State)
	require.Greater(t, pr.Next, leader.raft.log.lastIndex(), "follower 3 should be missing nothing")

	t.Run("a heartbeat response draws an empty probe", func(t *testing.T) {
		require.NoError(t, leader.Step(pb.Message{From: 3, To: 1, Type: pb.MsgHeartbeatResp, Term: term}))
		apps := msgsOf(leader.process(), pb.MsgApp, 3)
		require.Len(t, apps, 1, "got %d appends to 3, want one probe", len(apps))
		assert.Empty(t, apps[0].Entries, "got %d entries in the probe, want none", len(apps[0].Entries))
	})

	t.Run("while it is unanswered a proposal goes to the other followers only", func(t *testing.T) {
		require.NoError(t, leader.Propose([]byte("a")))
		msgs := leader.process()
		assert.Len(t, msgsOf(msgs, pb.MsgApp, 2), 1, "got %d appends to 2, want 1", len(msgsOf(msgs, pb.MsgApp, 2)))
		got := msgsOf(msgs, pb.MsgApp, 3)
		assert.Empty(t, got, "got %v to 3, want nothing while its probe is outstanding", got)
	})

	t.Run("the answer to the probe resumes replication", func(t *testing.T) {
		require.NoError(t, leader.Step(pb.Message{From: 3, To: 1, Type: pb.MsgAppResp, Term: term, Index: pr.Next - 1}))
		apps := msgsOf(leader.process(), pb.MsgApp, 3)
		require.Len(t, apps, 1, "got %d appends to 3, want 1", len(apps))
		assert.Len(t, apps[0].Entries, 1, "got %d entries, want the proposal", len(apps[0].Entries))
		assert.Equal(t, tracker.StateReplicate, pr.State, "got %v, want replicate", pr.State)
	})
}
