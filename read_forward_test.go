package raft

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
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
			require.Equal(t, leader.raft.log.committed(), stale.Index)

			nw.filter = nil
			nw.propose(1, "w") // a write completes before the retry
			committed := leader.raft.log.committed()
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
	t.Run("a retry made without a leader still supersedes the first attempt", func(t *testing.T) {
		// Found by the simulation: the retry was dropped for want of a
		// leader before it was recorded, so the first attempt's answer,
		// arriving later, was taken for the retry's.
		nodes, nw := leaderWithFollowers(t, 3)
		follower := nodes[2]
		held := holdReadIndexResps(nw)
		nw.send(nw.readIndex(3, "x")...)
		require.Len(t, *held, 1)
		nw.filter = nil
		nw.propose(1, "w")

		require.NoError(t, follower.ForgetLeader())
		require.Equal(t, None, follower.raft.lead)
		assert.Empty(t, nw.readIndex(3, "x"), "got the retry forwarded without a leader")
		nw.send((*held)[0])
		assert.Empty(t, follower.readStates, "got the retry answered by the first attempt's index %d", (*held)[0].Index)
	})
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
		require.Equal(t, 1, follower.raft.aside.fwd.outstanding())
		follower.raft.becomeFollower(follower.raft.term+1, 1)
		assert.Zero(t, follower.raft.aside.fwd.outstanding(), "got requests remembered across a term change")
		resp := (*held)[0]
		resp.Term = follower.raft.term
		require.NoError(t, follower.raft.Step(resp))
		assert.Empty(t, follower.raft.out.readStates(), "got an answer to a forgotten request")
	})
}

func TestForwardedReadCarrier(t *testing.T) {
	t.Run("the context travels unchanged and the attempt in the entry's index", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		fwd := nw.readIndex(3, "x")
		require.Len(t, fwd, 1)
		require.Equal(t, pb.MsgReadIndex, fwd[0].Type)
		require.Len(t, fwd[0].Entries, 1)
		assert.Equal(t, "x", string(fwd[0].Entries[0].Data), "got the application's context changed on the wire")
		assert.NotZero(t, fwd[0].Entries[0].Index, "got an attempt without identifier")
		held := holdReadIndexResps(nw)
		nw.send(fwd...)
		require.Len(t, *held, 1)
		assert.Equal(t, fwd[0].Entries, (*held)[0].Entries, "got the entry changed by the leader")
		assert.Empty(t, nodes[0].readStates, "got a ReadState on the leader for a follower's request")
	})
	t.Run("an answer without attempt identifier is dropped", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		f := nodes[1]
		held := holdReadIndexResps(nw)
		nw.send(nw.readIndex(2, "plain")...)
		require.Len(t, *held, 1)
		resp := (*held)[0]
		resp.Entries = []pb.Entry{{Data: []byte("plain")}}
		require.NoError(t, f.raft.Step(resp))
		assert.Empty(t, f.raft.out.readStates(), "got a ReadState from an answer that names no attempt")
	})
	t.Run("a request relayed by a second follower reaches the leader unchanged", func(t *testing.T) {
		// Found by the simulation: a follower that relayed another's request
		// tagged it a second time, and the originator, by then leader,
		// handed the application the doubly tagged bytes.
		nodes, nw := leaderWithFollowers(t, 3)
		fwd := nw.readIndex(3, "x")
		require.Len(t, fwd, 1)
		// 3 took 2 for its leader; 2 relays to its own leader, 1.
		relay := fwd[0]
		relay.To = 2
		require.NoError(t, nodes[1].Step(relay))
		out := nodes[1].process()
		require.Len(t, out, 1)
		assert.Equal(t, uint64(3), out[0].From, "got the relayed request's origin changed")
		assert.Equal(t, fwd[0].Entries, out[0].Entries, "got the relayed request's entry changed")
		nw.send(out...)
		assert.Equal(t, []ReadState{{Index: nodes[0].raft.log.committed(), RequestCtx: []byte("x")}}, nodes[2].readStates)
	})
	t.Run("an own attempt relayed back to us as leader is dropped", func(t *testing.T) {
		// Found by the simulation (seed 956): the attempt, made as a
		// follower and since retried and answered, was answered again.
		nodes, nw := leaderWithFollowers(t, 3)
		leader := nodes[0]
		bounced := pb.Message{Type: pb.MsgReadIndex, From: 1, To: 1, Entries: []pb.Entry{{Data: []byte("x"), Index: 77}}}
		require.NoError(t, leader.raft.Step(bounced))
		nw.send(leader.process()...)
		assert.Empty(t, leader.readStates, "got an answer to an attempt made in an earlier role")
	})
}

func TestForwardedReadsAcrossRestart(t *testing.T) {
	// Found by the simulation: attempts were numbered from 1 in every new
	// RawNode, so an answer to the previous incarnation's attempt matched
	// the restarted peer's first attempt with the same context.
	nodes, nw := leaderWithFollowers(t, 3)
	held := holdReadIndexResps(nw)
	nw.send(nw.readIndex(3, "x")...)
	require.Len(t, *held, 1)
	nw.filter = nil
	nw.propose(1, "w")

	old := nodes[2]
	cfg := newTestConfig(3, old.storage)
	cfg.RandomSource = rand.NewPCG(3, 1) // another incarnation, another draw
	rn, err := NewRawNode(cfg)
	require.NoError(t, err)
	restarted := &testNode{RawNode: rn, storage: old.storage}
	nw.nodes[3] = restarted
	nw.send(pb.Message{From: 1, To: 1, Type: pb.MsgBeat}) // learn the leader again
	require.Equal(t, uint64(1), restarted.raft.lead)
	retry := nw.readIndex(3, "x")
	require.Len(t, retry, 1)

	nw.send((*held)[0])
	assert.Empty(t, restarted.readStates, "got the restarted peer's request answered for its previous incarnation")
	nw.send(retry...)
	assert.Equal(t, []ReadState{{Index: nodes[0].raft.log.committed(), RequestCtx: []byte("x")}}, restarted.readStates)
}

