package tracker

// inflight is one append message sent to a follower and not yet acknowledged.
type inflight struct {
	index uint64 // index of the last entry carried by the message
	bytes uint64 // total payload size of the entries carried by the message
}

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
	// len(buffer). It is allocated on first use and doubled only when the ring
	// is full, so a follower that never has messages in flight costs no
	// buffer, and a window never holds more than size slots.
	//
	// Invariant: len(buffer) <= size.
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
	n := 2 * len(in.buffer)
	if n == 0 {
		n = 1
	}
	if n > in.size {
		n = in.size
	}
	buf := make([]inflight, n)
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
	i, freed := in.start, 0
	for freed < in.count {
		e := &in.buffer[i]
		if e.index > to {
			break
		}
		in.bytes -= e.bytes
		freed++
		if i++; i == len(in.buffer) {
			i = 0
		}
	}
	in.count -= freed
	in.start = i
	if in.count == 0 {
		// NB: restarting at slot 0 keeps an emptied ring from wrapping, so
		// the next burst of Adds fills it in order.
		in.start = 0
	}
}

// Full reports whether the window admits no more messages: either size
// messages are in flight, or maxBytes is not 0 and the payloads in flight
// total at least maxBytes. A nil window is never full.
func (in *Inflights) Full() bool {
	if in == nil {
		return false
	}
	return in.count >= in.size || (in.maxBytes != 0 && in.bytes >= in.maxBytes)
}

// Count returns the number of messages in flight; 0 for a nil window.
func (in *Inflights) Count() int {
	if in == nil {
		return 0
	}
	return in.count
}

// reset frees every message in the window. The buffer is kept for reuse.
func (in *Inflights) reset() {
	if in == nil {
		return
	}
	in.start, in.count, in.bytes = 0, 0, 0
}
