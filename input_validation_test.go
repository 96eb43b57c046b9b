package raft

import (
	"context"
	"fmt"
	"math"
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 12, item 6: bad input at the API edge is refused where it enters,
// with an error that says what is wrong.

func TestElectionTickThatWouldOverflowIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		tick int
		ok   bool
	}{
		{"largest allowed", math.MaxInt / 2, true},
		{"one more", math.MaxInt/2 + 1, false},
		{"largest int", math.MaxInt, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestConfig(1, newConfStorage([]uint64{1}))
			c.ElectionTick = tc.tick
			_, err := NewRawNode(c)
			if tc.ok {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "ElectionTick", "got %q, want it to name the field", err)
		})
	}
}

func TestUnknownConfChangeTypeIsRefusedWhenProposed(t *testing.T) {
	bad := []pb.ConfChangeI{
		pb.ConfChange{Type: pb.ConfChangeType(9), NodeID: 2},
		pb.ConfChangeV2{Changes: []pb.ConfChangeSingle{{Type: pb.ConfChangeAddNode, NodeID: 2}, {Type: pb.ConfChangeType(-1), NodeID: 3}}},
	}
	for i, cc := range bad {
		t.Run(fmt.Sprintf("RawNode, change %d", i), func(t *testing.T) {
			nodes, _ := leaderWithFollowers(t, 3)
			last := nodes[0].raft.log.lastIndex()
			err := nodes[0].ProposeConfChange(cc)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "unknown type")
			assert.Equal(t, last, nodes[0].raft.log.lastIndex(), "got the change appended")
		})
		t.Run(fmt.Sprintf("Node, change %d", i), func(t *testing.T) {
			s := newConfStorage([]uint64{1})
			n := RestartNode(newTestConfig(1, s))
			defer n.Stop()
			err := n.ProposeConfChange(context.Background(), cc)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "unknown type")
		})
	}
	t.Run("forwarded to the leader", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 3)
		leader := nodes[0]
		bad := pb.ConfChange{Type: pb.ConfChangeType(9), NodeID: 2}
		data, err := bad.Marshal()
		require.NoError(t, err)
		last := leader.raft.log.lastIndex()
		err = leader.Step(pb.Message{From: 2, To: 1, Type: pb.MsgProp, Entries: []pb.Entry{{Type: pb.EntryConfChange, Data: data}}})
		assert.Error(t, err)
		assert.Equal(t, last, leader.raft.log.lastIndex(), "got the change appended")
	})
}

func TestStartNodeRefusesInvalidPeers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		peers []Peer
		want  string
	}{
		{"ID None", []Peer{{ID: 1}, {ID: 0}}, "ID None"},
		{"listed twice", []Peer{{ID: 1}, {ID: 2}, {ID: 1}}, "listed twice"},
		{"a local thread's ID", []Peer{{ID: 1}, {ID: LocalAppendThread}}, "reserved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := panicValue(func() { StartNode(newTestConfig(1, NewMemoryStorage()), tc.peers) })
			err, ok := got.(error)
			require.True(t, ok, "got StartNode panicking with %v, want an error", got)
			assert.Contains(t, err.Error(), tc.want)
			rn, err := NewRawNode(newTestConfig(1, NewMemoryStorage()))
			require.NoError(t, err)
			err = rn.Bootstrap(tc.peers)
			require.Error(t, err, "got Bootstrap accepting the peers")
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// panicValue returns what f panics with, or nil.
func panicValue(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}