func TestReadForwarderBound(t *testing.T) {
	var f readForwarder
	for i := range maxForwardedReads {
		f.begin([]byte(fmt.Sprint(i)), uint64(i+1))
	}
	require.Len(t, f.latest, maxForwardedReads)
	t.Run("a retry past the bound replaces its entry", func(t *testing.T) {
		f.begin([]byte("1"), 1<<40)
		assert.Len(t, f.latest, maxForwardedReads, "got %d remembered, want the bound %d", len(f.latest), maxForwardedReads)
		assert.False(t, f.accept([]byte("1"), 2), "got the superseded attempt accepted")
		assert.True(t, f.accept([]byte("1"), 1<<40), "got the retry forgotten")
		f.begin([]byte("1"), 1<<40)
	})
	t.Run("a new request past the bound forgets the others", func(t *testing.T) {
		f.begin([]byte("new"), 1<<41)
		assert.Len(t, f.latest, 1, "got %d remembered, want only the newest", len(f.latest))
		assert.False(t, f.accept([]byte("0"), 1), "got a forgotten request accepted")
		assert.True(t, f.accept([]byte("new"), 1<<41), "got the newest request forgotten")
	})
	t.Run("an answer is accepted once", func(t *testing.T) {
		f.begin([]byte("once"), 9)
		assert.True(t, f.accept([]byte("once"), 9))
		assert.False(t, f.accept([]byte("once"), 9), "got the same answer accepted twice")
	})
}

func TestReadStateNotHandedOutBeforeARetry(t *testing.T) {
	// Found by the simulation (seeds 311, 361, 474): an answer already
	// computed, but still waiting for the next Ready when the application
	// retried its context, was handed out after the retry, with an index
	// confirmed before it.
	t.Run("on a leader", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		leader := nodes[0]
		leader.ReadIndex([]byte("x"))
		// Confirm the round without taking a Ready in between.
		rd := leader.Ready()
		for _, m := range rd.Messages {
			for _, resp := range nw.nodes[m.To].stepAndCollect(m) {
				require.NoError(t, leader.Step(resp))
			}
		}
		leader.Advance(rd)
		require.Len(t, leader.raft.out.readStates(), 1, "the answer should wait for the next Ready")
		leader.ReadIndex([]byte("x"))
		assert.Empty(t, leader.raft.out.readStates(), "got the first attempt's answer still queued after the retry")
	})
	t.Run("on a follower", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		follower := nodes[2]
		fwd := nw.readIndex(3, "x")
		held := holdReadIndexResps(nw)
		nw.send(fwd...)
		require.Len(t, *held, 1)
		require.NoError(t, follower.Step((*held)[0]))
		require.Len(t, follower.raft.out.readStates(), 1, "the answer should wait for the next Ready")
		follower.ReadIndex([]byte("x"))
		assert.Empty(t, follower.raft.out.readStates(), "got the first attempt's answer still queued after the retry")
	})
	t.Run("other contexts stay", func(t *testing.T) {
		var o outbox
		o.addReadState(ReadState{Index: 1, RequestCtx: []byte("a")})
		o.addReadState(ReadState{Index: 2, RequestCtx: []byte("b")})
		o.withdrawReads([]byte("a"))
		assert.Equal(t, []ReadState{{Index: 2, RequestCtx: []byte("b")}}, o.readStates())
	})
}

// TestReadForwarderAgainstModel drives a readForwarder and a plain map
// with the same random requests, retries and answers, over few contexts
// (kept in its short list) and more (moved to its map), and checks that
// they accept the same answers and hold the same requests.
func TestReadForwarderAgainstModel(t *testing.T) {
	for _, contexts := range []int{3, fewForwardedReads, 3 * fewForwardedReads} {
		t.Run(fmt.Sprintf("%d contexts", contexts), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(contexts), 9))
			var f readForwarder
			model := map[string]uint64{}
			nextID := uint64(1)
			for step := range 20000 {
				ctx := []byte(fmt.Sprintf("ctx-%d", rng.IntN(contexts)))
				switch rng.IntN(3) {
				case 0:
					f.supersede(ctx)
					delete(model, string(ctx))
				case 1:
					forgotten := f.begin(ctx, nextID)
					require.Empty(t, forgotten, "step %d: got requests forgotten below the bound", step)
					model[string(ctx)] = nextID
					nextID++
				default:
					// An answer to the latest attempt or to an older one.
					id := model[string(ctx)]
					if id == 0 || rng.IntN(3) == 0 {
						id = rng.Uint64N(nextID + 1)
					}
					want := id != 0 && model[string(ctx)] == id
					require.Equal(t, want, f.accept(ctx, id), "step %d: accept(%s, %d)", step, ctx, id)
					if want {
						delete(model, string(ctx))
					}
				}
				require.Equal(t, len(model), f.outstanding(), "step %d: outstanding requests", step)
			}
			got := f.pending()
			slices.Sort(got)
			want := append([]string{}, slices.Sorted(maps.Keys(model))...)
			assert.Equal(t, want, got, "pending: got %v, want %v", got, want)
			if contexts > fewForwardedReads {
				assert.NotNil(t, f.latest, "got the requests still in the short list with %d contexts", contexts)
			} else {
				assert.Nil(t, f.latest, "got the requests moved to a map with %d contexts", contexts)
			}
		})
	}
}
