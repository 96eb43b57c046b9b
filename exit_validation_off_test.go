package raft

import (
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The exit hold with DisableConfChangeValidation (exit.go: the commit cap,
// the campaign refusal past a held exit). Each subtest is a scenario in
// which a peer that holds, or should hold, its exit must neither let it go
// while no voter of the new configuration knows it is committed, nor keep
// a group that needs it from ever electing again, nor commit anything that
// a later configuration's voters could overwrite.

// noValidation turns configuration change validation off.
func noValidation() testOption {
	return func(c *Config) { c.DisableConfChangeValidation = true }
}

// hideCommitFrom makes nw drop every message from 1 to 2 that would tell 2
// a commit index of at least index: 2 acknowledges entries but does not
// learn that they are committed.
func hideCommitFrom(nw *network, index uint64) {
	nw.filter = func(m pb.Message) bool {
		if m.From != 1 || m.To != 2 {
			return true
		}
		return (m.Type != pb.MsgApp && m.Type != pb.MsgHeartbeat) || m.Commit < index
	}
}

// electSomeone ticks the live peers until one of them leads with the log
// committed through index known to peer id, for at most rounds election
// timeouts, and reports whether that happened.
func electSomeone(nw *network, id, index uint64, rounds int) bool {
	for range rounds * testElectionTick {
		if len(nw.leaders()) > 0 && nw.nodes[id].raft.log.committed() >= index {
			return true
		}
		nw.tick()
	}
	return len(nw.leaders()) > 0 && nw.nodes[id].raft.log.committed() >= index
}

// stepDownForTwo has 2 campaign in a higher term, which makes leader 1
// step down (and, with its longer log, refuse its vote).
func stepDownForTwo(t *testing.T, nw *network) {
	t.Helper()
	nw.campaign(2)
	require.NotEqual(t, StateLeader, nw.nodes[1].raft.state, "1 should have stepped down for 2's higher term")
}

// assertTwoLearns heals nw and asserts that, within 50 election timeouts, a
// leader is elected and 2 learns that index is committed.
func assertTwoLearns(t *testing.T, nw *network, index uint64) {
	t.Helper()
	nw.heal()
	assert.True(t, electSomeone(nw, 2, index, 50), "got no leader with 2 knowing the change at %d committed (leaders %v, 2 committed %d, 1 in %v)",
		index, nw.leaders(), nw.nodes[2].raft.log.committed(), confStateOf(nw.nodes[1]))
}

// demoteAndRemoveLeader has leader 1 of a cluster of two propose its
// demotion and then its removal, both appended before either applies,
// and has 2 acknowledge both without learning that any is committed. It
// returns the indexes of the two changes.
func demoteAndRemoveLeader(t *testing.T, nodes []*testNode, nw *network) (demotion, removal uint64) {
	t.Helper()
	leader := nodes[0]
	require.NoError(t, leader.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 1}))
	demotion = leader.raft.log.lastIndex()
	require.NoError(t, leader.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1}))
	removal = leader.raft.log.lastIndex()
	require.Greater(t, removal, demotion)
	hideCommitFrom(nw, demotion)
	nw.send(leader.process()...)
	// NB: whether the leader counts the removal committed too is left
	// open: a fix may keep it from doing so until the demotion is let go.
	require.GreaterOrEqual(t, nodes[1].raft.log.lastIndex(), removal, "2 should acknowledge both changes")
	require.GreaterOrEqual(t, leader.raft.log.committed(), demotion, "1 and 2 should commit the demotion")
	require.Less(t, nodes[1].raft.log.committed(), demotion, "2 should not know the changes are committed")
	require.Equal(t, demotion, leader.raft.heldExitIndex(), "the leader should hold its demotion")
	return demotion, removal
}

