package raft

import (
	"fmt"
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What a peer keeps behind raft.aside (its held exit, the index of the
// last exit let go, and its forwarded reads) must behave the same whether
// the aside was made by a read, by an exit, or not at all; and the election
// timer, which takes its base from the peer's settings, must keep the
// peer's own ElectionTick.

// droppedCtxs returns the contexts of reports, in order.
func droppedCtxs(reports []DroppedRead) []string {
	var out []string
	for _, d := range reports {
		out = append(out, string(d.RequestCtx))
	}
	return out
}

// reasonsOf returns the reasons of reports, in order.
func reasonsOf(reports []DroppedRead) []error {
	var out []error
	for _, d := range reports {
		out = append(out, d.Reason)
	}
	return out
}

func TestForwardedReadsAtRoleChange(t *testing.T) {
	withReports := withConfig(func(c *Config) { c.ReportDroppedReads = true })

	t.Run("a follower that never forwarded a read reports none at a term change and makes no aside", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 3, withReports)
		follower := nodes[2].raft
		require.Nil(t, follower.aside, "got an aside before any read")
		follower.becomeFollower(follower.term+1, 1)
		assert.Nil(t, follower.aside, "got an aside made by a role change")
		assert.Empty(t, follower.out.droppedReads(), "got dropped reads %v, want none", follower.out.droppedReads())
	})
	t.Run("forwarded reads pending at a term change are reported in context order and their answers dropped", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3, withReports)
		follower := nodes[2]
		held := holdReadIndexResps(nw)
		for _, ctx := range []string{"c", "a", "b"} {
			nw.send(nw.readIndex(3, ctx)...)
		}
		require.Len(t, *held, 3)
		r := follower.raft
		r.becomeFollower(r.term+1, 1)
		got := r.out.droppedReads()
		assert.Equal(t, []string{"a", "b", "c"}, droppedCtxs(got), "got dropped %v, want a, b, c", droppedCtxs(got))
		for _, reason := range reasonsOf(got) {
			assert.ErrorIs(t, reason, ErrReadLeadershipEnded, "got reason %v, want %v", reason, ErrReadLeadershipEnded)
		}
		require.NotNil(t, r.aside, "got the aside dropped at a role change")
		assert.Zero(t, r.aside.fwd.outstanding(), "got %d requests remembered across a term change, want 0", r.aside.fwd.outstanding())
		for _, resp := range *held {
			resp.Term = r.term
			require.NoError(t, r.Step(resp))
		}
		assert.Empty(t, r.out.readStates(), "got answers %v to forgotten requests", r.out.readStates())

		t.Run("and a second term change reports nothing more", func(t *testing.T) {
			follower.processOnce()
			r.becomeFollower(r.term+1, 1)
			assert.Empty(t, r.out.droppedReads(), "got dropped reads %v reported twice", droppedCtxs(r.out.droppedReads()))
		})
	})
	t.Run("without ReportDroppedReads the forwarded reads are forgotten silently", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		follower := nodes[2].raft
		holdReadIndexResps(nw)
		nw.send(nw.readIndex(3, "x")...)
		follower.becomeFollower(follower.term+1, 1)
		assert.Empty(t, follower.out.droppedReads(), "got dropped reads %v", follower.out.droppedReads())
		assert.Zero(t, follower.aside.fwd.outstanding(), "got %d requests remembered, want 0", follower.aside.fwd.outstanding())
	})
	t.Run("a follower that becomes candidate and leader reports its forwarded reads once", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3, withReports)
		holdReadIndexResps(nw)
		nw.send(nw.readIndex(3, "x")...)
		nw.filter = nil
		r := nodes[2].raft
		r.becomeCandidate()
		assert.Equal(t, []string{"x"}, droppedCtxs(r.out.droppedReads()), "got dropped %v, want x", droppedCtxs(r.out.droppedReads()))
		nodes[2].processOnce()
		r.becomeFollower(r.term, None)
		assert.Empty(t, r.out.droppedReads(), "got %v reported again", droppedCtxs(r.out.droppedReads()))
	})
	t.Run("a retry after a term change answers only the retry", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		follower := nodes[2]
		held := holdReadIndexResps(nw)
		nw.send(nw.readIndex(3, "x")...)
		require.Len(t, *held, 1)
		stale := (*held)[0]
		*held = nil
		// A new term with the same leader: 1 campaigns again and wins.
		nw.filter = nil
		nw.campaign(1)
		require.Equal(t, StateLeader, nodes[0].raft.state)
		require.Equal(t, nodes[0].raft.term, follower.raft.term)
		nw.propose(1, "w")
		retry := nw.readIndex(3, "x")
		stale.Term = follower.raft.term
		nw.send(stale)
		assert.Empty(t, follower.readStates, "got the retry answered by an attempt of the earlier term")
		nw.send(retry...)
		assert.Equal(t, []string{"x"}, readStateCtxs(follower.readStates), "got %v, want x answered once", readStateCtxs(follower.readStates))
		assert.Equal(t, nodes[0].raft.log.committed(), follower.readStates[0].Index)
	})
	t.Run("the bound forgets the other reads and reports them forgotten", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3, withReports)
		follower := nodes[2]
		holdReadIndexResps(nw)
		for i := range maxForwardedReads {
			follower.ReadIndex([]byte(fmt.Sprintf("r%05d", i)))
		}
		rd := follower.processOnce()
		require.Empty(t, rd.DroppedReads, "got reads dropped below the bound")
		require.Equal(t, maxForwardedReads, follower.raft.aside.fwd.outstanding())
		// A retry at the bound replaces its own entry and forgets nothing.
		follower.ReadIndex([]byte("r00007"))
		rd = follower.processOnce()
		assert.Empty(t, rd.DroppedReads, "got %d reads dropped by a retry at the bound", len(rd.DroppedReads))
		follower.ReadIndex([]byte("new"))
		rd = follower.processOnce()
		require.Len(t, rd.DroppedReads, maxForwardedReads, "got %d reads forgotten, want %d", len(rd.DroppedReads), maxForwardedReads)
		assert.NotContains(t, droppedCtxs(rd.DroppedReads), "new")
		for _, reason := range reasonsOf(rd.DroppedReads) {
			require.ErrorIs(t, reason, ErrReadForgotten, "got reason %v, want %v", reason, ErrReadForgotten)
		}
		assert.Equal(t, 1, follower.raft.aside.fwd.outstanding(), "got %d requests remembered after the bound, want 1", follower.raft.aside.fwd.outstanding())
	})
}

