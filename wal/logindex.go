package wal

import (
	"fmt"
	"slices"
	"sort"

	pb "github.com/quorate/raft/raftpb"
)

// logIndex knows the term and the on-disk location of every retained entry,
// so that Term never reads the disk and Entries reads only the records it
// returns. It costs 4 bytes per entry (up to 8 in the segment being
// written, whose offsets grow by doubling) plus 16 bytes per change of term
// and 40 bytes per segment.
//
// The retained log is the dummy entry compactIndex (whose term is kept)
// followed by the entries (compactIndex, last]. While Open replays the
// segments, the entries (compactIndex, start] may be unknown: they were in
// segments already deleted, and a later record in the replay must compact
// or overwrite them (see baseRecord). Outside replay start == compactIndex.
type logIndex struct {
	compactIndex, compactTerm uint64
	// Invariant: compactIndex <= start <= last.
	start, last uint64
	// runs are the maximal runs of entries of one term among (start,
	// last], in index order. Invariant: empty iff start == last;
	// otherwise runs[0].first == start+1, firsts and terms strictly
	// increase.
	runs []termRun
	// locs say where the entries (start, last] are, one segment each, in
	// index order. Invariant: empty iff start == last; otherwise
	// locs[0].first == start+1, each run follows the previous without a
	// gap, and seqs strictly increase. NB: the later of two live entries
	// was always written later (appending at i discards everything after
	// i), so entries map onto segments in order.
	locs []segRun
}

// termRun says that the entries from index first on (up to the next run)
// have term term.
type termRun struct {
	first, term uint64
}

// segRun says that the entries first, first+1, ... are in segment seq, in
// the records at offsets offs. Invariant: len(offs) > 0 and offs never
// decrease (the entries of one entries record share its offset).
type segRun struct {
	seq   uint64
	first uint64
	offs  []uint32
}

func (r *segRun) end() uint64 { return r.first + uint64(len(r.offs)) }

// term returns the term of entry i and whether it is known: i is the dummy
// entry or in (start, last]. It never allocates.
func (l *logIndex) term(i uint64) (uint64, bool) {
	if i == l.compactIndex && l.start == l.compactIndex {
		return l.compactTerm, true
	}
	if i <= l.start || i > l.last {
		return 0, false
	}
	// Most lookups are of recent entries: try the last run first.
	if n := len(l.runs); l.runs[n-1].first <= i {
		return l.runs[n-1].term, true
	}
	k := sort.Search(len(l.runs), func(k int) bool { return l.runs[k].first > i })
	return l.runs[k-1].term, true
}

// locate returns the segment of entry i in (start, last] and the offset
// of the record holding it, and how many entries after i follow it in the
// same segment.
func (l *logIndex) locate(i uint64) (seq uint64, off uint32, more uint64) {
	k := sort.Search(len(l.locs), func(k int) bool { return l.locs[k].end() > i })
	if k == len(l.locs) || l.locs[k].first > i {
		panic(fmt.Sprintf("wal: entry %d not located in (%d, %d]", i, l.start, l.last))
	}
	r := &l.locs[k]
	return r.seq, r.offs[i-r.first], r.end() - i - 1
}

// firstSeq returns the segment holding entry start+1, and false if there
// are no entries.
func (l *logIndex) firstSeq() (uint64, bool) {
	if len(l.locs) == 0 {
		return 0, false
	}
	return l.locs[0].seq, true
}

// truncate discards the entries from i on. It requires start < i.
func (l *logIndex) truncate(i uint64) {
	if i <= l.start {
		panic(fmt.Sprintf("wal: truncating at %d at or below the start %d", i, l.start))
	}
	if i > l.last {
		return
	}
	l.last = i - 1
	k := sort.Search(len(l.runs), func(k int) bool { return l.runs[k].first >= i })
	l.runs = l.runs[:k]
	// The first segment run that holds i or later is cut at i.
	k = sort.Search(len(l.locs), func(k int) bool { return l.locs[k].end() > i })
	if k < len(l.locs) && l.locs[k].first < i {
		l.locs[k].offs = l.locs[k].offs[:i-l.locs[k].first]
		k++
	}
	clear(l.locs[k:])
	l.locs = l.locs[:k]
}

