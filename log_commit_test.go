package raft

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// Tests of how the log tracks committed, applying and applied indexes and
// hands committed entries out for applying.

func TestLogCommitTo(t *testing.T) {
	t.Run("raises", func(t *testing.T) {
		l := newTestRaftLog(entriesAt(0, 0), entriesAt(1, 1, 2, 3))
		l.commitTo(2)
		assert.Equal(t, uint64(2), l.committed(), "got %v, want %v", l.committed(), 2)
	})
	t.Run("never decreases", func(t *testing.T) {
		l := newTestRaftLog(entriesAt(0, 0), entriesAt(1, 1, 2, 3))
		l.commitTo(3)
		l.commitTo(1)
		assert.Equal(t, uint64(3), l.committed(), "got %v, want %v", l.committed(), 3)
	})
	t.Run("past the last index panics", func(t *testing.T) {
		l := newTestRaftLog(entriesAt(0, 0), entriesAt(1, 1, 2, 3))
		requirePanicContains(t, func() { l.commitTo(4) }, "commit index 4", "last index 3")
	})
}

func TestLogMaybeCommit(t *testing.T) {
	for _, tt := range []struct {
		name          string
		at            entryID
		wantOK        bool
		wantCommitted uint64
	}{
		{"entry of the term", entryID{term: 3, index: 3}, true, 3},
		{"term mismatch", entryID{term: 3, index: 2}, false, 1},
		{"not above committed", entryID{term: 1, index: 1}, false, 1},
		{"past the end", entryID{term: 3, index: 4}, false, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestRaftLog(entriesAt(0, 0), entriesAt(1, 1, 2, 3))
			l.commitTo(1)
			ok := l.maybeCommit(tt.at)
			assert.Equal(t, tt.wantOK, ok, "got %v, want %v", ok, tt.wantOK)
			assert.Equal(t, tt.wantCommitted, l.committed(), "committed: got %v, want %v", l.committed(), tt.wantCommitted)
		})
	}
}

func TestLogAppliedTo(t *testing.T) {
	newLog := func() *raftLog {
		l := newTestRaftLog(entriesAt(0, 0), entriesAt(1, 1, 1, 1, 1))
		l.commitTo(3)
		l.appliedTo(1, 0)
		return l
	}
	t.Run("advances applied and applying", func(t *testing.T) {
		l := newLog()
		l.appliedTo(3, 0)
		assert.Equal(t, uint64(3), l.applied(), "applied: got %v, want %v", l.applied(), 3)
		assert.Equal(t, uint64(3), l.apply.applying, "applying: got %v, want %v", l.apply.applying, 3)
	})
	t.Run("keeps a higher applying", func(t *testing.T) {
		l := newLog()
		l.acceptApplying(3, 0, true, math.MaxUint64)
		l.appliedTo(2, 0)
		assert.Equal(t, uint64(3), l.apply.applying, "applying: got %v, want %v", l.apply.applying, 3)
	})
	t.Run("below applied panics", func(t *testing.T) {
		l := newLog()
		requirePanicContains(t, func() { l.appliedTo(0, 0) }, "applied index 0", "[1, 3]")
	})
	t.Run("past committed panics", func(t *testing.T) {
		l := newLog()
		requirePanicContains(t, func() { l.appliedTo(4, 0) }, "applied index 4", "[1, 3]")
	})
	t.Run("accepting past committed panics", func(t *testing.T) {
		l := newLog()
		requirePanicContains(t, func() { l.acceptApplying(4, 0, true, math.MaxUint64) }, "applying index 4", "commit index 3")
	})
}

func TestLogNextCommittedEnts(t *testing.T) {
	// Stable 4@1 5@1, unstable 6@1 7@1; committed up to 6.
	newLog := func() *raftLog {
		l := newTestRaftLog(entriesAt(3, 1, 1, 1), entriesAt(6, 1, 1))
		l.commitTo(6)
		return l
	}
	for _, tt := range []struct {
		name          string
		applying      uint64
		allowUnstable bool
		snapshot      bool
		want          []pb.Entry
	}{
		{"unstable allowed", 3, true, false, entriesAt(4, 1, 1, 1)},
		{"stable only", 3, false, false, entriesAt(4, 1, 1)},
		{"part applying, unstable allowed", 4, true, false, entriesAt(5, 1, 1)},
		{"part applying, stable only", 4, false, false, entriesAt(5, 1)},
		{"stable applying, unstable allowed", 5, true, false, entriesAt(6, 1)},
		{"stable applying, stable only", 5, false, false, nil},
		{"all committed applying", 6, true, false, nil},
		{"pending snapshot", 3, true, true, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newLog()
			l.acceptApplying(tt.applying, 0, tt.allowUnstable, math.MaxUint64)
			l.apply.paused = false
			if tt.snapshot {
				l.unstable.snapshot = snapAt(3, 1)
			}
			got := l.nextCommittedEnts(tt.allowUnstable, math.MaxUint64)
			assert.Equal(t, tt.want, got, "got %v, want %v", got, tt.want)
			has := l.hasNextCommittedEnts(tt.allowUnstable, math.MaxUint64)
			assert.Equal(t, len(tt.want) != 0, has, "hasNextCommittedEnts: got %v, want %v", has, len(tt.want) != 0)
		})
	}

	t.Run("stable only waits for persistence", func(t *testing.T) {
		l := newLog()
		l.acceptApplying(5, 0, false, math.MaxUint64)
		early := l.nextCommittedEnts(false, math.MaxUint64)
		require.Nil(t, early, "got %v to apply before they are persisted, want nothing", early)
		require.NoError(t, l.storage.(*MemoryStorage).Append(l.nextUnstableEnts()[:1]))
		l.acceptUnstable()
		l.stableTo(entryID{term: 1, index: 6})
		got := l.nextCommittedEnts(false, math.MaxUint64)
		assert.Equal(t, entriesAt(6, 1), got, "after persisting: got %v, want %v", got, entriesAt(6, 1))
	})
	t.Run("stale acknowledgement does not make entries appliable", func(t *testing.T) {
		l := newLog()
		l.acceptUnstable()
		l.append(entriesAt(7, 2)...)
		l.stableTo(entryID{term: 1, index: 7})
		assert.Equal(t, uint64(6), l.unstable.offset, "unstable offset: got %v, want %v", l.unstable.offset, 6)
		l.commitTo(7)
		got := l.nextCommittedEnts(false, math.MaxUint64)
		assert.Equal(t, entriesAt(4, 1, 1), got, "got %v, want %v", got, entriesAt(4, 1, 1))
	})
}

