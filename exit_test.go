package raft

import (
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExitHold(t *testing.T) {
	// Issue 12 (found by the simulation, seed 69): a leader that removes
	// itself must not hand the removal to its application - which may stop
	// it - before a quorum of the new configuration knows it is committed.
	t.Run("the removal waits until the new voters acknowledge the marker", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		leader := nodes[0]
		// Node 3 hears nothing: the new configuration (2 3) cannot learn
		// the commit from it.
		nw.isolate(3)
		require.NoError(t, leader.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1}))
		nw.send(leader.process()...)
		ccIndex := leader.raft.leading.pendingConfIndex
		require.GreaterOrEqual(t, leader.raft.log.committed(), ccIndex, "the removal should commit with 1 and 2")
		require.NotZero(t, leader.raft.heldExitIndex(), "got no hold for the leader's own removal")
		assert.Less(t, leader.raft.log.applied(), ccIndex, "got the removal applied while 3 cannot know it is committed")
		assert.Equal(t, []uint64{1, 2, 3}, confStateOf(leader).Voters)

		nw.heal()
		nw.send(pb.Message{From: 1, To: 1, Type: pb.MsgBeat})
		assert.Zero(t, leader.raft.heldExitIndex(), "got the exit still held after 2 and 3 acknowledged the marker")
		assert.GreaterOrEqual(t, leader.raft.log.applied(), ccIndex)
		assert.Equal(t, []uint64{2, 3}, confStateOf(leader).Voters)
		for _, n := range nodes[1:] {
			assert.GreaterOrEqual(t, n.raft.log.committed(), ccIndex, "peer %x: got commit %d, want the removal at %d known", n.raft.id, n.raft.log.committed(), ccIndex)
		}
	})
	t.Run("other changes are not held back", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		leader := nodes[0]
		nw.isolate(3)
		require.NoError(t, leader.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 3}))
		nw.send(leader.process()...)
		assert.Zero(t, leader.raft.heldExitIndex())
		assert.Equal(t, []uint64{1, 2}, confStateOf(leader).Voters, "got the removal of another peer held back")
	})
	t.Run("a demotion to learner is held back too", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		leader := nodes[0]
		nw.isolate(3)
		require.NoError(t, leader.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 1}))
		nw.send(leader.process()...)
		require.NotZero(t, leader.raft.heldExitIndex(), "got no hold for the leader's own demotion")
		nw.heal()
		nw.send(pb.Message{From: 1, To: 1, Type: pb.MsgBeat})
		assert.Equal(t, []uint64{1}, confStateOf(leader).Learners)
	})
	t.Run("a leader that is already a learner is not held back by later changes", func(t *testing.T) {
		// Found by the simulation (seed 1010): a demoted leader, still
		// leading, held back a later change that added a voter, and waited
		// forever for that voter, which it would only replicate to after
		// applying the change.
		nodes, nw := leaderWithFollowers(t, 3)
		leader := nodes[0]
		nw.proposeConfChange(t, 1, pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 1})
		require.Equal(t, []uint64{1}, confStateOf(leader).Learners)
		require.Equal(t, StateLeader, leader.raft.state)
		nw.nodes[4] = newTestNode(t, 4, newConfStorage(nil))
		nw.proposeConfChange(t, 1, pb.ConfChange{Type: pb.ConfChangeAddNode, NodeID: 4})
		assert.Zero(t, leader.raft.heldExitIndex(), "got a change held back that does not take a voter out")
		assert.Equal(t, []uint64{2, 3, 4}, confStateOf(leader).Voters)
	})
	t.Run("a restarted follower holds its exit back until it knows a leader", func(t *testing.T) {
		// Found by the simulation (seed 259): a leader committed its own
		// demotion and crashed before the others learned of the commit;
		// restarted as a follower it applied the demotion at once, could
		// no longer campaign, and the others could not win without it.
		nodes, nw := leaderWithFollowers(t, 3)
		old := nodes[0]
		nw.isolate(2)
		nw.isolate(3)
		require.NoError(t, old.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 1}))
		old.process()
		// 3 alone acknowledges the change, so that it commits; then the
		// leader crashes before telling anyone.
		last := old.raft.log.lastIndex()
		require.NoError(t, old.Step(pb.Message{From: 3, To: 1, Type: pb.MsgAppResp, Term: old.raft.term, Index: last}))
		old.process()
		require.GreaterOrEqual(t, old.storage.hardState.Commit, last, "the change should be committed and persisted")

		restarted := newTestNode(t, 1, old.storage)
		nw.nodes[1] = restarted
		restarted.process()
		assert.Less(t, restarted.raft.log.applied(), last, "got the exit applied before any other voter knows it is committed")
		assert.True(t, restarted.raft.promotable(), "got a peer that can no longer campaign")
		assert.Empty(t, restarted.raft.campaignRefusal(), "got the held exit counted as a pending change")

		nw.heal()
		nw.campaign(1)
		require.Equal(t, StateLeader, restarted.raft.state, "the peer should win under the configuration before its exit")
		nw.send(pb.Message{From: 1, To: 1, Type: pb.MsgBeat})
		assert.Zero(t, restarted.raft.heldExitIndex(), "got the exit still held once the others know it is committed")
		assert.Equal(t, []uint64{1}, confStateOf(restarted).Learners)
		for _, n := range nodes[1:] {
			assert.GreaterOrEqual(t, n.raft.log.committed(), last, "peer %x: got commit %d, want the exit at %d known", n.raft.id, n.raft.log.committed(), last)
		}
	})
	t.Run("a leaving leader tells a departing follower only once the new configuration knows", func(t *testing.T) {
		// Found by the simulation (seed 1604): removed leader 1 (still
		// leading without StepDownOnRemoval) committed the removal of
		// follower 2, which let its exit go on the leader's word; both
		// were stopped, and 3, the only voter left, never learned of the
		// commit and counted votes in the configuration before it.
		nodes, nw := leaderWithFollowers(t, 3, withConfig(func(c *Config) { c.DisableConfChangeValidation = true }))
		leader, follower, third := nodes[0], nodes[1], nodes[2]
		nw.isolate(3)
		// Both changes are appended before either is applied, which only
		// DisableConfChangeValidation allows.
		require.NoError(t, leader.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1}))
		require.NoError(t, leader.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 2}))
		ccIndex := leader.raft.leading.pendingConfIndex
		nw.send(leader.process()...)
		nw.send(pb.Message{From: 1, To: 1, Type: pb.MsgBeat})
		// NB: the leader commits 2's removal only once it has applied its
		// own (see exitHold), which waits for 3.
		require.Less(t, leader.raft.log.committed(), ccIndex, "got 2's removal committed in the configuration before 1's")
		assert.Less(t, follower.raft.log.committed(), ccIndex, "got 2 told of its removal while 3 cannot know it")
		assert.Less(t, follower.raft.log.applied(), ccIndex, "got 2's removal applied while 3 cannot know it")

		// Once 3 hears from the leader, the new configuration can go on
		// without 2. NB: the leader, having applied both changes, sends
		// 2 nothing more; like any removed peer that missed its removal,
		// 2 learns it only from a later leader.
		nw.heal()
		nw.send(pb.Message{From: 1, To: 1, Type: pb.MsgBeat})
		assert.GreaterOrEqual(t, third.raft.log.committed(), ccIndex, "got 3 not knowing the changes committed")
		assert.Equal(t, []uint64{3}, confStateOf(third).Voters)
	})
	t.Run("a leader commits no later change before it applies its exit", func(t *testing.T) {
		// Found by the simulation (seed 46622, without validation): a
		// leader holding its exit counts acknowledgements in the
		// configuration before it; it committed a later change that way,
		// the others applied both changes, and the one voter left elected
		// itself without the entries the leader went on committing.
		nodes, nw := leaderWithFollowers(t, 3, withConfig(func(c *Config) { c.DisableConfChangeValidation = true }))
		leader := nodes[0]
		nw.isolate(3)
		nw.proposeConfChange(t, 1, pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 1})
		demotion := leader.raft.heldExitIndex()
		require.NotZero(t, demotion, "got no hold for the leader's own demotion")

		nw.proposeConfChange(t, 1, pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 2})
		removal := leader.raft.log.lastIndex()
		require.Equal(t, uint64(removal), nodes[1].raft.log.lastIndex(), "2 should hold the later change")
		assert.Less(t, leader.raft.log.committed(), removal, "got the later change committed by 1 and 2, the configuration before the demotion")
		assert.Equal(t, demotion, leader.raft.heldExitIndex())

		// Once 3 acknowledges the marker, the demotion goes, and the
		// later change commits in the configuration after it.
		nw.heal()
		nw.send(pb.Message{From: 1, To: 1, Type: pb.MsgBeat})
		nw.send(pb.Message{From: 1, To: 1, Type: pb.MsgBeat})
		assert.Zero(t, leader.raft.heldExitIndex(), "got the exit still held after 2 and 3 acknowledged the marker")
		assert.GreaterOrEqual(t, leader.raft.log.committed(), removal, "got the later change not committed once the demotion was applied")
		assert.Equal(t, []uint64{3}, confStateOf(leader).Voters)
	})
	t.Run("a restarted peer does not hold an exit with a later change behind it", func(t *testing.T) {
		// Found by the simulation (seed 47670): a peer restarted with its
		// demotion committed and a later change in its log, not known
		// committed. It held the demotion, campaigned in the configuration
		// before it and won, while the others had applied both changes
		// and counted votes in a configuration whose quorums need not
		// overlap its own.
		demote, err := (&pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 1}).Marshal()
		require.NoError(t, err)
		remove, err := (&pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 2}).Marshal()
		require.NoError(t, err)
		s := newConfStorage([]uint64{1, 2, 3})
		require.NoError(t, s.Append([]pb.Entry{
			{Index: 1, Term: 1},
			{Index: 2, Term: 1, Type: pb.EntryConfChange, Data: demote},
			{Index: 3, Term: 1, Type: pb.EntryConfChange, Data: remove},
		}))
		require.NoError(t, s.SetHardState(pb.HardState{Term: 1, Commit: 2}))
		n := newTestNode(t, 1, s)
		n.process()
		assert.Zero(t, n.raft.heldExitIndex(), "got the exit held with a later change behind it")
		assert.Equal(t, uint64(2), n.raft.log.applied(), "got the demotion not applied")
		assert.Equal(t, []uint64{1}, confStateOf(n).Learners)
		assert.NotEmpty(t, n.raft.campaignRefusal(), "got a demoted peer that may campaign")
	})
	t.Run("a later change that does not apply keeps the exit held", func(t *testing.T) {
		// Seed 21756: every peer skips a change that does not apply, so it
		// moves nothing on.
		nodes, nw := leaderWithFollowers(t, 3, withConfig(func(c *Config) { c.DisableConfChangeValidation = true }))
		leader := nodes[0]
		nw.isolate(3)
		require.NoError(t, leader.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1}))
		removal := leader.raft.leading.pendingConfIndex
		// Leaving a joint configuration does not apply outside one.
		require.NoError(t, leader.ProposeConfChange(pb.ConfChangeV2{}))
		nw.send(leader.process()...)
		require.GreaterOrEqual(t, leader.raft.log.committed(), leader.raft.leading.pendingConfIndex, "1 and 2 should commit both changes")
		assert.Equal(t, removal, leader.raft.heldExitIndex(), "got the removal not held")
		assert.Less(t, leader.raft.log.applied(), removal)
	})
}

