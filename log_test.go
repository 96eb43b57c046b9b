package raft

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// allEntries returns every entry of the log from firstIndex() on. Tests only.
func (l *raftLog) allEntries() []pb.Entry {
	ents, err := l.entries(l.firstIndex(), noSizeLimit)
	if err == nil {
		return ents
	}
	// Storage may be compacted between firstIndex() and entries(); try again.
	if errors.Is(err, ErrCompacted) {
		return l.allEntries()
	}
	invariantBroken("reading all entries: %v", err)
	return nil
}

// newTestRaftLog returns a log whose Storage holds stable (stable[0] being
// the dummy entry, so the log is committed and applied up to it) and whose
// unstable tail holds unstableEnts.
func newTestRaftLog(stable []pb.Entry, unstableEnts []pb.Entry) *raftLog {
	l := newLog(newTestStorage(stable), discardLogger)
	l.append(unstableEnts...)
	return l
}

func TestLogNew(t *testing.T) {
	l := newTestRaftLog(entriesAt(3, 3, 4, 5), nil)
	for _, tt := range []struct {
		name      string
		got, want uint64
	}{
		{"committed", l.committed(), 3},
		{"applying", l.apply.applying, 3},
		{"applied", l.applied(), 3},
		{"first index", l.firstIndex(), 4},
		{"last index", l.lastIndex(), 5},
		{"last term", l.lastTerm(), 5},
		{"unstable offset", l.unstable.offset, 6},
		{"unstable offset in progress", l.unstable.offsetInProgress, 6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.got, "got %v, want %v", tt.got, tt.want)
		})
	}
	t.Run("no size limit", func(t *testing.T) {
		assert.Equal(t, noSizeLimit, l.cfg.maxApplying, "l.cfg.maxApplying: got %v, want %v", l.cfg.maxApplying, noSizeLimit)
	})
	t.Run("with size limit", func(t *testing.T) {
		l := newLogWithSize(NewMemoryStorage(), discardLogger, 100)
		assert.Equal(t, entryEncodingSize(100), l.cfg.maxApplying, "got %v, want 100", l.cfg.maxApplying)
	})
	t.Run("String", func(t *testing.T) {
		want := "committed=3, applied=3, applying=3, unstable.offset=6, unstable.offsetInProgress=6, len(unstable.entries)=0"
		assert.Equal(t, want, l.String(), "l.String(): got %v, want %v", l.String(), want)
	})
}

func TestLogTerm(t *testing.T) {
	l := newTestRaftLog(entriesAt(3, 3, 4, 5), entriesAt(6, 6, 6))
	for _, tt := range []struct {
		name  string
		i     uint64
		want  uint64
		error error
	}{
		{"compacted", 2, 0, ErrCompacted},
		{"dummy entry", 3, 3, nil},
		{"first stable entry", 4, 4, nil},
		{"last stable entry", 5, 5, nil},
		{"first unstable entry", 6, 6, nil},
		{"last unstable entry", 7, 6, nil},
		{"past the last entry", 8, 0, ErrUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.term(tt.i)
			assert.Equal(t, tt.error, err, "got %v, want %v", err, tt.error)
			assert.Equal(t, tt.want, got, "got %v, want %v", got, tt.want)
		})
	}

	t.Run("unstable entries shadow the stable ones they replace", func(t *testing.T) {
		l := newTestRaftLog(entriesAt(3, 3, 4, 5), nil)
		l.append(entriesAt(5, 7)...)
		got, err := l.term(5)
		require.NoError(t, err)
		assert.Equal(t, uint64(7), got, "got %v, want %v", got, 7)
	})
	t.Run("unstable snapshot", func(t *testing.T) {
		l := newTestRaftLog(entriesAt(3, 3, 4, 5), nil)
		l.restore(*snapAt(10, 7))
		for _, tt := range []struct {
			name  string
			i     uint64
			want  uint64
			error error
		}{
			{"below the snapshot", 9, 0, ErrCompacted},
			{"still in storage, below the snapshot", 4, 0, ErrCompacted},
			{"snapshot index", 10, 7, nil},
			{"past the snapshot", 11, 0, ErrUnavailable},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got, err := l.term(tt.i)
				assert.Equal(t, tt.error, err, "got %v, want %v", err, tt.error)
				assert.Equal(t, tt.want, got, "got %v, want %v", got, tt.want)
			})
		}
	})
	t.Run("does not allocate", func(t *testing.T) {
		allocs := testing.AllocsPerRun(100, func() {
			for i := uint64(2); i <= 8; i++ {
				_, _ = l.term(i)
			}
		})
		assert.Zero(t, allocs, "got %v allocations, want 0", allocs)
	})
}

