package raft

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// The unstable tail keeps only the term of the entry at offset-1
// (unstable.belowTerm); its index is implied by offset. This test drives a
// raftLog as an application with slow storage does - batches handed out
// for persisting, written and acknowledged later and in order, so that
// acknowledgements arrive after the entries they name were replaced (stale)
// or after a snapshot dropped them; appends replacing entries below, at and
// above the unstable offset; snapshots inside and past the log; crashes
// that lose the writes not done yet and reopen the log from Storage - and
// holds the term of every index in the log against a model of the log the
// peer is meant to have. A place that moves offset without updating
// belowTerm (or clearing belowKnown) answers a wrong term for offset-1.

// tailWrite is one batch handed out for persisting: a snapshot or entries.
type tailWrite struct {
	snap *pb.Snapshot
	ents []pb.Entry
}

// tailHistory is the application, its storage and the model.
type tailHistory struct {
	rng  *rand.Rand
	ms   *MemoryStorage
	l    *raftLog
	term uint64
	// queue holds the writes handed out and not yet done, oldest first.
	queue []tailWrite
	// want is the term of each index the peer's log holds (or held, below
	// a compaction), by index: the model.
	want map[uint64]uint64
	// reached counts the situations the test is about.
	reached map[string]int
}

func newTailHistory(seed uint64, reached map[string]int) *tailHistory {
	h := &tailHistory{
		reached: reached,
		rng:     rand.New(rand.NewPCG(seed, seed^0x5bd1e995)),
		ms:      NewMemoryStorage(),
		term:    1,
		want:    map[uint64]uint64{0: 0},
	}
	h.l = newLog(h.ms, discardLogger)
	return h
}

// step takes one random action and names it.
func (h *tailHistory) step() string {
	l := h.l
	switch h.rng.IntN(14) {
	case 0, 1, 2, 3:
		return h.appendEntries()
	case 4, 5:
		// Hand out what is unstable for persisting.
		var w tailWrite
		if snap := l.nextUnstableSnapshot(); snap != nil {
			s := *snap
			w.snap = &s
		}
		w.ents = append([]pb.Entry(nil), l.nextUnstableEnts()...)
		l.acceptUnstable()
		if w.snap == nil && len(w.ents) == 0 {
			return "hand out nothing"
		}
		h.queue = append(h.queue, w)
		return fmt.Sprintf("hand out %d entries (snapshot %v)", len(w.ents), w.snap != nil)
	case 6, 7, 8:
		// Do the oldest write and acknowledge it, stale or not.
		if len(h.queue) == 0 {
			return "no write to do"
		}
		w := h.queue[0]
		h.queue = h.queue[1:]
		if w.snap != nil {
			if err := h.ms.ApplySnapshot(*w.snap); err != nil {
				panic(err)
			}
			l.stableSnapTo(w.snap.Metadata.Index)
		}
		if len(w.ents) > 0 {
			if err := h.ms.Append(w.ents); err != nil {
				panic(err)
			}
			last := w.ents[len(w.ents)-1]
			l.stableTo(entryID{term: last.Term, index: last.Index})
			if l.unstable.offset <= last.Index {
				h.reached["ignored acknowledgement"]++
			}
		}
		return fmt.Sprintf("write and acknowledge %d entries (snapshot %v)", len(w.ents), w.snap != nil)
	case 9:
		// Commit and apply up to a persisted entry.
		if l.unstable.snapshot != nil {
			return "no commit under an unstable snapshot"
		}
		if stable := l.unstable.offset - 1; stable > l.committed() {
			to := l.committed() + 1 + h.rng.Uint64N(stable-l.committed())
			l.commitTo(to)
			l.appliedTo(to, 0)
		}
		return fmt.Sprintf("commit %d", l.committed())
	case 10:
		// Compact Storage up to the applied index.
		if first, _ := h.ms.FirstIndex(); l.applied() >= first && l.unstable.snapshot == nil {
			if err := h.ms.Compact(l.applied()); err != nil {
				panic(err)
			}
		}
		return fmt.Sprintf("compact to %d", l.applied())
	case 11:
		return h.restoreSnapshot()
	case 12:
		// A crash: writes not done are lost, and the log is reopened from
		// Storage.
		h.queue = nil
		h.l = newLog(h.ms, discardLogger)
		h.want = map[uint64]uint64{}
		first, _ := h.ms.FirstIndex()
		last, _ := h.ms.LastIndex()
		for i := first - 1; i <= last; i++ {
			t, err := h.ms.Term(i)
			if err != nil {
				panic(err)
			}
			h.want[i] = t
		}
		return fmt.Sprintf("crash and reopen at %d..%d", first-1, last)
	default:
		// Reopen only when nothing is owed to Storage: a clean restart.
		if len(h.queue) != 0 || l.unstable.snapshot != nil || len(l.unstable.entries) != 0 {
			return "no clean restart with writes owed"
		}
		h.l = newLog(h.ms, discardLogger)
		return "clean restart"
	}
}