func TestMayRemoveSelf(t *testing.T) {
	r := newTestNode(t, 2, newConfStorage([]uint64{1, 2, 3})).raft
	entry := func(cc pb.ConfChangeI) *pb.Entry {
		typ, data, err := pb.MarshalConfChange(cc)
		require.NoError(t, err)
		return &pb.Entry{Type: typ, Data: data, Index: 7}
	}
	for _, tt := range []struct {
		name string
		e    *pb.Entry
		want bool
	}{
		{"its removal", entry(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 2}), true},
		{"its demotion to learner", entry(pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 2}), true},
		{"a joint change naming it", entry(pb.ConfChangeV2{Changes: []pb.ConfChangeSingle{
			{Type: pb.ConfChangeAddNode, NodeID: 4}, {Type: pb.ConfChangeRemoveNode, NodeID: 2}}}), true},
		{"leaving a joint configuration", entry(pb.ConfChangeV2{}), true},
		{"another peer's removal", entry(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 3}), false},
		{"a joint change naming others only", entry(pb.ConfChangeV2{Changes: []pb.ConfChangeSingle{
			{Type: pb.ConfChangeAddNode, NodeID: 4}, {Type: pb.ConfChangeRemoveNode, NodeID: 3}}}), false},
		{"a change that does not decode", &pb.Entry{Type: pb.EntryConfChangeV2, Data: []byte{0xff}, Index: 7}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// NB: as holdExit asks: a change that does not decode is
			// skipped by every peer.
			cc, err := decodeConfChange(*tt.e)
			got := err == nil && r.mayRemoveSelf(cc)
			assert.Equal(t, tt.want, got, "mayRemoveSelf: got %v, want %v", got, tt.want)
		})
	}
}
