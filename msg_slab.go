package raft

import (
	"runtime"
	"sync"
	"sync/atomic"

	pb "github.com/quorate/raft/raftpb"
)

// This file keeps the room outboxes carve their Readies' messages from (see
// outbox.msgs): slabs, passed from outbox to outbox.

// msgSlab is room for messages shared by the outboxes of every peer in the
// process: each outbox carves its Ready's messages from a slab, then gives
// the room left back. Positions carved out are never handed out again, so
// a slab is garbage once every Ready that holds a part of it is.
type msgSlab struct {
	// room is the part of the slab's array nobody has written to.
	room []pb.Message
}

// msgSlabSize is the number of messages in a new slab.
const msgSlabSize = 64

// A slab given back goes on the shelf of the outbox that gave it, where
// the same outbox most often takes it again at its next message: a peer
// busy with a few messages per Ready keeps writing into one slab, still in
// its cache, for an atomic swap a Ready. Every outbox is given one of
// msgShelfCount shelves when its peer is built, in turn. A slab that
// displaces another, or that an outbox needs while its shelf is empty
// (another outbox of the shelf holds it), comes from or goes to msgSlabs,
// a pool, so that outboxes sharing a shelf waste no room.
//
// Invariant: a slab is on a shelf, in the pool, or held by one outbox,
// which alone writes to it.
type msgShelf struct {
	slab atomic.Pointer[msgSlab]
	// NB: a cache line each, so that outboxes served by different cores
	// and shelves do not contend.
	_ [56]byte
}

// msgShelfCount is the number of shelves: few, since every one may keep a
// slab, and a slab keeps the messages carved from it alive (see
// sweepMsgShelves).
const msgShelfCount = 8

var (
	msgShelves [msgShelfCount]msgShelf
	// nextMsgShelf is the shelf the next outbox built is given.
	nextMsgShelf atomic.Uint32
	msgSlabs     = sync.Pool{New: func() any { return new(msgSlab) }}
)

// takeMsgShelf returns the shelf for an outbox being built.
func takeMsgShelf() uint8 {
	return uint8(nextMsgShelf.Add(1) % msgShelfCount)
}

// takeMsgSlab returns a slab with room for at least n messages, held by the
// caller alone until putMsgSlab: the one on the given shelf if any.
func takeMsgSlab(n int, shelf uint8) *msgSlab {
	s := msgShelves[shelf].slab.Swap(nil)
	if s == nil {
		s = msgSlabs.Get().(*msgSlab)
	}
	if len(s.room) < n {
		s.room = make([]pb.Message, max(n, msgSlabSize))
	}
	return s
}

// putMsgSlab gives s back, on the given shelf; a slab it displaces goes to
// the pool.
func putMsgSlab(s *msgSlab, shelf uint8) {
	if len(s.room) == 0 {
		s.room = nil
	}
	if old := msgShelves[shelf].slab.Swap(s); old != nil {
		msgSlabs.Put(old)
	}
}

// A slab's room shares its array with the messages carved from it, which
// reference the entries they carry, so a slab kept on a shelf keeps those
// alive too. As a pool is emptied by the garbage collector, the shelves
// are: sweepMsgShelves runs after every collection and drops their slabs.
func init() { armMsgShelfSweep() }

// sweepToken is collected in every cycle of the garbage collector, which
// runs sweepMsgShelves. NB: it holds a pointer, so that it is not batched
// with other small objects, which could keep it alive.
type sweepToken struct{ _ *byte }

func armMsgShelfSweep() {
	runtime.AddCleanup(&sweepToken{}, sweepMsgShelves, struct{}{})
}

// The sweeps hold shelfSweepMu, which a test holds to look at the shelves
// across calls without one emptying them meanwhile, and count themselves in
// shelfSweeps, which a test waits on.
var (
	shelfSweepMu sync.Mutex
	shelfSweeps  atomic.Uint64
)

func sweepMsgShelves(struct{}) {
	shelfSweepMu.Lock()
	for i := range msgShelves {
		msgShelves[i].slab.Store(nil)
	}
	shelfSweepMu.Unlock()
	shelfSweeps.Add(1)
	armMsgShelfSweep()
}
