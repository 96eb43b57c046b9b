package raft

import (
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfChangeV1(t *testing.T) {
	t.Run("add a voter", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		n4 := newTestNode(t, 4, newConfStorage([]uint64{1, 2, 3}))
		nw.nodes[4] = n4
		nw.proposeConfChange(t, 1, pb.ConfChange{Type: pb.ConfChangeAddNode, NodeID: 4})
		want := []uint64{1, 2, 3, 4}
		for _, n := range append(nodes, n4) {
			assert.Equal(t, want, confStateOf(n).Voters, "peer %d: got voters %v, want %v", n.raft.id, confStateOf(n).Voters, want)
		}
		nw.propose(1, "x")
		assert.Equal(t, []string{"x"}, n4.appliedData(), "got %v applied on 4, want [x]", n4.appliedData())
	})
	t.Run("remove a voter shrinks the quorum", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		nw.proposeConfChange(t, 1, pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 3})
		assert.Equal(t, []uint64{1, 2}, confStateOf(nodes[0]).Voters, "got voters %v, want [1 2]", confStateOf(nodes[0]).Voters)
		delete(nw.nodes, 3)
		nw.propose(1, "x")
		assert.Equal(t, []string{"x"}, nodes[1].appliedData(), "got %v applied on 2, want [x]", nodes[1].appliedData())
	})
	t.Run("add a learner, then promote it", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		nw.nodes[4] = newTestNode(t, 4, newConfStorage([]uint64{1, 2, 3}))
		nw.proposeConfChange(t, 1, pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 4})
		cs := confStateOf(nodes[0])
		assert.Equal(t, []uint64{4}, cs.Learners, "got learners %v, want [4]", cs.Learners)
		assert.False(t, nw.nodes[4].raft.promotable(), "got 4 not knowing it is a learner")
		nw.proposeConfChange(t, 1, pb.ConfChange{Type: pb.ConfChangeAddNode, NodeID: 4})
		cs = confStateOf(nodes[0])
		assert.Equal(t, []uint64{1, 2, 3, 4}, cs.Voters, "got voters %v, want [1 2 3 4]", cs.Voters)
		assert.Empty(t, cs.Learners, "got learners %v, want none", cs.Learners)
		assert.True(t, nw.nodes[4].raft.promotable(), "got 4 still a learner")
	})
}

func TestConfChangeOnePendingAtATime(t *testing.T) {
	for _, disabled := range []bool{false, true} {
		name := "the second change becomes a no-op"
		if disabled {
			name = "with validation disabled both are appended"
		}
		t.Run(name, func(t *testing.T) {
			nodes, _ := leaderWithFollowers(t, 3, withConfig(func(c *Config) { c.DisableConfChangeValidation = disabled }))
			leader := nodes[0]
			require.NoError(t, leader.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 4}))
			require.NoError(t, leader.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 5}))
			last := leader.raft.log.lastIndex()
			ents, err := leader.raft.log.slice(last-1, last+1, noLimit)
			require.NoError(t, err)
			assert.Equal(t, pb.EntryConfChange, ents[0].Type, "got %v for the first, want a conf change", ents[0].Type)
			wantSecond := pb.EntryNormal
			if disabled {
				wantSecond = pb.EntryConfChange
			}
			assert.Equal(t, wantSecond, ents[1].Type, "got %v for the second, want %v", ents[1].Type, wantSecond)
		})
	}
	t.Run("a new leader waits until its whole log is applied", func(t *testing.T) {
		r := newTestNode(t, 1, storageWithLog(t, []uint64{1, 2, 3}, 1, 1)).raft
		r.becomeCandidate()
		r.becomeLeader()
		assert.Equal(t, uint64(2), r.leading.pendingConfIndex, "got pending conf index %d, want 2 (the log at election)", r.leading.pendingConfIndex)
		reason, _ := r.confChangeRefusal(pb.ConfChangeV2{Changes: []pb.ConfChangeSingle{{NodeID: 4}}})
		assert.NotEmpty(t, reason, "got a change admitted before the log is applied")
	})
}