func TestLogMatchTerm(t *testing.T) {
	l := newTestRaftLog(entriesAt(3, 3, 4), entriesAt(5, 5))
	for _, tt := range []struct {
		name string
		id   entryID
		want bool
	}{
		{"dummy entry", entryID{term: 3, index: 3}, true},
		{"stable entry", entryID{term: 4, index: 4}, true},
		{"unstable entry", entryID{term: 5, index: 5}, true},
		{"other term", entryID{term: 3, index: 4}, false},
		{"compacted", entryID{term: 2, index: 2}, false},
		{"past the end", entryID{term: 5, index: 6}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := l.matchTerm(tt.id)
			assert.Equal(t, tt.want, got, "got %v, want %v", got, tt.want)
		})
	}
}

func TestLogIsUpToDate(t *testing.T) {
	l := newTestRaftLog(entriesAt(0, 0, 1, 2), entriesAt(3, 3))
	for _, tt := range []struct {
		name  string
		their entryID
		want  bool
	}{
		{"later term, shorter log", entryID{term: 4, index: 1}, true},
		{"later term, longer log", entryID{term: 4, index: 5}, true},
		{"same term, longer log", entryID{term: 3, index: 4}, true},
		{"same term, same length", entryID{term: 3, index: 3}, true},
		{"same term, shorter log", entryID{term: 3, index: 2}, false},
		{"earlier term, longer log", entryID{term: 2, index: 10}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := l.isUpToDate(tt.their)
			assert.Equal(t, tt.want, got, "got %v, want %v", got, tt.want)
		})
	}
}

func TestLogFindConflict(t *testing.T) {
	l := newTestRaftLog(entriesAt(0, 0, 1, 2), entriesAt(3, 3))
	for _, tt := range []struct {
		name string
		ents []pb.Entry
		want uint64
	}{
		{"no entries", nil, 0},
		{"all present", entriesAt(1, 1, 2, 3), 0},
		{"suffix present", entriesAt(2, 2, 3), 0},
		{"present, then new", entriesAt(2, 2, 3, 3, 3), 4},
		{"only new", entriesAt(4, 3), 4},
		{"conflict on the first", entriesAt(1, 4, 4), 1},
		{"conflict in the middle", entriesAt(1, 1, 4, 4), 2},
		{"conflict on the last", entriesAt(3, 4), 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := l.findConflict(tt.ents)
			assert.Equal(t, tt.want, got, "got %v, want %v", got, tt.want)
		})
	}
}

func TestLogFindConflictByTerm(t *testing.T) {
	// Compacted up to 5@2, then 6@2 7@3 8@3 | 9@5 10@5 (unstable).
	l := newTestRaftLog(entriesAt(5, 2, 2, 3, 3), entriesAt(9, 5, 5))
	for _, tt := range []struct {
		name      string
		index     uint64
		term      uint64
		wantIndex uint64
		wantTerm  uint64
	}{
		{"match at the index", 10, 5, 10, 5},
		{"skips the term above", 10, 4, 8, 3},
		{"skips to the end of the term", 10, 3, 8, 3},
		{"skips two terms", 10, 2, 6, 2},
		{"inside a term", 7, 3, 7, 3},
		{"dummy entry", 5, 2, 5, 2},
		{"stops at the first compacted index", 10, 1, 4, 0},
		{"past the end is unknown", 12, 5, 12, 0},
		{"index 0", 0, 3, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			index, term := l.findConflictByTerm(tt.index, tt.term)
			assert.Equal(t, tt.wantIndex, index, "index: got %v, want %v", index, tt.wantIndex)
			assert.Equal(t, tt.wantTerm, term, "term: got %v, want %v", term, tt.wantTerm)
		})
	}
	t.Run("uncompacted log reaches index 0", func(t *testing.T) {
		l := newTestRaftLog(entriesAt(0, 0, 2, 2), nil)
		index, term := l.findConflictByTerm(2, 1)
		assert.Equal(t, uint64(0), index, "index: got %v, want %v", index, 0)
		assert.Equal(t, uint64(0), term, "term: got %v, want %v", term, 0)
	})
}

