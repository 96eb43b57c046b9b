package raft

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// The log answers lastIndex, and the term of the entry just before the
// unstable tail, without asking Storage (see unstable.belowTerm and
// raftLog.storage). These tests hold those answers against Storage's own
// over random histories, and check that Storage is indeed not asked.

// countingStorage counts the calls to LastIndex and Term.
type countingStorage struct {
	*MemoryStorage
	lastIndexCalls, termCalls int
}

func (s *countingStorage) LastIndex() (uint64, error) {
	s.lastIndexCalls++
	return s.MemoryStorage.LastIndex()
}

func (s *countingStorage) Term(i uint64) (uint64, error) {
	s.termCalls++
	return s.MemoryStorage.Term(i)
}

// logHistory drives a raftLog over a MemoryStorage the way a peer's Ready
// loop does, with random appends (some replacing a suffix, as from a new
// leader), persistence, snapshots and compactions.
type logHistory struct {
	rng  *rand.Rand
	ms   *MemoryStorage
	l    *raftLog
	term uint64
}

// step takes one random action and names it.
func (h *logHistory) step() string {
	l := h.l
	switch h.rng.IntN(10) {
	case 0, 1, 2, 3:
		// Append, possibly replacing uncommitted entries with a new term's.
		from := l.lastIndex() + 1
		if h.rng.IntN(3) == 0 && from > l.committed()+1 {
			from = l.committed() + 1 + h.rng.Uint64N(from-l.committed()-1)
			h.term++
		}
		n := 1 + h.rng.IntN(3)
		ents := make([]pb.Entry, n)
		for i := range ents {
			ents[i] = pb.Entry{Index: from + uint64(i), Term: h.term}
		}
		l.append(ents...)
		return fmt.Sprintf("append %d entries at %d, term %d", n, from, h.term)
	case 4, 5, 6:
		// Persist what is unstable and acknowledge it.
		if snap := l.nextUnstableSnapshot(); snap != nil {
			if err := h.ms.ApplySnapshot(*snap); err != nil {
				panic(err)
			}
			l.stableSnapTo(snap.Metadata.Index)
		}
		ents := l.nextUnstableEnts()
		if len(ents) > 0 {
			if err := h.ms.Append(ents); err != nil {
				panic(err)
			}
		}
		l.acceptUnstable()
		if len(ents) > 0 {
			last := ents[len(ents)-1]
			l.stableTo(entryID{term: last.Term, index: last.Index})
		}
		return "persist"
	case 7:
		// Commit (and apply) up to a persisted entry.
		if stable := l.unstable.offset - 1; stable > l.committed() {
			l.commitTo(stable)
			l.appliedTo(stable, 0)
		}
		return fmt.Sprintf("commit %d", l.committed())
	case 8:
		// Compact Storage up to the applied index.
		if first, _ := h.ms.FirstIndex(); l.applied() >= first {
			if err := h.ms.Compact(l.applied()); err != nil {
				panic(err)
			}
		}
		return fmt.Sprintf("compact to %d", l.applied())
	default:
		// A snapshot from a leader, past everything known.
		h.term++
		index := l.lastIndex() + 1 + h.rng.Uint64N(3)
		l.restore(pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: index, Term: h.term}})
		return fmt.Sprintf("restore the snapshot at %d, term %d", index, h.term)
	}
}

// wantLastIndex is the last index as Storage and the unstable tail tell it.
func (h *logHistory) wantLastIndex() uint64 {
	if last, ok := h.l.unstable.lastIndex(); ok {
		return last
	}
	last, err := h.ms.LastIndex()
	if err != nil {
		panic(err)
	}
	return last
}

func TestLogStableTailAgreesWithStorage(t *testing.T) {
	for seed := range uint64(50) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			h := &logHistory{rng: rand.New(rand.NewPCG(seed, 1)), ms: NewMemoryStorage(), term: 1}
			h.l = newLog(h.ms, discardLogger)
			var story []string
			for range 300 {
				story = append(story, h.step())
				l := h.l
				require.Equal(t, h.wantLastIndex(), l.lastIndex(), "lastIndex after %v", story)
				if !l.unstable.belowKnown || l.unstable.snapshot != nil {
					continue
				}
				below := l.unstable.offset - 1
				want, err := h.ms.Term(below)
				require.NoError(t, err, "Storage's term of the entry before the tail, after %v", story)
				require.Equal(t, want, l.unstable.belowTerm, "the term of entry %d after %v", below, story)
			}
		})
	}
}

func TestLogStableTailSparesStorage(t *testing.T) {
	ms := &countingStorage{MemoryStorage: NewMemoryStorage()}
	l := newLog(ms, discardLogger)
	l.append(entriesAt(1, 1, 1, 2)...)
	require.NoError(t, ms.Append(l.nextUnstableEnts()))
	l.acceptUnstable()
	l.stableTo(entryID{term: 2, index: 3})
	ms.lastIndexCalls, ms.termCalls = 0, 0

	assert.Equal(t, uint64(3), l.lastIndex(), "got the last index %d, want 3", l.lastIndex())
	term, err := l.term(3)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), term, "got the term %d of entry 3, want 2", term)
	assert.Zero(t, ms.lastIndexCalls, "got %d LastIndex calls, want none", ms.lastIndexCalls)
	assert.Zero(t, ms.termCalls, "got %d Term calls, want none", ms.termCalls)

	t.Run("older entries are read from Storage", func(t *testing.T) {
		term, err := l.term(2)
		require.NoError(t, err)
		assert.Equal(t, uint64(1), term, "got the term %d of entry 2, want 1", term)
		assert.Equal(t, 1, ms.termCalls, "got %d Term calls, want 1", ms.termCalls)
	})
}
