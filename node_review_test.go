package raft

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// These tests pin the Node behaviours a host written for etcd-raft v3.6
// relies on around membership changes and the Ready/Advance handshake, and
// the one deliberate difference: a removed node fails proposals instead of
// leaving them blocked.

func TestNodeProposeAfterRemoval(t *testing.T) {
	t.Run("a removed follower drops proposals instead of forwarding them", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startTestNode(t, nodeTestConfig(1, NewMemoryStorage()), []Peer{{ID: 1}, {ID: 2}, {ID: 3}})
			h.drain()
			h.followLeader(2, 2)
			h.n.ApplyConfChange(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1})
			h.drain()
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
	t.Run("a node joining with an empty storage forwards proposals", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startTestNode(t, nodeTestConfig(4, NewMemoryStorage()), nil)
			h.followLeader(2, 2)
			require.NoError(t, h.n.Propose(context.Background(), []byte("foo")))
			h.drain()
			var props []pb.Message
			for _, m := range h.messages() {
				if m.Type == pb.MsgProp {
					props = append(props, m)
				}
			}
			assert.Len(t, props, 1, "got %v, want the proposal forwarded to the leader", props)
		})
	})
}

func TestNodeHandshake(t *testing.T) {
	t.Run("ApplyConfChange is served while a Ready waits to be received", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startTestNode(t, nodeTestConfig(1, NewMemoryStorage()), []Peer{{ID: 1}})
			synctest.Wait()
			// The bootstrap Ready is on offer and nobody receives it.
			w := goCall(func() *pb.ConfState {
				return h.n.ApplyConfChange(pb.ConfChange{Type: pb.ConfChangeAddNode, NodeID: 2})
			})
			synctest.Wait()
			cs, done := w.result()
			require.True(t, done, "ApplyConfChange blocked while a Ready was on offer")
			assert.Equal(t, []uint64{1, 2}, cs.Voters, "got voters %v, want [1 2]", cs.Voters)
		})
	})
	t.Run("ApplyConfChange is served between Ready and Advance", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startTestNode(t, nodeTestConfig(1, NewMemoryStorage()), []Peer{{ID: 1}, {ID: 2}})
			rd := <-h.n.Ready()
			h.handle(rd) // applies the bootstrap conf changes before Advance
			h.n.Advance()
			assert.Equal(t, []uint64{1, 2}, h.cs.Voters, "got voters %v, want [1 2]", h.cs.Voters)
		})
	})
	t.Run("no second Ready is offered before Advance", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startSingleLeader(t)
			require.NoError(t, h.n.Propose(context.Background(), []byte("a")))
			synctest.Wait()
			rd := <-h.n.Ready()
			require.NoError(t, h.n.Propose(context.Background(), []byte("b")))
			synctest.Wait()
			select {
			case <-h.n.Ready():
				t.Fatal("got a second Ready before Advance, want none")
			default:
			}
			h.handle(rd)
			h.n.Advance()
			h.drain()
			assert.Equal(t, []string{"a", "b"}, h.appliedData(), "got applied %q, want [a b]", h.appliedData())
		})
	})
	t.Run("Advance without an outstanding Ready blocks until Stop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startSingleLeader(t)
			w := goCall(func() bool { h.n.Advance(); return true })
			synctest.Wait()
			_, done := w.result()
			require.False(t, done, "Advance returned without a Ready, want it blocked")
			// The node keeps serving other requests meanwhile.
			require.NoError(t, h.n.Propose(context.Background(), []byte("x")))
			h.n.Stop()
			synctest.Wait()
			_, done = w.result()
			assert.True(t, done, "Advance still blocked after Stop")
		})
	})
	t.Run("Stop while a proposal is stepped reports its outcome or ErrStopped", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startSingleLeader(t)
			ctx := context.Background()
			var ws []callResult[error]
			for range 4 {
				ws = append(ws, goCall(func() error { return h.n.Propose(ctx, []byte("x")) }))
			}
			h.n.Stop()
			synctest.Wait()
			for i, w := range ws {
				err, done := w.result()
				require.True(t, done, "Propose %d still blocked after Stop", i)
				if err != nil {
					assert.ErrorIs(t, err, ErrStopped, "Propose %d: got %v, want nil or %v", i, err, ErrStopped)
				}
			}
		})
	})
}