func TestLogMaybeAppend(t *testing.T) {
	// Log 1@1 2@2 3@3, committed up to 1.
	base := entriesAt(1, 1, 2, 3)
	id := func(term, index uint64) entryID { return entryID{term: term, index: index} }
	for _, tt := range []struct {
		name          string
		prev          entryID
		ents          []pb.Entry
		committed     uint64
		wantLastNew   uint64
		wantOK        bool
		wantCommitted uint64
		wantLog       []pb.Entry
	}{
		{"prev term mismatch", id(2, 3), nil, 3, 0, false, 1, base},
		{"prev past the end", id(3, 4), entriesAt(5, 3), 3, 0, false, 1, base},
		{"heartbeat-like, commits", id(3, 3), nil, 3, 3, true, 3, base},
		{"commit bounded by the slice", id(2, 2), nil, 3, 2, true, 2, base},
		{"lower leader commit ignored", id(3, 3), nil, 0, 3, true, 1, base},
		{"one new entry", id(3, 3), entriesAt(4, 3), 4, 4, true, 4, entriesAt(1, 1, 2, 3, 3)},
		{"new entries, commit bounded", id(3, 3), entriesAt(4, 3, 3), 10, 5, true, 5, entriesAt(1, 1, 2, 3, 3, 3)},
		{"entries already present", id(1, 1), entriesAt(2, 2, 3), 2, 3, true, 2, base},
		{"present, then new", id(1, 1), entriesAt(2, 2, 3, 3), 3, 4, true, 3, entriesAt(1, 1, 2, 3, 3)},
		{"stale shorter append keeps the log", id(1, 1), entriesAt(2, 2), 3, 2, true, 2, base},
		{"conflict on the last entry", id(2, 2), entriesAt(3, 4), 2, 3, true, 2, entriesAt(1, 1, 2, 4)},
		{"conflict, then longer", id(1, 1), entriesAt(2, 4, 4, 4), 1, 4, true, 1, entriesAt(1, 1, 4, 4, 4)},
		{"conflict after present entries", id(1, 1), entriesAt(2, 2, 4), 1, 3, true, 1, entriesAt(1, 1, 2, 4)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestRaftLog(entriesAt(0, 0), base)
			l.commitTo(1)
			lastNew, ok := l.maybeAppend(&logSlice{term: 4, prev: tt.prev, entries: tt.ents}, tt.committed)
			assert.Equal(t, tt.wantOK, ok, "ok: got %v, want %v", ok, tt.wantOK)
			assert.Equal(t, tt.wantLastNew, lastNew, "last new index: got %v, want %v", lastNew, tt.wantLastNew)
			assert.Equal(t, tt.wantCommitted, l.committed(), "committed: got %v, want %v", l.committed(), tt.wantCommitted)
			got := l.allEntries()
			assert.Equal(t, tt.wantLog, got, "log: got %v, want %v", got, tt.wantLog)
		})
	}

	t.Run("only the new suffix goes to unstable", func(t *testing.T) {
		l := newTestRaftLog(entriesAt(0, 0, 1, 2), nil)
		_, ok := l.maybeAppend(&logSlice{term: 3, prev: id(1, 1), entries: entriesAt(2, 2, 3)}, 0)
		require.True(t, ok, "got the append refused, want it accepted")
		assert.Equal(t, entriesAt(3, 3), l.nextUnstableEnts(), "got %v, want %v", l.nextUnstableEnts(), entriesAt(3, 3))
	})
	t.Run("conflict with a committed entry panics", func(t *testing.T) {
		l := newTestRaftLog(entriesAt(0, 0), base)
		l.commitTo(2)
		requirePanicContains(t, func() {
			l.maybeAppend(&logSlice{term: 4, prev: id(1, 1), entries: entriesAt(2, 4)}, 2)
		}, "entry 2 conflicts", "committed index is 2")
	})
}

