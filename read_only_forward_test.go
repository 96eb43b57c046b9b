package raft

import (
	"fmt"
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// holdReadIndexResps makes nw hold back every MsgReadIndexResp and returns
// where they are collected.
func holdReadIndexResps(nw *network) *[]pb.Message {
	var held []pb.Message
	nw.filter = func(m pb.Message) bool {
		if m.Type == pb.MsgReadIndexResp {
			held = append(held, m)
			return false
		}
		return true
	}
	return &held
}

func TestReadIndexRetriedAtFollower(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []testOption
	}{
		{"ReadOnlySafe", nil},
		{"ReadOnlyLeaseBased", []testOption{withCheckQuorum(), withLeaseReads()}},
	} {
		t.Run(tc.name+": the answer to the first attempt does not answer the retry", func(t *testing.T) {
			nodes, nw := leaderWithFollowers(t, 3, tc.opts...)
			leader, follower := nodes[0], nodes[2]
			held := holdReadIndexResps(nw)
			nw.send(nw.readIndex(3, "x")...)
			require.Len(t, *held, 1, "got %d answers to the first attempt, want 1", len(*held))
			stale := (*held)[0]
			require.Equal(t, leader.raft.raftLog.committed, stale.Index)

			nw.filter = nil
			nw.propose(1, "w") // a write completes before the retry
			committed := leader.raft.raftLog.committed
			require.Greater(t, committed, stale.Index)
			retry := nw.readIndex(3, "x")

			nw.send(stale)
			assert.Empty(t, follower.readStates, "got the retry answered by the first attempt's index %d", stale.Index)
			nw.send(retry...)
			assert.Equal(t, []ReadState{{Index: committed, RequestCtx: []byte("x")}}, follower.readStates)
			nw.send(stale)
			assert.Len(t, follower.readStates, 1, "got a second answer from the first attempt")
		})
	}
	t.Run("an answer is delivered once", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		follower := nodes[2]
		held := holdReadIndexResps(nw)
		nw.send(nw.readIndex(3, "x")...)
		require.Len(t, *held, 1)
		nw.filter = nil
		nw.send((*held)[0], (*held)[0])
		assert.Len(t, follower.readStates, 1, "got %d ReadStates from a duplicated answer, want 1", len(follower.readStates))
	})
	t.Run("requests with different contexts are answered independently", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		follower := nodes[2]
		held := holdReadIndexResps(nw)
		nw.send(nw.readIndex(3, "a")...)
		nw.send(nw.readIndex(3, "b")...)
		require.Len(t, *held, 2)
		nw.filter = nil
		nw.send((*held)[1], (*held)[0])
		assert.Equal(t, []string{"b", "a"}, readStateCtxs(follower.readStates))
	})
	t.Run("a term change forgets the forwarded requests", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		follower := nodes[2]
		held := holdReadIndexResps(nw)
		nw.send(nw.readIndex(3, "x")...)
		require.Len(t, *held, 1)
		require.Len(t, follower.raft.readOnly.forwarded.latest, 1)
		follower.raft.becomeFollower(follower.raft.term+1, 1)
		assert.Empty(t, follower.raft.readOnly.forwarded.latest, "got requests remembered across a term change")
		resp := (*held)[0]
		resp.Term = follower.raft.term
		require.NoError(t, follower.raft.Step(resp))
		assert.Empty(t, follower.raft.readStates, "got an answer to a forgotten request")
	})
}

func TestReadIndexRespCompat(t *testing.T) {
	t.Run("an untagged answer produces a ReadState", func(t *testing.T) {
		// As a leader answers a request forwarded without a tag, e.g. by this
		// peer before an upgrade.
		nodes, _ := leaderWithFollowers(t, 3)
		f := nodes[1]
		require.NoError(t, f.raft.Step(pb.Message{From: 1, To: 2, Term: f.raft.term, Type: pb.MsgReadIndexResp,
			Index: 7, Entries: []pb.Entry{{Data: []byte("plain")}}}))
		assert.Equal(t, []ReadState{{Index: 7, RequestCtx: []byte("plain")}}, f.raft.readStates)
	})
	t.Run("the leader echoes the tagged context as opaque bytes", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		fwd := nw.readIndex(3, "x")
		require.Len(t, fwd, 1)
		require.Equal(t, pb.MsgReadIndex, fwd[0].Type)
		ctx, _, ok := untagForwardedRead(fwd[0].Entries[0].Data)
		require.True(t, ok, "got an untagged forwarded request %q", fwd[0].Entries[0].Data)
		assert.Equal(t, "x", string(ctx))
		held := holdReadIndexResps(nw)
		nw.send(fwd...)
		require.Len(t, *held, 1)
		assert.Equal(t, fwd[0].Entries[0].Data, (*held)[0].Entries[0].Data, "got the context changed by the leader")
		assert.Empty(t, nodes[0].readStates, "got a ReadState on the leader for a follower's request")
	})
}

func TestForwardedReadTag(t *testing.T) {
	for _, ctx := range []string{"", "x", forwardedReadMagic, forwardedReadMagic + "\x00\x00\x00\x00\x00\x00\x00\x09y"} {
		t.Run(fmt.Sprintf("context %q round-trips", ctx), func(t *testing.T) {
			got, seq, ok := untagForwardedRead(tagForwardedRead([]byte(ctx), 42))
			require.True(t, ok)
			assert.Equal(t, ctx, string(got), "got context %q, want %q", got, ctx)
			assert.Equal(t, uint64(42), seq, "got sequence %d, want 42", seq)
		})
	}
	for _, data := range []string{"", "x", forwardedReadMagic, forwardedReadMagic + "1234567"} {
		t.Run(fmt.Sprintf("%q is not tagged", data), func(t *testing.T) {
			got, _, ok := untagForwardedRead([]byte(data))
			assert.False(t, ok)
			assert.Equal(t, data, string(got))
		})
	}
}

func TestForwardedReadsBound(t *testing.T) {
	var f forwardedReads
	for i := range maxForwardedReads + 1 {
		f.record([]byte(fmt.Sprint(i)), uint64(i+1))
	}
	assert.Len(t, f.latest, maxForwardedReads, "got %d remembered, want the bound %d", len(f.latest), maxForwardedReads)
	assert.False(t, f.answer([]byte("0"), 1), "got the oldest request kept past the bound")
	assert.True(t, f.answer([]byte(fmt.Sprint(maxForwardedReads)), maxForwardedReads+1), "got the newest request forgotten")
	t.Run("a retry replaces its entry without evicting", func(t *testing.T) {
		f.record([]byte("1"), maxForwardedReads+2)
		f.record([]byte("new"), maxForwardedReads+3)
		assert.Len(t, f.latest, maxForwardedReads)
		assert.False(t, f.answer([]byte("1"), 2), "got the superseded attempt accepted")
		assert.True(t, f.answer([]byte("1"), maxForwardedReads+2))
	})
}