func TestConfChangeJoint(t *testing.T) {
	addTwo := []pb.ConfChangeSingle{{Type: pb.ConfChangeAddNode, NodeID: 4}, {Type: pb.ConfChangeAddNode, NodeID: 5}}
	clusterWithNewcomers := func(t *testing.T) ([]*testNode, *network) {
		nodes, nw := leaderWithFollowers(t, 3)
		for _, id := range []uint64{4, 5} {
			nw.nodes[id] = newTestNode(t, id, newConfStorage([]uint64{1, 2, 3}))
		}
		return nodes, nw
	}
	t.Run("an automatic transition leaves the joint configuration by itself", func(t *testing.T) {
		nodes, nw := clusterWithNewcomers(t)
		nw.proposeConfChange(t, 1, pb.ConfChangeV2{Changes: addTwo})
		cs := confStateOf(nodes[0])
		assert.Equal(t, []uint64{1, 2, 3, 4, 5}, cs.Voters, "got voters %v", cs.Voters)
		assert.Empty(t, cs.VotersOutgoing, "got outgoing voters %v, want the joint configuration left", cs.VotersOutgoing)
		assert.False(t, cs.AutoLeave, "got AutoLeave still set")
		for _, n := range nw.nodes {
			assert.Equal(t, cs, confStateOf(n), "peer %d: got %v, want %v", n.raft.id, confStateOf(n), cs)
		}
	})
	t.Run("an implicit transition with one change goes through joint consensus", func(t *testing.T) {
		nodes, nw := clusterWithNewcomers(t)
		var entered bool
		nw.filter = func(m pb.Message) bool {
			if len(nodes[0].raft.conf.config().Voters[1]) > 0 {
				entered = true
			}
			return true
		}
		nw.proposeConfChange(t, 1, pb.ConfChangeV2{Transition: pb.ConfChangeTransitionJointImplicit, Changes: addTwo[:1]})
		assert.True(t, entered, "never saw the joint configuration")
		cs := confStateOf(nodes[0])
		assert.Equal(t, []uint64{1, 2, 3, 4}, cs.Voters, "got voters %v", cs.Voters)
		assert.Empty(t, cs.VotersOutgoing, "got outgoing voters %v", cs.VotersOutgoing)
	})
	t.Run("an explicit transition waits for the application to leave", func(t *testing.T) {
		nodes, nw := clusterWithNewcomers(t)
		nw.proposeConfChange(t, 1, pb.ConfChangeV2{Transition: pb.ConfChangeTransitionJointExplicit, Changes: addTwo})
		cs := confStateOf(nodes[0])
		assert.Equal(t, []uint64{1, 2, 3}, cs.VotersOutgoing, "got outgoing voters %v, want [1 2 3]", cs.VotersOutgoing)
		t.Run("another change is refused while joint", func(t *testing.T) {
			require.NoError(t, nodes[0].ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 6}))
			ents, err := nodes[0].raft.log.slice(nodes[0].raft.log.lastIndex(), nodes[0].raft.log.lastIndex()+1, noLimit)
			require.NoError(t, err)
			assert.Equal(t, pb.EntryNormal, ents[0].Type, "got %v, want the change replaced by a no-op", ents[0].Type)
			nw.send(nodes[0].process()...)
		})
		nw.proposeConfChange(t, 1, pb.ConfChangeV2{})
		cs = confStateOf(nodes[0])
		assert.Empty(t, cs.VotersOutgoing, "got outgoing voters %v after leaving", cs.VotersOutgoing)
		assert.Equal(t, []uint64{1, 2, 3, 4, 5}, cs.Voters, "got voters %v", cs.Voters)
	})
	t.Run("leaving is refused outside a joint configuration", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 3)
		require.NoError(t, nodes[0].ProposeConfChange(pb.ConfChangeV2{}))
		last := nodes[0].raft.log.lastIndex()
		ents, err := nodes[0].raft.log.slice(last, last+1, noLimit)
		require.NoError(t, err)
		assert.Equal(t, pb.EntryNormal, ents[0].Type, "got %v, want the change replaced by a no-op", ents[0].Type)
	})
}