func TestLogAppend(t *testing.T) {
	t.Run("after the last entry", func(t *testing.T) {
		l := newTestRaftLog(entriesAt(0, 0, 1), nil)
		last := l.append(entriesAt(2, 2, 2)...)
		assert.Equal(t, uint64(3), last, "got %v, want %v", last, 3)
		assert.Equal(t, entriesAt(1, 1, 2, 2), l.allEntries(), "l.allEntries(): got %v, want %v", l.allEntries(), entriesAt(1, 1, 2, 2))
	})
	t.Run("nothing", func(t *testing.T) {
		l := newTestRaftLog(entriesAt(0, 0, 1), nil)
		assert.Equal(t, uint64(1), l.append(), "got %v, want %v", l.append(), 1)
	})
	t.Run("truncating stable entries", func(t *testing.T) {
		l := newTestRaftLog(entriesAt(0, 0, 1, 1, 1), nil)
		last := l.append(entriesAt(2, 3)...)
		assert.Equal(t, uint64(2), last, "got %v, want %v", last, 2)
		assert.Equal(t, entriesAt(1, 1, 3), l.allEntries(), "l.allEntries(): got %v, want %v", l.allEntries(), entriesAt(1, 1, 3))
		assert.Equal(t, uint64(2), l.unstable.offset, "unstable offset: got %v, want %v", l.unstable.offset, 2)
	})
	t.Run("truncating a committed entry panics", func(t *testing.T) {
		l := newTestRaftLog(entriesAt(0, 0, 1, 1, 1), nil)
		l.commitTo(2)
		requirePanicContains(t, func() { l.append(entriesAt(2, 3)...) }, "at index 2", "up to 2")
	})
}

func TestLogUnstableEnts(t *testing.T) {
	l := newTestRaftLog(entriesAt(0, 0, 1), nil)
	assert.False(t, l.hasNextUnstableEnts(), "got unstable entries in a fresh log")

	l.append(entriesAt(2, 1, 1)...)
	assert.True(t, l.hasNextUnstableEnts(), "got no unstable entries after append")
	unstable := l.nextUnstableEnts()
	assert.Equal(t, entriesAt(2, 1, 1), unstable, "got %v, want %v", unstable, entriesAt(2, 1, 1))

	l.acceptUnstable()
	assert.False(t, l.hasNextUnstableEnts(), "got unstable entries after acceptUnstable")
	unstable = l.nextUnstableEnts()
	assert.Nil(t, unstable, "got %v after acceptUnstable, want nothing", unstable)

	l.append(entriesAt(4, 1)...)
	assert.Equal(t, entriesAt(4, 1), l.nextUnstableEnts(), "only the entries appended since are next")

	l.acceptUnstable()
	l.stableTo(entryID{term: 1, index: 4})
	assert.False(t, l.hasNextUnstableEnts(), "got unstable entries after stableTo")
	assert.Equal(t, uint64(5), l.unstable.offset, "unstable offset: got %v, want %v", l.unstable.offset, 5)
}

func TestLogUnstableSnapshot(t *testing.T) {
	ms := newTestStorage(entriesAt(3, 3))
	stored := pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 3, Term: 3}}
	ms.snapshot = stored
	l := newLog(ms, discardLogger)
	snap := *snapAt(10, 4)

	assert.False(t, l.hasPendingSnapshot(), "got a pending snapshot in a fresh log")
	got, err := l.snapshot()
	require.NoError(t, err)
	assert.Equal(t, stored, got, "before restore: got %v, want %v", got, stored)

	l.restore(snap)
	assert.True(t, l.hasNextUnstableSnapshot(), "got no snapshot to persist after restore")
	next := l.nextUnstableSnapshot()
	assert.Equal(t, &snap.Metadata, &next.Metadata, "got %v, want %v", next.Metadata, snap.Metadata)
	assert.True(t, l.hasPendingSnapshot(), "got no pending snapshot after restore")
	got, err = l.snapshot()
	require.NoError(t, err)
	assert.Equal(t, snap, got, "after restore: got %v, want %v", got, snap)

	l.acceptUnstable()
	assert.False(t, l.hasNextUnstableSnapshot(), "got the snapshot to persist again after acceptUnstable")
	assert.True(t, l.hasPendingSnapshot(), "got no pending snapshot while it is being persisted")

	require.NoError(t, ms.ApplySnapshot(snap))
	l.stableSnapTo(10)
	assert.False(t, l.hasPendingSnapshot(), "got a pending snapshot after stableSnapTo")
	got, err = l.snapshot()
	require.NoError(t, err)
	assert.Equal(t, snap, got, "from storage: got %v, want %v", got, snap)
}