// appendEntries appends a few entries after the last one or, in a new
// term, from an uncommitted index (below, at or above the unstable
// offset), replacing what follows.
func (h *tailHistory) appendEntries() string {
	l := h.l
	last := l.lastIndex()
	from := last + 1
	low := max(l.committed(), l.firstIndex()-1) + 1
	if h.rng.IntN(2) == 0 && from > low {
		// Prefer the interesting places: just below, at, and just above
		// the unstable offset.
		off := l.unstable.offset
		candidates := []uint64{low, off - 1, off, off + 1, low + h.rng.Uint64N(from-low)}
		from = min(max(candidates[h.rng.IntN(len(candidates))], low), last+1)
		h.term++
		switch off := l.unstable.offset; {
		case from < off:
			h.reached["append below offset"]++
		case from == off:
			h.reached["append at offset"]++
		case from <= last:
			h.reached["append above offset"]++
		}
	}
	n := 1 + h.rng.IntN(3)
	ents := make([]pb.Entry, n)
	for i := range ents {
		ents[i] = pb.Entry{Index: from + uint64(i), Term: h.term}
	}
	l.append(ents...)
	for i := from; i <= last; i++ {
		delete(h.want, i)
	}
	for _, e := range ents {
		h.want[e.Index] = e.Term
	}
	return fmt.Sprintf("append %d entries at %d, term %d (offset %d, last %d)", n, from, h.term, l.unstable.offset, last)
}

// restoreSnapshot restores a snapshot from a leader of a new term, inside
// the log past the commit index or past its end.
func (h *tailHistory) restoreSnapshot() string {
	l := h.l
	h.term++
	index := l.lastIndex() + 1 + h.rng.Uint64N(3)
	if h.rng.IntN(2) == 0 && l.lastIndex() > l.committed() {
		index = l.committed() + 1 + h.rng.Uint64N(l.lastIndex()-l.committed())
	}
	l.restore(pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: index, Term: h.term}})
	h.want = map[uint64]uint64{index: h.term}
	return fmt.Sprintf("restore the snapshot at %d, term %d", index, h.term)
}

// check holds the log's terms against the model.
func (h *tailHistory) check(t *testing.T, story []string) {
	t.Helper()
	l := h.l
	u := &l.unstable
	if u.belowKnown {
		want, ok := h.want[u.offset-1]
		require.True(t, ok, "the model has no entry %d (offset-1) after %v", u.offset-1, story)
		require.Equal(t, want, u.belowTerm, "got belowTerm %d for entry %d, want %d, after %v", u.belowTerm, u.offset-1, want, story)
	}
	for i := l.firstIndex() - 1; i <= l.lastIndex(); i++ {
		want, ok := h.want[i]
		require.True(t, ok, "the model has no entry %d in the log's range after %v", i, story)
		got, err := l.term(i)
		require.NoError(t, err, "term(%d) after %v", i, story)
		require.Equal(t, want, got, "got term %d of entry %d, want %d, after %v", got, i, want, story)
	}
	_, err := l.term(l.lastIndex() + 1)
	require.ErrorIs(t, err, ErrUnavailable, "term past the last index after %v", story)
}

func TestUnstableBelowTermAgainstModel(t *testing.T) {
	reached := map[string]int{}
	for seed := range uint64(200) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			h := newTailHistory(seed, reached)
			var story []string
			for range 400 {
				s := h.step()
				story = append(story, s)
				if len(story) > 40 {
					story = story[1:]
				}
				h.check(t, story)
				u := &h.l.unstable
				switch {
				case !u.belowKnown:
					reached["offset-1 unknown"]++
				case u.snapshot != nil:
					reached["offset-1 is the unstable snapshot"]++
				default:
					reached["offset-1 known"]++
				}
			}
		})
	}
	t.Run("the runs reach the situations the test is about", func(t *testing.T) {
		for _, what := range []string{"offset-1 unknown", "offset-1 is the unstable snapshot", "offset-1 known",
			"append below offset", "append at offset", "append above offset", "ignored acknowledgement"} {
			require.Positive(t, reached[what], "got no step with %s, want some", what)
		}
	})
}