func TestAutoLeaveRetriedAfterAbortedTransfer(t *testing.T) {
	nodes, nw := leaderWithFollowers(t, 3)
	for _, id := range []uint64{4, 5} {
		nw.nodes[id] = newTestNode(t, id, newConfStorage([]uint64{1, 2, 3}))
	}
	leader := nodes[0]
	nw.isolate(3)
	require.NoError(t, leader.ProposeConfChange(pb.ConfChangeV2{Changes: []pb.ConfChangeSingle{
		{Type: pb.ConfChangeAddNode, NodeID: 4}, {Type: pb.ConfChangeAddNode, NodeID: 5}}}))
	held := leader.process()
	leader.TransferLeader(3) // 3 is unreachable: the transfer hangs
	nw.send(held...)
	require.NotEmpty(t, leader.raft.conf.config().Voters[1], "the change should have entered the joint configuration")
	require.True(t, leader.raft.conf.config().AutoLeave, "got a joint configuration to leave by hand, want AutoLeave")
	assert.NotEmpty(t, leader.raft.conf.config().Voters[1], "got the joint configuration left during the transfer")
	for range 10 {
		leader.Tick()
	}
	require.Equal(t, None, leader.raft.leadTransferee(), "the transfer should have been aborted")
	nw.send(leader.process()...)
	assert.Empty(t, leader.raft.conf.config().Voters[1], "got the joint configuration %v still active", leader.raft.conf.config())
}

func TestConfChangeUnknownTransition(t *testing.T) {
	bad := pb.ConfChangeV2{Transition: pb.ConfChangeTransition(7), Changes: []pb.ConfChangeSingle{{NodeID: 4}, {NodeID: 5}}}
	t.Run("ProposeConfChange returns an error", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 3)
		assert.Error(t, nodes[0].ProposeConfChange(bad), "got no error for an unknown transition")
	})
	t.Run("a raw proposal is refused", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 3)
		data, err := bad.Marshal()
		require.NoError(t, err)
		last := nodes[0].raft.log.lastIndex()
		err = nodes[0].raft.Step(pb.Message{Type: pb.MsgProp, Entries: []pb.Entry{{Type: pb.EntryConfChangeV2, Data: data}}})
		assert.Error(t, err, "got no error for an unknown transition")
		assert.Equal(t, last, nodes[0].raft.log.lastIndex(), "got the proposal appended")
	})
	t.Run("applying it changes nothing", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 3)
		before := confStateOf(nodes[0])
		cs := nodes[0].ApplyConfChange(bad)
		assert.Equal(t, before, *cs, "got %v, want the configuration unchanged", *cs)
	})
	t.Run("a malformed conf change proposal is refused", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 3)
		err := nodes[0].raft.Step(pb.Message{Type: pb.MsgProp, Entries: []pb.Entry{{Type: pb.EntryConfChange, Data: []byte{0xff}}}})
		assert.Error(t, err, "got no error for undecodable data")
	})
}

func TestApplyConfChangeReturnsConfState(t *testing.T) {
	n := newTestNode(t, 1, newConfStorage([]uint64{1}))
	cs := n.ApplyConfChange(pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 2})
	assert.Equal(t, pb.ConfState{Voters: []uint64{1}, Learners: []uint64{2}}, *cs, "got %v", *cs)
	cs = n.ApplyConfChange(pb.ConfChangeV2{Changes: []pb.ConfChangeSingle{{Type: pb.ConfChangeAddNode, NodeID: 3}, {Type: pb.ConfChangeAddNode, NodeID: 4}}})
	want := pb.ConfState{Voters: []uint64{1, 3, 4}, VotersOutgoing: []uint64{1}, Learners: []uint64{2}, AutoLeave: true}
	assert.Equal(t, want, *cs, "got %v, want %v", *cs, want)
}

