package tracker

// Inflights is the window of append messages (MsgApp) that the leader has
// sent to one follower and that the follower has not yet acknowledged. The
// leader stops sending new entries while the window is Full, which bounds the
// memory and bandwidth a slow follower can claim; acknowledgements free the
// window from the front with FreeLE.
//
// The window is bounded both by the number of messages and, optionally, by
// the total payload bytes of their entries. Each message is recorded by the
// index of its last entry, and the indexes must be added in increasing order.
//
// The zero value is not usable; create windows with NewInflights. Methods that
// only read or free (Count, Full, FreeLE, Clone) accept a nil *Inflights and
// treat it as an empty, never full window.
type Inflights struct {
	// buffer is a ring holding the in-flight messages in the order they were
	// added: the oldest is buffer[start] and the ring wraps around at
	// len(buffer). It is allocated by the first Add and doubled only when the
	// ring is full, so a follower that never has messages in flight costs no
	// buffer, and a window never holds more than size slots. When the window
	// empties, a buffer grown past keptSlots by a burst is released (see
	// drained), so an idle follower keeps at most keptSlots slots.
	//
	// Invariant: len(buffer) <= size.
	// Invariant: len(buffer) <= keptSlots if count == 0.
	// Invariant: 0 <= count <= len(buffer).
	// Invariant: start == 0 if count == 0, else 0 <= start < len(buffer).
	// Invariant: the count live entries, read in ring order from start, have
	// increasing indexes (the Add contract).
	buffer []inflight
	start  int
	count  int

	// bytes is the sum of the bytes of the count live entries.
	bytes uint64

	size     int    // maximum number of messages in flight; positive
	maxBytes uint64 // maximum total payload bytes in flight; 0 means no limit
}

// inflight is one append message sent to a follower and not yet acknowledged.
type inflight struct {
	index uint64 // index of the last entry carried by the message
	bytes uint64 // total payload size of the entries carried by the message
}

// NewInflights returns an empty window admitting at most size messages and,
// when maxBytes is not 0, at most maxBytes bytes of entry payloads in flight
// (the message that crosses maxBytes is admitted; the window is then Full).
// size must be positive: a window of size <= 0 is always Full. No buffer is
// allocated until the first Add.
func NewInflights(size int, maxBytes uint64) *Inflights {
	return &Inflights{size: size, maxBytes: maxBytes}
}

// Clone returns a deep copy of the window: changes to either window do not
// affect the other. Clone of nil is nil.
func (in *Inflights) Clone() *Inflights {
	if in == nil {
		return nil
	}
	c := *in
	if in.buffer != nil {
		c.buffer = make([]inflight, len(in.buffer))
		copy(c.buffer, in.buffer)
	}
	return &c
}

// Add records a message whose last entry has the given index and whose entries
// carry the given payload bytes. index must be greater than the index of every
// message already in the window.
//
// Add panics if the window is Full: the caller must check Full before sending,
// so a full window here means the flow control invariant is broken.
func (in *Inflights) Add(index, bytes uint64) {
	if in.Full() {
		panicf("tracker: cannot add inflight index=%d bytes=%d to a full window: count=%d size=%d bytes=%d maxBytes=%d",
			index, bytes, in.count, in.size, in.bytes, in.maxBytes)
	}
	if in.count == len(in.buffer) {
		in.grow()
	}
	i := in.start + in.count
	if i >= len(in.buffer) {
		i -= len(in.buffer)
	}
	in.buffer[i] = inflight{index: index, bytes: bytes}
	in.count++
	in.bytes += bytes
}

// grow doubles the ring, up to size slots, unwrapping it so that the oldest
// entry lands at buffer[0].
//
// Precondition: count == len(buffer) < size.
func (in *Inflights) grow() {
	buf := make([]inflight, min(max(2*len(in.buffer), 1), in.size))
	k := copy(buf, in.buffer[in.start:])
	copy(buf[k:], in.buffer[:in.start])
	in.buffer = buf
	in.start = 0
}

// FreeLE frees every message in the window whose last index is <= to, i.e.
// the messages the follower has acknowledged by accepting index to. It is a
// no-op if to is below the oldest message in flight, and frees everything if
// to is at or above the newest.
func (in *Inflights) FreeLE(to uint64) {
	if in == nil {
		return
	}
	for in.count > 0 && in.buffer[in.start].index <= to {
		in.bytes -= in.buffer[in.start].bytes
		in.count--
		in.start++
		if in.start == len(in.buffer) {
			in.start = 0
		}
	}
	if in.count == 0 {
		in.drained()
	}
}

// Full reports whether the window admits no more messages: either size
// messages are in flight, or maxBytes is not 0 and the payloads in flight
// total at least maxBytes. A nil window is never full.
func (in *Inflights) Full() bool {
	return in != nil && (in.count >= in.size || in.maxBytes != 0 && in.bytes >= in.maxBytes)
}

// Count returns the number of messages in flight; 0 for a nil window.
func (in *Inflights) Count() int {
	if in == nil {
		return 0
	}
	return in.count
}

// reset frees every message in the window, as on a change of the follower's
// state.
func (in *Inflights) reset() {
	if in == nil {
		return
	}
	in.count = 0
	in.drained()
}

// keptSlots is the largest buffer an empty window holds on to. A follower
// that keeps a few messages in flight reuses its buffer without allocating;
// one whose burst grew the buffer beyond this gives the memory back once the
// burst is acknowledged, and the next burst grows a new buffer from one slot.
const keptSlots = 8

// drained puts an empty window (count == 0) back in its resting shape: the
// ring restarts at slot 0, so the next burst fills it in order, and a buffer
// larger than keptSlots is released.
func (in *Inflights) drained() {
	in.start, in.bytes = 0, 0
	if len(in.buffer) > keptSlots {
		in.buffer = nil
	}
}