func TestLogRestore(t *testing.T) {
	l := newTestRaftLog(entriesAt(0, 0, 1, 1), entriesAt(3, 2, 2))
	l.commitTo(3)
	l.appliedTo(2, 0)
	l.restore(*snapAt(10, 3))

	for _, tt := range []struct {
		name      string
		got, want uint64
	}{
		{"committed", l.committed(), 10},
		{"applied", l.applied(), 2},
		{"first index", l.firstIndex(), 11},
		{"last index", l.lastIndex(), 10},
		{"last term", l.lastTerm(), 3},
		{"unstable offset", l.unstable.offset, 11},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.got, "got %v, want %v", tt.got, tt.want)
		})
	}
	t.Run("entries before are compacted", func(t *testing.T) {
		_, err := l.term(9)
		assert.Equal(t, ErrCompacted, err, "got %v, want %v", err, ErrCompacted)
	})
	t.Run("no entries after", func(t *testing.T) {
		ents, err := l.entries(11, noSizeLimit)
		require.NoError(t, err)
		assert.Empty(t, ents, "ents: got %v, want none", ents)
	})
	t.Run("no committed entries to apply before the snapshot", func(t *testing.T) {
		got := l.nextCommittedEnts(true, math.MaxUint64)
		assert.Nil(t, got, "got %v, want nothing", got)
	})
	t.Run("appends follow the snapshot", func(t *testing.T) {
		l.append(entriesAt(11, 3)...)
		assert.Equal(t, entriesAt(11, 3), l.allEntries(), "l.allEntries(): got %v, want %v", l.allEntries(), entriesAt(11, 3))
	})
	t.Run("older than the commit index panics", func(t *testing.T) {
		l := newTestRaftLog(entriesAt(0, 0, 1, 1), nil)
		l.commitTo(2)
		requirePanicContains(t, func() { l.restore(*snapAt(1, 1)) }, "index 1", "commit index 2")
	})
}

// BenchmarkRaftLogAppendStableCycle runs the log's per-entry hot path as a
// leader with synchronous storage sees it: append one 128-byte entry, hand
// it out, persist it into MemoryStorage, acknowledge it, commit it, hand it
// out for applying and confirm it applied; the storage is compacted now and
// then, as servers do. Allocations are amortised to nearly zero per entry:
// unstable reuses its array's spare capacity and MemoryStorage grows by
// doubling.
func BenchmarkRaftLogAppendStableCycle(b *testing.B) {
	ms := NewMemoryStorage()
	l := newLog(ms, discardLogger)
	data := make([]byte, 128)
	ent := []pb.Entry{{Term: 1, Data: data}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ent[0].Index = l.lastIndex() + 1
		last := l.append(ent...)
		if err := ms.Append(l.nextUnstableEnts()); err != nil {
			b.Fatal(err)
		}
		l.acceptUnstable()
		l.stableTo(entryID{term: 1, index: last})
		l.commitTo(last)
		applied := l.nextCommittedEnts(false, math.MaxUint64)
		size := entsSize(applied)
		l.acceptApplying(last, size, false, math.MaxUint64)
		l.appliedTo(last, size)
		if last%4096 == 0 {
			if err := ms.Compact(last - 1024); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// unstableEntriesPending is hasUnstableEnts for the async storage tests.
func unstableEntriesPending(l *raftLog) bool { return l.hasUnstableEnts() }

func TestHasUnstableEnts(t *testing.T) {
	l := newLog(NewMemoryStorage(), discardLogger)
	assert.False(t, l.hasUnstableEnts(), "got unstable entries in an empty log")
	l.append(pb.Entry{Index: 1, Term: 1})
	assert.True(t, l.hasUnstableEnts(), "got no unstable entries after an append")
	l.acceptUnstable()
	assert.True(t, l.hasUnstableEnts(), "got no unstable entries once handed out, before they are persisted")
	l.stableTo(entryID{term: 1, index: 1})
	assert.False(t, l.hasUnstableEnts(), "got unstable entries after they were persisted")
}