func TestExitAside(t *testing.T) {
	t.Run("an aside made by a held exit holds no reads: a role change reports none", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3, withConfig(func(c *Config) { c.ReportDroppedReads = true }))
		leader := nodes[0]
		nw.isolate(3)
		require.NoError(t, leader.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 1}))
		nw.send(leader.process()...)
		r := leader.raft
		require.NotZero(t, r.heldExitIndex(), "got no held exit")
		require.NotNil(t, r.aside)
		require.Empty(t, r.out.droppedReads())
		r.becomeFollower(r.term+1, None)
		assert.Empty(t, r.out.droppedReads(), "got dropped reads %v from an exit's aside", droppedCtxs(r.out.droppedReads()))
		assert.NotZero(t, r.heldExitIndex(), "got the exit let go by a role change without a leader")
		assert.Equal(t, r.heldExitIndex()-1, r.applyLimit(), "got apply limit %d, want the entry before the exit", r.applyLimit())
	})
	t.Run("a second exit after the first was let go is held again", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		leader := nodes[0]
		r := leader.raft
		// The first exit: 1 demotes itself while 3 hears nothing.
		nw.isolate(3)
		require.NoError(t, leader.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 1}))
		nw.send(leader.process()...)
		first := r.heldExitIndex()
		require.NotZero(t, first, "got no hold for the first exit")
		nw.heal()
		nw.send(pb.Message{From: 1, To: 1, Type: pb.MsgBeat})
		require.Zero(t, r.heldExitIndex(), "got the first exit still held")
		require.Equal(t, first, r.releasedExit(), "got released exit %d, want %d", r.releasedExit(), first)
		require.Equal(t, []uint64{1}, confStateOf(leader).Learners)

		// 2 leads, makes 1 a voter again, and 1 takes the lead back.
		nw.campaign(2)
		require.Equal(t, StateLeader, nodes[1].raft.state)
		require.NoError(t, nodes[1].ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeAddNode, NodeID: 1}))
		nw.send(nodes[1].process()...)
		require.Contains(t, confStateOf(leader).Voters, uint64(1), "got 1 not a voter again")
		nw.campaign(1)
		require.Equal(t, StateLeader, r.state)

		// The second exit, held with a marker like the first.
		nw.isolate(3)
		require.NoError(t, leader.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1}))
		nw.send(leader.process()...)
		second := r.heldExitIndex()
		require.Greater(t, second, first, "got no hold for the second exit (held %d, first %d)", second, first)
		assert.Equal(t, second-1, r.applyLimit(), "got apply limit %d, want %d", r.applyLimit(), second-1)
		assert.Less(t, r.log.applied(), second, "got the second exit applied while 3 cannot know it")
		nw.heal()
		nw.send(pb.Message{From: 1, To: 1, Type: pb.MsgBeat})
		assert.Zero(t, r.heldExitIndex(), "got the second exit still held after the new voters acknowledged")
		assert.Equal(t, second, r.releasedExit(), "got released exit %d, want %d", r.releasedExit(), second)
		assert.GreaterOrEqual(t, r.log.applied(), second)
		assert.NotContains(t, confStateOf(leader).Voters, uint64(1))
	})
}

func TestElectionTimerBase(t *testing.T) {
	for _, tc := range []struct {
		name     string
		election int
		seeded   bool
	}{
		{"ElectionTick 10 with a RandomSource", 10, true},
		{"ElectionTick 10 without a RandomSource", 10, false},
		{"ElectionTick 3 with a RandomSource", 3, true},
		{"ElectionTick 27 without a RandomSource", 27, false},
	} {
		t.Run(tc.name+": a follower trusts its leader for ElectionTick ticks after a role change", func(t *testing.T) {
			// Two peers with other timeouts are made alongside, so that a
			// base taken from the wrong peer's settings shows.
			other := newTestNode(t, 2, newConfStorage([]uint64{1, 2, 3}), withConfig(func(c *Config) { c.ElectionTick = tc.election + 5 }))
			n := newTestNode(t, 1, newConfStorage([]uint64{1, 2, 3}), withConfig(func(c *Config) {
				c.ElectionTick = tc.election
				if !tc.seeded {
					c.RandomSource = nil
				}
			}))
			_ = other
			r := n.raft
			for range 20 {
				r.becomeFollower(r.term+1, 2)
				require.GreaterOrEqual(t, r.timer.timeout, tc.election, "got timeout %d, want at least %d", r.timer.timeout, tc.election)
				require.Less(t, r.timer.timeout, 2*tc.election, "got timeout %d, want below %d", r.timer.timeout, 2*tc.election)
				for k := range tc.election {
					require.True(t, r.heardFromLeaderRecently(), "got the leader doubted after %d ticks, want trusted for %d", k, tc.election)
					r.tick()
				}
				assert.False(t, r.heardFromLeaderRecently(), "got the leader trusted after %d ticks", tc.election)
			}
		})
	}
}
