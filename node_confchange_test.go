package raft

// Node tests of membership changes: proposing and applying them, and what a
// node removed from the configuration does with proposals.

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorate/raft/quorum"
	pb "github.com/quorate/raft/raftpb"
)

func TestNodeProposeConfChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startSingleLeader(t)
		cc := pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 2}
		require.NoError(t, h.n.ProposeConfChange(context.Background(), cc))
		h.drain()
		want := DescribeConfState(pb.ConfState{Voters: []uint64{1}, Learners: []uint64{2}})
		got := DescribeConfState(h.cs)
		assert.Equal(t, want, got, "got %s, want %s", got, want)
	})
}

func TestNodeApplyConfChange(t *testing.T) {
	start := func(t *testing.T) *nodeHarness {
		h := startTestNode(t, nodeTestConfig(1, NewMemoryStorage()), []Peer{{ID: 1}})
		h.drain()
		return h
	}
	t.Run("v1 change", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := start(t)
			got := DescribeConfState(*h.n.ApplyConfChange(pb.ConfChange{Type: pb.ConfChangeAddNode, NodeID: 2}))
			want := DescribeConfState(pb.ConfState{Voters: []uint64{1, 2}})
			assert.Equal(t, want, got, "got %s, want %s", got, want)
		})
	})
	t.Run("v2 change entering a joint configuration", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := start(t)
			cc := pb.ConfChangeV2{
				Transition: pb.ConfChangeTransitionJointExplicit,
				Changes:    []pb.ConfChangeSingle{{Type: pb.ConfChangeAddLearnerNode, NodeID: 3}, {Type: pb.ConfChangeAddNode, NodeID: 2}},
			}
			got := DescribeConfState(*h.n.ApplyConfChange(cc))
			want := DescribeConfState(pb.ConfState{Voters: []uint64{1, 2}, VotersOutgoing: []uint64{1}, Learners: []uint64{3}})
			assert.Equal(t, want, got, "got %s, want %s", got, want)
			st := h.n.Status()
			assert.Equal(t, quorum.MajorityConfig{1: {}}, st.Config.Voters[1], "got outgoing voters %v, want [1]", st.Config.Voters[1])
		})
	})
}

// TestNodeProposeAfterRemoval pins what a host written for etcd-raft v3.6
// relies on when a node leaves the configuration, and the one deliberate
// difference: a removed node fails proposals at once instead of leaving
// them blocked.
func TestNodeProposeAfterRemoval(t *testing.T) {
	// removedFollower starts node 1 of three, following 2 in term 2, and
	// applies its removal.
	removedFollower := func(t *testing.T) *nodeHarness {
		h := startTestNode(t, nodeTestConfig(1, NewMemoryStorage()), []Peer{{ID: 1}, {ID: 2}, {ID: 3}})
		h.drain()
		h.followLeader(2, 2)
		h.n.ApplyConfChange(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1})
		h.drain()
		return h
	}
	t.Run("a removed follower drops proposals instead of forwarding them", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := removedFollower(t)
			sent := len(h.messages())

			err := h.n.Propose(context.Background(), []byte("foo"))
			assert.ErrorIs(t, err, ErrProposalDropped, "got %v, want %v", err, ErrProposalDropped)
			h.drain()
			assert.Empty(t, h.messages()[sent:], "got messages %v after a dropped proposal, want none", h.messages()[sent:])
		})
	})
	t.Run("a removed leader drops proposals", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startSingleLeader(t)
			h.n.ApplyConfChange(pb.ConfChange{Type: pb.ConfChangeAddNode, NodeID: 2})
			h.n.ApplyConfChange(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1})
			err := h.n.Propose(context.Background(), []byte("foo"))
			assert.ErrorIs(t, err, ErrProposalDropped, "got %v, want %v", err, ErrProposalDropped)
			err = h.n.ProposeConfChange(context.Background(), pb.ConfChange{Type: pb.ConfChangeAddNode, NodeID: 3})
			assert.ErrorIs(t, err, ErrProposalDropped, "got %v, want %v", err, ErrProposalDropped)
		})
	})
	t.Run("a removed node without a leader fails proposals at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startTestNode(t, nodeTestConfig(1, NewMemoryStorage()), []Peer{{ID: 1}, {ID: 2}, {ID: 3}})
			h.drain()
			h.n.ApplyConfChange(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1})
			w := goCall(func() error { return h.n.Propose(context.Background(), []byte("foo")) })
			synctest.Wait()
			err, done := w.result()
			require.True(t, done, "Propose blocked on a removed node, want it to fail at once")
			assert.ErrorIs(t, err, ErrProposalDropped, "got %v, want %v", err, ErrProposalDropped)
		})
	})
	t.Run("a node added back accepts proposals again", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startSingleLeader(t)
			h.n.ApplyConfChange(pb.ConfChange{Type: pb.ConfChangeAddNode, NodeID: 2})
			h.n.ApplyConfChange(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1})
			h.n.ApplyConfChange(pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 1})
			h.followLeader(2, h.n.Status().Term+1)
			require.NoError(t, h.n.Propose(context.Background(), []byte("foo")))
		})
	})
	t.Run("a node added back through a snapshot accepts proposals again", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := removedFollower(t)
			// The leader added it back and compacted its log past the
			// change: the node learns of it from a snapshot, never through
			// ApplyConfChange.
			snap := pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 20, Term: 2,
				ConfState: pb.ConfState{Voters: []uint64{1, 2, 3}}}}
			require.NoError(t, h.n.Step(context.Background(), pb.Message{Type: pb.MsgSnap, From: 2, To: 1, Term: 2, Snapshot: &snap}))
			h.drain()
			st := h.n.Status()
			require.Equal(t, uint64(20), st.Commit, "got commit %d, want the snapshot's 20", st.Commit)

			err := h.n.Propose(context.Background(), []byte("foo"))
			assert.NoError(t, err, "got %v, want the proposal forwarded by a member again", err)
		})
	})
	t.Run("a node joining with an empty storage forwards proposals", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startTestNode(t, nodeTestConfig(4, NewMemoryStorage()), nil)
			h.followLeader(2, 2)
			require.NoError(t, h.n.Propose(context.Background(), []byte("foo")))
			h.drain()
			props := h.messagesOfType(pb.MsgProp)
			assert.Len(t, props, 1, "got %v, want the proposal forwarded to the leader", props)
		})
	})
}
