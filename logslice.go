package raft

import (
	"fmt"

	pb "github.com/quorate/raft/raftpb"
)

// entryID names one log entry by its (term, index) pair. By the Log Matching
// property (Raft paper 5.3) two logs holding an entry with the same entryID
// are identical up to and including that entry, so an entryID is all a peer
// needs to tell whether its log agrees with another one at that point.
type entryID struct {
	term  uint64
	index uint64
}

// pbEntryID returns the entryID of e.
func pbEntryID(e *pb.Entry) entryID {
	return entryID{term: e.Term, index: e.Index}
}

// String formats the ID as "index@term", the shape used in log messages.
func (id entryID) String() string {
	return fmt.Sprintf("%d@%d", id.index, id.term)
}

// logSlice is a run of consecutive entries that a leader of `term` sent (or
// appended locally), together with the ID of the entry they directly follow.
// The prev ID lets the receiver check Log Matching before accepting the
// entries (Raft paper 5.3, the AppendEntries consistency check).
//
// Invariant (checked by valid): entries[i].Index == prev.index+1+i; entry
// terms never decrease, the first is >= prev.term and the last is <= term.
type logSlice struct {
	// term is the term of the leader that produced this slice. A leader only
	// ever sends entries it holds, so no entry's term exceeds it.
	term uint64
	// prev is the ID of the entry directly preceding entries[0]; for an empty
	// slice it is the last entry the slice vouches for.
	prev entryID
	// entries is the run itself; it may be empty (a heartbeat-like append that
	// only carries prev).
	entries []pb.Entry
}

// lastIndex returns the index of the last entry in the slice, or prev.index
// when the slice is empty.
func (s logSlice) lastIndex() uint64 {
	return s.prev.index + uint64(len(s.entries))
}

// lastEntryID returns the ID of the last entry in the slice, or prev when the
// slice is empty.
func (s logSlice) lastEntryID() entryID {
	if n := len(s.entries); n != 0 {
		return pbEntryID(&s.entries[n-1])
	}
	return s.prev
}

// valid returns an error describing the first way in which s breaks the
// logSlice invariant, or nil when it holds. Callers use it to reject a
// malformed append coming from the network before it reaches the log.
func (s *logSlice) valid() error {
	if i := s.breaksAt(); i >= 0 {
		return s.brokenAt(i)
	}
	return nil
}

// breaksAt returns where s first breaks the logSlice invariant, as
// brokenAt takes it: the position of an entry that does not follow the one
// before it, or len(s.entries) if the last term exceeds the leader's; -1
// when the invariant holds. NB: it builds no error, so it is inlined into
// the follower's every append, which spares it a call (about fifteen
// instructions); valid builds the error apart.
func (s *logSlice) breaksAt() int {
	prev := s.prev
	for i := range s.entries {
		id := pbEntryID(&s.entries[i])
		if id.index != prev.index+1 || id.term < prev.term {
			return i
		}
		prev = id
	}
	if prev.term > s.term {
		return len(s.entries)
	}
	return -1
}

// brokenAt returns the error valid reports for s broken at position i:
// entries[i] does not follow the entry before it (prev for the first), or,
// with i == len(entries), the last entry is from a later term than the
// leader's.
func (s *logSlice) brokenAt(i int) error {
	prev := s.prev
	if i > 0 {
		prev = pbEntryID(&s.entries[i-1])
	}
	if i == len(s.entries) {
		return fmt.Errorf("log slice of leader term %d: entry %v is from a later term than the leader's", s.term, prev)
	}
	id := pbEntryID(&s.entries[i])
	if id.index != prev.index+1 {
		return fmt.Errorf("log slice of leader term %d: entry %v at position %d does not directly follow %v",
			s.term, id, i, prev)
	}
	return fmt.Errorf("log slice of leader term %d: entry %v at position %d has a lower term than %v",
		s.term, id, i, prev)
}
