package sim

import (
	"fmt"

	pb "github.com/quorate/raft/raftpb"
)

// shadowEntry is what the oracles remember of a log entry.
type shadowEntry struct {
	term uint64
	typ  pb.EntryType
	data []byte
}

// logShadow is the simulation's own copy of a node's log, kept from what
// the node handed out (or what the host persisted), independent of the
// node and of its Storage, so that the oracles can check both.
type logShadow struct {
	// offset and offsetTerm identify the entry just before ents: the
	// snapshot's, or the last compacted one.
	offset, offsetTerm uint64
	// snapIndex is the index of the latest snapshot. Invariant:
	// snapIndex == offset after a snapshot is installed; a compaction that
	// keeps entries below the snapshot leaves offset < snapIndex <= last().
	snapIndex uint64
	// ents[i] is the entry at index offset+1+i.
	ents []shadowEntry
}

func (l *logShadow) last() uint64 { return l.offset + uint64(len(l.ents)) }

// term returns the term of the entry at i, if the shadow knows it.
func (l *logShadow) term(i uint64) (uint64, bool) {
	if i == l.offset {
		return l.offsetTerm, true
	}
	if i < l.offset || i > l.last() {
		return 0, false
	}
	return l.ents[i-l.offset-1].term, true
}

// entry returns the entry at i, if the shadow holds it.
func (l *logShadow) entry(i uint64) (*shadowEntry, bool) {
	if i <= l.offset || i > l.last() {
		return nil, false
	}
	return &l.ents[i-l.offset-1], true
}

// restore replaces the log by a snapshot.
func (l *logShadow) restore(index, term uint64) {
	l.offset, l.offsetTerm, l.snapIndex = index, term, index
	l.ents = nil
}

// append adds ents, which replace the entries from ents[0].Index on. It
// returns an error, changing nothing, if they leave a gap after the log or
// are not contiguous.
func (l *logShadow) append(ents []pb.Entry) error {
	if len(ents) == 0 {
		return nil
	}
	first := ents[0].Index
	for i := range ents {
		if ents[i].Index != first+uint64(i) {
			return fmt.Errorf("entries are not contiguous: index %d follows %d", ents[i].Index, ents[i-1].Index)
		}
	}
	if first > l.last()+1 {
		return fmt.Errorf("entries from index %d leave a gap after the last index %d", first, l.last())
	}
	if first <= l.offset {
		skip := l.offset + 1 - first
		if skip >= uint64(len(ents)) {
			return nil
		}
		ents = ents[skip:]
		first = l.offset + 1
	}
	l.ents = l.ents[:first-l.offset-1]
	for i := range ents {
		l.ents = append(l.ents, shadowEntry{term: ents[i].Term, typ: ents[i].Type, data: ents[i].Data})
	}
	return nil
}

// compact drops the entries before i; the entry at i becomes the offset.
func (l *logShadow) compact(i uint64) {
	if i <= l.offset || i > l.last() {
		return
	}
	t, _ := l.term(i)
	l.ents = append([]shadowEntry(nil), l.ents[i-l.offset:]...)
	l.offset, l.offsetTerm = i, t
}

// clone returns a copy that shares no array with l.
func (l *logShadow) clone() logShadow {
	c := *l
	c.ents = append([]shadowEntry(nil), l.ents...)
	return c
}