func TestRemovedLeader(t *testing.T) {
	t.Run("keeps leading but accepts no proposals", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		nw.proposeConfChange(t, 1, pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1})
		leader := nodes[0]
		assert.Equal(t, StateLeader, leader.raft.state, "got %v, want leader", leader.raft.state)
		err := leader.Propose([]byte("x"))
		assert.ErrorIs(t, err, ErrProposalDropped, "got %v, want ErrProposalDropped", err)
	})
	t.Run("steps down with StepDownOnRemoval", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3, withStepDownOnRemoval())
		nw.proposeConfChange(t, 1, pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1})
		assert.Equal(t, StateFollower, nodes[0].raft.state, "got %v, want follower", nodes[0].raft.state)
	})
	t.Run("the remaining peers elect a leader", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3, withStepDownOnRemoval())
		nw.proposeConfChange(t, 1, pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1})
		delete(nw.nodes, 1)
		nw.campaign(2)
		assert.Equal(t, StateLeader, nodes[1].raft.state, "got %v for 2, want leader", nodes[1].raft.state)
	})
}

func TestLeaderProbesNewPeerRightAway(t *testing.T) {
	nodes, _ := leaderWithFollowers(t, 3)
	leader := nodes[0]
	leader.ApplyConfChange(pb.ConfChange{Type: pb.ConfChangeAddNode, NodeID: 4})
	apps := msgsOf(sentMessages(leader.raft), pb.MsgApp, 4)
	assert.Len(t, apps, 1, "got %d appends to the new peer, want a probe", len(apps))
}

func TestConfChangeRemovingEveryVoter(t *testing.T) {
	removeSelf := pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1}
	soleVoter := func(t *testing.T, opts ...testOption) (*testNode, *network) {
		n := newTestNode(t, 1, newConfStorage([]uint64{1}), opts...)
		nw := newNetwork(n)
		nw.campaign(1)
		require.Equal(t, StateLeader, n.raft.state, "got state %v, want leader", n.raft.state)
		return n, nw
	}
	t.Run("the leader refuses to append it", func(t *testing.T) {
		n, _ := soleVoter(t)
		require.NoError(t, n.ProposeConfChange(removeSelf))
		last := n.raft.log.lastIndex()
		ents, err := n.raft.log.entries(last, noSizeLimit)
		require.NoError(t, err)
		assert.Equal(t, []pb.Entry{{Type: pb.EntryNormal, Term: n.raft.term, Index: last}}, ents,
			"got %v appended, want an empty entry in place of the change", ents)
	})
	t.Run("reported, the refusal says why", func(t *testing.T) {
		n, _ := soleVoter(t, withReportRefusedConfChanges())
		err := n.ProposeConfChange(removeSelf)
		require.ErrorIs(t, err, ErrConfChangeRefused)
		assert.Contains(t, err.Error(), "no voter of (1) would remain", "got %q, want confchange's reason", err)
	})
	t.Run("with validation disabled it is committed, and applying it changes nothing", func(t *testing.T) {
		n, nw := soleVoter(t, withConfig(func(c *Config) { c.DisableConfChangeValidation = true }))
		nw.proposeConfChange(t, 1, removeSelf)
		assert.Equal(t, []uint64{1}, confStateOf(n).Voters, "got voters %v, want the configuration unchanged", confStateOf(n).Voters)
		cs := n.ApplyConfChange(removeSelf)
		assert.Equal(t, pb.ConfState{Voters: []uint64{1}}, *cs, "got %v, want the previous configuration", *cs)
		require.NoError(t, n.Propose([]byte("x")), "got the peer unable to make progress")
	})
}