func TestLogNextCommittedEntsPagedBySize(t *testing.T) {
	const n = 10
	ents := make([]pb.Entry, n)
	for i := range ents {
		ents[i] = pb.Entry{Index: uint64(i + 1), Term: 1, Data: make([]byte, 100)}
	}
	size := entryEncodingSize(ents[0].Size())
	newLog := func(maxSize entryEncodingSize) *raftLog {
		ms := NewMemoryStorage()
		require.NoError(t, ms.Append(ents))
		l := newLogWithSize(ms, discardLogger, maxSize)
		l.commitTo(n)
		return l
	}

	t.Run("pauses when the budget is used up", func(t *testing.T) {
		l := newLog(3 * size)
		got := l.nextCommittedEnts(false, math.MaxUint64)
		require.Equal(t, ents[:3], got, "first page: got %v, want %v", got, ents[:3])
		l.acceptApplying(3, entsSize(got), false, math.MaxUint64)
		assert.True(t, l.apply.paused, "got not paused, want paused")
		assert.False(t, l.hasNextCommittedEnts(false, math.MaxUint64), "got more entries to apply while paused")
		paused := l.nextCommittedEnts(false, math.MaxUint64)
		assert.Nil(t, paused, "got %v to apply while paused, want nothing", paused)

		l.appliedTo(3, entsSize(got))
		assert.False(t, l.apply.paused, "got paused after applying, want not paused")
		got = l.nextCommittedEnts(false, math.MaxUint64)
		assert.Equal(t, ents[3:6], got, "second page: got %v, want %v", got, ents[3:6])
	})
	t.Run("pauses when the bound cut the page short", func(t *testing.T) {
		l := newLog(5*size/2 + 1)
		got := l.nextCommittedEnts(false, math.MaxUint64)
		require.Equal(t, ents[:2], got, "first page: got %v, want %v", got, ents[:2])
		l.acceptApplying(2, entsSize(got), false, math.MaxUint64)
		assert.True(t, l.apply.paused, "got not paused, want paused")

		l.appliedTo(1, size)
		got = l.nextCommittedEnts(false, math.MaxUint64)
		assert.Equal(t, ents[2:3], got, "page within the remaining budget: got %v, want %v", got, ents[2:3])
	})
	t.Run("does not pause when everything fit", func(t *testing.T) {
		l := newLog(noSizeLimit)
		got := l.nextCommittedEnts(false, math.MaxUint64)
		require.Len(t, got, n, "got %d, want %d", len(got), n)
		l.acceptApplying(n, entsSize(got), false, math.MaxUint64)
		assert.False(t, l.apply.paused, "got paused, want not paused")
	})
	t.Run("applying everything handed out frees the whole budget", func(t *testing.T) {
		l := newLog(3 * size)
		got := l.nextCommittedEnts(false, math.MaxUint64)
		l.acceptApplying(3, entsSize(got), false, math.MaxUint64)
		l.appliedTo(3, size)
		assert.Zero(t, l.apply.outSize, "got %v bytes outstanding, want 0", l.apply.outSize)
		assert.False(t, l.apply.paused, "got paused, want not paused")
	})
	t.Run("a confirmation's size counts only when it is partial", func(t *testing.T) {
		l := newLog(noSizeLimit)
		got := l.nextCommittedEnts(false, math.MaxUint64)
		l.acceptApplying(3, entsSize(got), false, math.MaxUint64)
		partial, whole := l.appliedSize(got[:1]), l.appliedSize(got[:3])
		assert.Equal(t, size, partial, "got size %v for a partial confirmation, want %v", partial, size)
		assert.Zero(t, whole, "got size %v for confirming everything handed out, want 0", whole)
		assert.Zero(t, l.appliedSize(nil), "got a size for no entries")
	})
	t.Run("a zero budget hands out one entry at a time", func(t *testing.T) {
		l := newLog(0)
		for i := uint64(1); i <= 3; i++ {
			got := l.nextCommittedEnts(false, math.MaxUint64)
			require.Equal(t, ents[i-1:i], got, "got %v, want %v", got, ents[i-1:i])
			l.acceptApplying(i, entsSize(got), false, math.MaxUint64)
			assert.Nil(t, l.nextCommittedEnts(false, math.MaxUint64), "got entries before the previous one was applied")
			l.appliedTo(i, entsSize(got))
		}
	})
	t.Run("an entry larger than the budget still goes out alone", func(t *testing.T) {
		l := newLog(size / 2)
		got := l.nextCommittedEnts(false, math.MaxUint64)
		assert.Equal(t, ents[:1], got, "got %v, want %v", got, ents[:1])
	})
}
