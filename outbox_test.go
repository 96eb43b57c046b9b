package raft

import (
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// takeReady hands out the outbox's queued messages, plus extra appended as
// the asynchronous Ready does, and returns what the Ready carried.
func takeReady(o *outbox, extra ...pb.Message) []pb.Message {
	msgs := append(o.readyMsgs(), extra...)
	msgs = msgs[:len(msgs):len(msgs)]
	o.handedOut(msgs)
	return msgs
}

func heartbeatTo(to uint64) pb.Message { return pb.Message{Type: pb.MsgHeartbeat, To: to, Term: 1} }

func msgPtr(m pb.Message) *pb.Message { return &m }

// holdShelfSweeps keeps the shelves' sweep from running until the test
// ends or it calls the function returned, for a test that looks at a shelf
// across several calls: the sweep runs on the cleanup goroutine after any
// collection, and would empty the shelf under it. A sweep that comes
// meanwhile waits.
func holdShelfSweeps(t *testing.T) (release func()) {
	shelfSweepMu.Lock()
	var once sync.Once
	release = func() { once.Do(shelfSweepMu.Unlock) }
	t.Cleanup(release)
	return release
}

func TestOutboxHandsOutEachMessageOnce(t *testing.T) {
	t.Run("messages handed out are never written again", func(t *testing.T) {
		o := outbox{msgsHint: 2}
		var readies [][]pb.Message
		var want [][]pb.Message
		for i := range uint64(40) {
			o.push(msgPtr(heartbeatTo(i)))
			if i%3 == 0 {
				o.push(msgPtr(heartbeatTo(100 + i)))
			}
			ms := takeReady(&o)
			readies = append(readies, ms)
			want = append(want, append([]pb.Message(nil), ms...))
		}
		assert.Equal(t, want, readies, "got Readies' messages changed by later ones")
	})
	t.Run("a steady flow allocates an array per many Readies", func(t *testing.T) {
		if raceEnabled {
			t.Skip("the race detector drops pooled message slabs at random")
		}
		o := outbox{msgsHint: 1}
		allocs := testing.AllocsPerRun(500, func() {
			o.push(msgPtr(heartbeatTo(2)))
			o.push(msgPtr(heartbeatTo(3)))
			takeReady(&o)
		})
		assert.LessOrEqual(t, allocs, 0.1, "got %v allocations per two-message Ready", allocs)
	})
	t.Run("an outbox carves its next Ready from the slab it gave back", func(t *testing.T) {
		holdShelfSweeps(t)
		o := outbox{msgsHint: 1, shelf: takeMsgShelf()}
		o.push(msgPtr(heartbeatTo(2)))
		held := o.slab
		require.NotNil(t, held)
		takeReady(&o)
		assert.Same(t, held, msgShelves[o.shelf].slab.Load(), "got the slab given back elsewhere than on the outbox's shelf")
		o.push(msgPtr(heartbeatTo(3)))
		assert.Same(t, held, o.slab, "got a Ready carved from another slab than the one given back")
		takeReady(&o)
	})
	t.Run("a slab displaced from a shelf goes to the pool", func(t *testing.T) {
		holdShelfSweeps(t)
		// NB: a pool hands a slab back only on the processor it was put on
		// (or after it moved to a shared list): one processor, so that the
		// test cannot move to another between the two.
		procs := runtime.GOMAXPROCS(1)
		t.Cleanup(func() { runtime.GOMAXPROCS(procs) })
		shelf := takeMsgShelf()
		a, b := outbox{msgsHint: 1, shelf: shelf}, outbox{msgsHint: 1, shelf: shelf}
		a.push(msgPtr(heartbeatTo(2)))
		b.push(msgPtr(heartbeatTo(3)))
		require.NotSame(t, a.slab, b.slab, "got two outboxes holding one slab")
		if raceEnabled {
			t.Skip("the race detector drops pooled message slabs at random")
		}
		first, second := a.slab, b.slab
		takeReady(&a)
		takeReady(&b)
		assert.Same(t, second, msgShelves[shelf].slab.Load(), "got the latest slab given back off the shelf")
		pooled := msgSlabs.Get().(*msgSlab)
		defer msgSlabs.Put(pooled)
		assert.Same(t, first, pooled, "got the displaced slab lost, not pooled")
	})
	t.Run("the garbage collector empties the shelves", func(t *testing.T) {
		release := holdShelfSweeps(t)
		o := outbox{msgsHint: 1, shelf: takeMsgShelf()}
		o.push(msgPtr(heartbeatTo(2)))
		takeReady(&o)
		require.NotNil(t, msgShelves[o.shelf].slab.Load())
		swept := shelfSweeps.Load()
		release()
		// NB: a sweep runs on the cleanup goroutine after a collection,
		// behind whatever cleanups are queued before it; the test collects
		// and yields, without sleeping, until two more sweeps ran (the
		// first may have been waiting for the release, and started before
		// it). Each wait is bounded, so a sweep that never comes fails.
		for range 100 {
			runtime.GC()
			for range 100000 {
				if shelfSweeps.Load() >= swept+2 {
					assert.True(t, msgShelves[o.shelf].slab.Load() == nil, "got a slab still on its shelf after a sweep")
					return
				}
				runtime.Gosched()
			}
		}
		t.Fatal("got no sweep of the shelves after 100 collections")
	})
	t.Run("a long queue moves to an array of its own", func(t *testing.T) {
		o := outbox{msgsHint: 1}
		var want []pb.Message
		for i := range uint64(3 * msgSlabSize) {
			o.push(msgPtr(heartbeatTo(i)))
			want = append(want, heartbeatTo(i))
		}
		assert.Nil(t, o.slab, "got a slab holding a queue of %d messages", len(o.msgs))
		assert.Equal(t, want, takeReady(&o))
		assert.Nil(t, o.msgs, "got room kept after the Ready")
	})
	t.Run("an outbox holds no room between Readies", func(t *testing.T) {
		o := outbox{msgsHint: 1}
		o.push(msgPtr(heartbeatTo(2)))
		takeReady(&o)
		assert.Nil(t, o.msgs, "got room of %v messages kept after the Ready", cap(o.msgs))
		assert.Nil(t, o.slab, "got a slab kept after the Ready")
	})
	t.Run("messages queued after the Ready was built stay queued", func(t *testing.T) {
		o := outbox{msgsHint: 4}
		o.push(msgPtr(heartbeatTo(2)))
		built := o.readyMsgs()
		built = built[:len(built):len(built)]
		o.push(msgPtr(heartbeatTo(3)))
		o.handedOut(built)
		assert.Equal(t, []pb.Message{heartbeatTo(3)}, takeReady(&o))
		assert.Equal(t, []pb.Message{heartbeatTo(2)}, built)
	})
	t.Run("two outboxes never share a position", func(t *testing.T) {
		a, b := outbox{msgsHint: 1}, outbox{msgsHint: 1}
		var got, want []pb.Message
		for i := range uint64(200) {
			a.push(msgPtr(heartbeatTo(i)))
			b.push(msgPtr(heartbeatTo(1000 + i)))
			b.push(msgPtr(heartbeatTo(2000 + i)))
			ra, rb := takeReady(&a), takeReady(&b)
			got = append(got, ra...)
			got = append(got, rb...)
			want = append(want, heartbeatTo(i), heartbeatTo(1000+i), heartbeatTo(2000+i))
			defer func() { assert.Equal(t, []pb.Message{heartbeatTo(i)}, ra, "got a Ready's messages overwritten") }()
		}
		assert.Equal(t, want, got)
	})
	t.Run("messages appended to a Ready's are not overwritten by later pushes", func(t *testing.T) {
		o := outbox{msgsHint: 8}
		o.push(msgPtr(heartbeatTo(2)))
		local := pb.Message{Type: pb.MsgStorageAppend, To: LocalAppendThread}
		first := takeReady(&o, local)
		o.push(msgPtr(heartbeatTo(3)))
		o.push(msgPtr(heartbeatTo(4)))
		second := takeReady(&o)
		assert.Equal(t, []pb.Message{heartbeatTo(2), local}, first)
		assert.Equal(t, []pb.Message{heartbeatTo(3), heartbeatTo(4)}, second)
	})
	t.Run("a Ready whose appends outgrew the room takes everything", func(t *testing.T) {
		o := outbox{msgsHint: 1}
		o.push(msgPtr(heartbeatTo(2)))
		local := pb.Message{Type: pb.MsgStorageApply, To: LocalApplyThread}
		first := takeReady(&o, local, local)
		assert.Len(t, first, 3)
		assert.Nil(t, o.msgs, "got room kept from an array the Ready outgrew")
		assert.Nil(t, o.slab, "got a slab kept after the Ready")
		o.push(msgPtr(heartbeatTo(3)))
		assert.Equal(t, []pb.Message{heartbeatTo(3)}, takeReady(&o))
		assert.Equal(t, []pb.Message{heartbeatTo(2), local, local}, first)
	})
}

func TestReadyMessagesAreCapped(t *testing.T) {
	nodes, _ := leaderWithFollowers(t, 3)
	leader := nodes[0]
	require.NoError(t, leader.Propose([]byte("a")))
	rd := leader.Ready()
	require.NotEmpty(t, rd.Messages)
	sent := append([]pb.Message(nil), rd.Messages...)
	// The application may append to a Ready's messages and keep the result.
	own := pb.Message{Type: pb.MsgHeartbeat, To: 9}
	extended := append(rd.Messages, own)
	leader.Advance(rd)
	require.NoError(t, leader.Propose([]byte("b")))
	next := leader.Ready()
	require.NotEmpty(t, next.Messages)
	assert.Equal(t, sent, rd.Messages, "got the first Ready's messages changed")
	assert.Equal(t, own, extended[len(extended)-1], "got the application's appended message overwritten by the next Ready's")
	leader.Advance(next)
}

func TestReadyReadStatesStayIntact(t *testing.T) {
	nodes, _ := leaderWithFollowers(t, 1)
	leader := nodes[0]
	var readies []Ready
	var want [][]ReadState
	for i := range 10 {
		leader.ReadIndex([]byte{byte('a' + i)})
		if i%3 == 0 {
			leader.ReadIndex([]byte{byte('A' + i)})
		}
		rd := leader.Ready()
		require.NotEmpty(t, rd.ReadStates, "read %d", i)
		want = append(want, append([]ReadState(nil), rd.ReadStates...))
		// The application may append to a Ready's read states and keep
		// the result.
		rd.ReadStates = append(rd.ReadStates, ReadState{Index: 999, RequestCtx: []byte("app")})
		readies = append(readies, rd)
		leader.Advance(rd)
	}
	for i, rd := range readies {
		got := rd.ReadStates[:len(rd.ReadStates)-1]
		assert.Equal(t, want[i], got, "got Ready %d's read states changed by later reads", i)
		assert.Equal(t, []byte("app"), rd.ReadStates[len(rd.ReadStates)-1].RequestCtx,
			"got the application's appended read state in Ready %d overwritten", i)
	}
}