func TestExitHoldWithoutValidation(t *testing.T) {
	t.Run("a leader that steps down holding its exit can campaign past a second leave-joint that does not apply", func(t *testing.T) {
		// Found by the simulation with validation forced off (seeds 3233,
		// 4261, 4911): leader 1 of joint configuration (2)&&(1 2) commits
		// two requests to leave it; the first is its exit, which it holds,
		// and the second does not apply. 1 steps down before 2 learns of
		// the commit (there, a leadership transfer whose candidate's log
		// the marker had just made stale). 1 then refuses to campaign,
		// counting the second leave-joint as a pending change, and 2
		// cannot win without 1's vote, which 1 refuses as its log (the
		// marker) is longer.
		nodes, nw := leaderWithFollowers(t, 2, noValidation())
		leader, other := nodes[0], nodes[1]
		nw.proposeConfChange(t, 1, pb.ConfChangeV2{Transition: pb.ConfChangeTransitionJointExplicit,
			Changes: []pb.ConfChangeSingle{{Type: pb.ConfChangeRemoveNode, NodeID: 1}}})
		require.Equal(t, []uint64{1, 2}, confState(leader.raft.conf.config()).VotersOutgoing, "1 should be in the joint configuration")
		require.NoError(t, leader.ProposeConfChange(pb.ConfChangeV2{}))
		leave := leader.raft.log.lastIndex()
		require.NoError(t, leader.ProposeConfChange(pb.ConfChangeV2{}))
		hideCommitFrom(nw, leave)
		nw.send(leader.process()...)
		require.Equal(t, leave, leader.raft.heldExitIndex(), "the leader should hold its leave-joint")
		require.Less(t, other.raft.log.committed(), leave)

		stepDownForTwo(t, nw)
		assert.Empty(t, leader.raft.campaignRefusal(),
			"got 1 refusing to campaign, while 2 cannot win without it; want a change that does not apply after the held exit not counted as pending")

		assertTwoLearns(t, nw, leave)
	})

	t.Run("a leader holding its exit commits nothing that a later configuration's voters can overwrite", func(t *testing.T) {
		// Found by the simulation with validation forced off (seed 7048,
		// with a change to exit.go under trial): 1 removes itself, then
		// demotes 2, and 1, 2 and 3 commit both. 1 holds its removal and
		// goes on counting votes and acknowledgements in (1 2 3). 3 learns
		// that both changes are committed and applies them: it is the only
		// voter of (3), while 1, not yet past its exit, commits with 2 alone
		// - a quorum of (1 2 3) that does not overlap (3). 3 then elects
		// itself and overwrites what 1 committed.
		nodes, nw := leaderWithFollowers(t, 3, noValidation())
		leader, third := nodes[0], nodes[2]
		require.NoError(t, leader.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1}))
		require.NoError(t, leader.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 2}))
		demotion := leader.raft.log.lastIndex()
		// 3 gets the two changes, then no entry after them: it learns that
		// they are committed from heartbeats only.
		nw.filter = func(m pb.Message) bool {
			if m.From != 1 || m.To != 3 || m.Type != pb.MsgApp {
				return true
			}
			for _, e := range m.Entries {
				if e.Index > demotion {
					return false
				}
			}
			return true
		}
		nw.send(leader.process()...)
		nw.send(pb.Message{From: 1, To: 1, Type: pb.MsgBeat})
		require.GreaterOrEqual(t, leader.raft.log.committed(), demotion-1, "1, 2 and 3 should commit the removal")

		// NB: 3 does not get x; 1 commits it if it counts votes in (1 2 3).
		nw.propose(1, "x")

		// NB: 3 wins alone if it applied both changes.
		nw.campaign(3)
		nw.send(pb.Message{From: 3, To: 3, Type: pb.MsgBeat})
		for i := uint64(1); i <= min(leader.raft.log.committed(), third.raft.log.committed()); i++ {
			want, err := leader.raft.log.term(i)
			require.NoError(t, err)
			got, err := third.raft.log.term(i)
			require.NoError(t, err)
			assert.Equal(t, want, got, "entry %d: got term %d committed by 3, want term %d as 1 committed it first", i, got, want)
		}
	})

	t.Run("a leader demoted, made a voter again and removed in one batch applies no exit before the new voters know", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3, noValidation())
		leader := nodes[0]
		nw.isolate(3)
		for _, cc := range []pb.ConfChange{
			{Type: pb.ConfChangeAddLearnerNode, NodeID: 1},
			{Type: pb.ConfChangeAddNode, NodeID: 1},
			{Type: pb.ConfChangeRemoveNode, NodeID: 1},
		} {
			require.NoError(t, leader.ProposeConfChange(cc))
		}
		removal := leader.raft.log.lastIndex()
		nw.send(leader.process()...)
		require.GreaterOrEqual(t, nodes[1].raft.log.lastIndex(), removal, "2 should acknowledge the three changes")
		assert.NotZero(t, leader.raft.heldExitIndex(), "got no exit held")
		assert.Less(t, leader.raft.log.applied(), removal, "got the removal applied while 3 cannot know it is committed")

		nw.heal()
		for range 3 {
			nw.send(pb.Message{From: 1, To: 1, Type: pb.MsgBeat})
		}
		assert.Zero(t, leader.raft.heldExitIndex(), "got an exit still held after 2 and 3 acknowledged the markers")
		assert.Equal(t, []uint64{2, 3}, confStateOf(leader).Voters)
	})

	for _, tc := range []struct {
		name string
		opts []testOption
	}{
		{"with a batch of one entry per Ready", []testOption{withConfig(func(c *Config) { c.MaxCommittedSizePerReady = 1 })}},
		{"with AsyncStorageWrites", []testOption{withAsyncWrites()}},
		{"with StepDownOnRemoval", []testOption{withStepDownOnRemoval()}},
	} {
		t.Run("a leader holds its demotion committed with its removal "+tc.name, func(t *testing.T) {
			nodes, nw := leaderWithFollowers(t, 3, append(tc.opts, noValidation())...)
			leader := nodes[0]
			nw.isolate(3)
			require.NoError(t, leader.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 1}))
			demotion := leader.raft.log.lastIndex()
			require.NoError(t, leader.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1}))
			removal := leader.raft.log.lastIndex()
			nw.send(leader.process()...)
			require.GreaterOrEqual(t, nodes[1].raft.log.lastIndex(), removal, "2 should acknowledge both changes")
			require.GreaterOrEqual(t, leader.raft.log.committed(), demotion, "1 and 2 should commit the demotion")
			assert.Equal(t, demotion, leader.raft.heldExitIndex(), "got the demotion not held")
			assert.Less(t, leader.raft.log.applied(), demotion, "got the demotion applied while 3 cannot know it is committed")

			nw.heal()
			nw.send(pb.Message{From: 1, To: 1, Type: pb.MsgBeat})
			assert.Zero(t, leader.raft.heldExitIndex(), "got the exit still held after 2 and 3 acknowledged the marker")
			// NB: with StepDownOnRemoval, a leader that applied its demotion
			// may leave the removal to the next leader.
			for range 50 * testElectionTick {
				if leader.raft.log.applied() >= removal && nodes[1].raft.log.committed() >= removal && nodes[2].raft.log.committed() >= removal {
					break
				}
				nw.tick()
			}
			assert.GreaterOrEqual(t, leader.raft.log.applied(), removal)
			assert.Equal(t, []uint64{2, 3}, confStateOf(leader).Voters)
			for _, n := range nodes[1:] {
				assert.GreaterOrEqual(t, n.raft.log.committed(), removal, "peer %x: got commit %d, want both changes known", n.raft.id, n.raft.log.committed())
			}
		})
	}
}