// append adds entry i = last+1 of the given term, in segment seq at off.
// Callers check that terms do not decrease.
func (l *logIndex) append(i, term, seq uint64, off uint32) {
	l.appendAll([]pb.Entry{{Index: i, Term: term}}, seq, off, []uint32{0})
}

// appendAll records ents, which follow last, as written in segment seq at
// offsets at+offs[i]: append for each, without a call per entry.
func (l *logIndex) appendAll(ents []pb.Entry, seq uint64, at uint32, offs []uint32) {
	if len(ents) == 0 {
		return
	}
	if ents[0].Index != l.last+1 {
		panic(fmt.Sprintf("wal: appending entry %d after %d", ents[0].Index, l.last))
	}
	n := len(l.locs)
	if n == 0 || l.locs[n-1].seq != seq {
		if n > 0 {
			// The previous segment is complete: its offsets give back the
			// room they grew for more.
			l.locs[n-1].offs = append([]uint32(nil), l.locs[n-1].offs...)
		}
		l.locs = append(l.locs, segRun{seq: seq, first: ents[0].Index, offs: make([]uint32, 0, len(ents))})
		n++
	}
	run := &l.locs[n-1]
	if len(run.offs)+len(ents) > cap(run.offs) {
		// NB: at least doubling, where append grows a large slice by a
		// quarter: a segment's offsets reach megabytes, and each growth
		// copies them all (and adds to the garbage collector's work).
		run.offs = slices.Grow(run.offs, max(len(run.offs), len(ents)))
	}
	for i := range ents {
		run.offs = append(run.offs, at+offs[i])
	}
	// NB: terms never go down, so a batch that ends in the last run's term
	// starts no run, and that is the common case.
	if k := len(l.runs); k == 0 || l.runs[k-1].term != ents[len(ents)-1].Term {
		for i := range ents {
			if k := len(l.runs); k == 0 || l.runs[k-1].term != ents[i].Term {
				l.runs = append(l.runs, termRun{first: ents[i].Index, term: ents[i].Term})
			}
		}
	}
	l.last = ents[len(ents)-1].Index
}

// forget makes the entries (compactIndex, i] unknown, with i <= start: the
// replay of a segment met an entry i+1 that overwrites part of the unknown
// range, so the known entries after it are gone too.
func (l *logIndex) forget(i uint64) {
	l.start, l.last = i, i
	l.runs = l.runs[:0]
	clear(l.locs)
	l.locs = l.locs[:0]
}

// compact discards the entries up to c, which becomes the dummy entry with
// term t. It requires compactIndex < c <= last. Compacting inside the
// unknown range (c < start) only moves compactIndex.
func (l *logIndex) compact(c, t uint64) {
	if c <= l.compactIndex || c > l.last {
		panic(fmt.Sprintf("wal: compacting to %d outside (%d, %d]", c, l.compactIndex, l.last))
	}
	l.compactIndex, l.compactTerm = c, t
	if c < l.start {
		return
	}
	l.start = c
	if c == l.last {
		l.runs = l.runs[:0]
	} else {
		// The run holding c+1 now starts there.
		k := sort.Search(len(l.runs), func(k int) bool { return l.runs[k].first > c+1 })
		l.runs[k-1].first = c + 1
		l.runs = dropFront(l.runs, k-1)
	}
	k := sort.Search(len(l.locs), func(k int) bool { return l.locs[k].end() > c+1 })
	if k < len(l.locs) && l.locs[k].first <= c {
		r := &l.locs[k]
		r.offs = dropFront(r.offs, int(c+1-r.first))
		r.first = c + 1
	}
	l.locs = dropFront(l.locs, k)
}

// reset empties the log: the dummy entry becomes (i, t), as after a
// snapshot is applied.
func (l *logIndex) reset(i, t uint64) {
	l.compactIndex, l.compactTerm = i, t
	l.forget(i)
}

// dropFront returns s without its first k elements. It copies the kept ones
// into a fresh array when at least as many are dropped as kept, which keeps
// the waste of the dropped ones within a factor of two at an amortised O(1)
// cost per dropped element.
func dropFront[T any](s []T, k int) []T {
	if k == 0 {
		return s
	}
	kept := s[k:]
	if k >= len(kept) {
		return append([]T(nil), kept...)
	}
	return kept
}
