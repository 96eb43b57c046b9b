package raft

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// entriesAt returns entries with consecutive indexes starting at first, with
// the given terms.
func entriesAt(first uint64, terms ...uint64) []pb.Entry {
	ents := make([]pb.Entry, len(terms))
	for i, t := range terms {
		ents[i] = pb.Entry{Index: first + uint64(i), Term: t}
	}
	return ents
}

// newTestStorage returns a MemoryStorage whose dummy entry is ents[0] and
// whose entries are ents[1:], as if the log had been compacted up to
// ents[0].Index.
func newTestStorage(ents []pb.Entry) *MemoryStorage {
	ms := NewMemoryStorage()
	ms.dummyIndex.Store(ents[0].Index)
	ms.dummyTerm = ents[0].Term
	ms.ents = append([]pb.Entry(nil), ents[1:]...)
	ms.snapshot.Metadata.Index = ents[0].Index
	ms.snapshot.Metadata.Term = ents[0].Term
	return ms
}

// withDummy returns the dummy entry (its Index and Term) followed by the
// entries of ms, as newTestStorage takes them.
func withDummy(ms *MemoryStorage) []pb.Entry {
	return append([]pb.Entry{{Index: ms.dummyIndex.Load(), Term: ms.dummyTerm}}, ms.ents...)
}

// requirePanicContains runs f and requires that it panics with a message
// containing every one of parts.
func requirePanicContains(t *testing.T, f func(), parts ...string) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		require.NotNil(t, r, "got no panic, want one")
		msg := fmt.Sprint(r)
		for _, p := range parts {
			assert.Contains(t, msg, p, "got panic %q, want it to mention %q", msg, p)
		}
	}()
	f()
}

func TestStorageErrorTexts(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{ErrCompacted, "requested index is unavailable due to compaction"},
		{ErrSnapOutOfDate, "requested index is older than the existing snapshot"},
		{ErrUnavailable, "requested entry at index is unavailable"},
		{ErrSnapshotTemporarilyUnavailable, "snapshot is temporarily unavailable"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.err.Error(), "got %v, want %v", tt.err.Error(), tt.want)
		})
	}
}

func TestMemoryStorageEmpty(t *testing.T) {
	ms := NewMemoryStorage()
	t.Run("first index is 1", func(t *testing.T) {
		first, err := ms.FirstIndex()
		require.NoError(t, err)
		assert.Equal(t, uint64(1), first, "first: got %v, want 1", first)
	})
	t.Run("last index is 0", func(t *testing.T) {
		last, err := ms.LastIndex()
		require.NoError(t, err)
		assert.Equal(t, uint64(0), last, "last: got %v, want 0", last)
	})
	t.Run("term of the dummy entry is 0", func(t *testing.T) {
		term, err := ms.Term(0)
		require.NoError(t, err)
		assert.Equal(t, uint64(0), term, "term: got %v, want 0", term)
	})
	t.Run("term past the end is unavailable", func(t *testing.T) {
		_, err := ms.Term(1)
		assert.Equal(t, ErrUnavailable, err, "err: got %v, want ErrUnavailable", err)
	})
	t.Run("empty range of entries is unavailable", func(t *testing.T) {
		_, err := ms.Entries(1, 1, 0)
		assert.Equal(t, ErrUnavailable, err, "err: got %v, want ErrUnavailable", err)
	})
	t.Run("initial state is zero", func(t *testing.T) {
		hs, cs, err := ms.InitialState()
		require.NoError(t, err)
		assert.Equal(t, pb.HardState{}, hs, "hs: got %v, want %v", hs, pb.HardState{})
		assert.Equal(t, pb.ConfState{}, cs, "cs: got %v, want %v", cs, pb.ConfState{})
	})
	t.Run("snapshot is empty", func(t *testing.T) {
		snap, err := ms.Snapshot()
		require.NoError(t, err)
		assert.Equal(t, pb.Snapshot{}, snap, "snap: got %v, want %v", snap, pb.Snapshot{})
	})
}

func TestMemoryStorageTerm(t *testing.T) {
	ms := newTestStorage(entriesAt(3, 3, 4, 5))
	for _, tt := range []struct {
		name  string
		i     uint64
		want  uint64
		error error
	}{
		{"below the dummy entry", 2, 0, ErrCompacted},
		{"dummy entry", 3, 3, nil},
		{"first entry", 4, 4, nil},
		{"last entry", 5, 5, nil},
		{"past the last entry", 6, 0, ErrUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			term, err := ms.Term(tt.i)
			assert.Equal(t, tt.error, err, "got %v, want %v", err, tt.error)
			assert.Equal(t, tt.want, term, "got %v, want %v", term, tt.want)
		})
	}
}

func TestMemoryStorageEntries(t *testing.T) {
	ents := entriesAt(3, 3, 4, 5, 6)
	size := func(n int) uint64 { return uint64(entsSize(ents[1 : 1+n])) }
	for _, tt := range []struct {
		name    string
		lo, hi  uint64
		maxSize uint64
		want    []pb.Entry
		error   error
	}{
		{"lo below the dummy entry", 2, 6, noLimitU64, nil, ErrCompacted},
		{"lo at the dummy entry", 3, 4, noLimitU64, nil, ErrCompacted},
		{"one entry", 4, 5, noLimitU64, ents[1:2], nil},
		{"two entries", 4, 6, noLimitU64, ents[1:3], nil},
		{"up to the last entry", 4, 7, noLimitU64, ents[1:4], nil},
		{"empty range", 5, 5, noLimitU64, []pb.Entry{}, nil},
		{"size 0 still returns one entry", 4, 7, 0, ents[1:2], nil},
		{"size of the first entry", 4, 7, size(1), ents[1:2], nil},
		{"size just under two entries", 4, 7, size(2) - 1, ents[1:2], nil},
		{"size of two entries", 4, 7, size(2), ents[1:3], nil},
		{"size just over two entries", 4, 7, size(2) + 1, ents[1:3], nil},
		{"size of all entries", 4, 7, size(3), ents[1:4], nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ms := newTestStorage(ents)
			got, err := ms.Entries(tt.lo, tt.hi, tt.maxSize)
			assert.Equal(t, tt.error, err, "got %v, want %v", err, tt.error)
			assert.Equal(t, tt.want, got, "got %v, want %v", got, tt.want)
		})
	}

	t.Run("only the dummy entry is unavailable", func(t *testing.T) {
		ms := newTestStorage(entriesAt(3, 3))
		_, err := ms.Entries(4, 4, noLimitU64)
		assert.Equal(t, ErrUnavailable, err, "err: got %v, want ErrUnavailable", err)
	})
	t.Run("hi past the last index panics", func(t *testing.T) {
		ms := newTestStorage(ents)
		requirePanicContains(t, func() { _, _ = ms.Entries(4, 8, noLimitU64) }, "(4, 8)", "(3, 6]")
	})
	t.Run("lo above hi panics", func(t *testing.T) {
		ms := newTestStorage(ents)
		requirePanicContains(t, func() { _, _ = ms.Entries(5, 4, noLimitU64) }, "(5, 4)")
	})
	t.Run("appending to the result leaves the storage alone", func(t *testing.T) {
		ms := newTestStorage(ents)
		got, err := ms.Entries(4, 5, noLimitU64)
		require.NoError(t, err)
		_ = append(got, pb.Entry{Index: 5, Term: 99})
		term, err := ms.Term(5)
		require.NoError(t, err)
		assert.Equal(t, uint64(5), term, "got %v, want %v", term, 5)
	})
}

// noLimitU64 is noSizeLimit in the unit of Storage.Entries.
const noLimitU64 = uint64(noSizeLimit)

func TestMemoryStorageFirstLastIndex(t *testing.T) {
	ms := newTestStorage(entriesAt(3, 3, 4, 5))
	first, err := ms.FirstIndex()
	require.NoError(t, err)
	assert.Equal(t, uint64(4), first, "got %v, want %v", first, 4)
	last, err := ms.LastIndex()
	require.NoError(t, err)
	assert.Equal(t, uint64(5), last, "got %v, want %v", last, 5)

	require.NoError(t, ms.Append(entriesAt(6, 5)))
	last, err = ms.LastIndex()
	require.NoError(t, err)
	assert.Equal(t, uint64(6), last, "after append: got %v, want %v", last, 6)

	require.NoError(t, ms.Compact(4))
	first, err = ms.FirstIndex()
	require.NoError(t, err)
	assert.Equal(t, uint64(5), first, "after compact: got %v, want %v", first, 5)
}

func TestMemoryStorageCompact(t *testing.T) {
	ents := entriesAt(3, 3, 4, 5)
	for _, tt := range []struct {
		name      string
		i         uint64
		error     error
		wantIndex uint64
		wantTerm  uint64
		wantLen   int
	}{
		{"below the dummy entry", 2, ErrCompacted, 3, 3, 3},
		{"at the dummy entry", 3, ErrCompacted, 3, 3, 3},
		{"one entry", 4, nil, 4, 4, 2},
		{"up to the last entry", 5, nil, 5, 5, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ms := newTestStorage(ents)
			err := ms.Compact(tt.i)
			assert.Equal(t, tt.error, err, "got %v, want %v", err, tt.error)
			assert.Equal(t, tt.wantIndex, ms.dummyIndex.Load(), "dummy index: got %v, want %v", ms.dummyIndex.Load(), tt.wantIndex)
			assert.Equal(t, tt.wantTerm, ms.dummyTerm, "dummy term: got %v, want %v", ms.dummyTerm, tt.wantTerm)
			assert.Len(t, withDummy(ms), tt.wantLen, "the dummy and entries: got %d, want %d", len(ms.ents)+1, tt.wantLen)
			term, err := ms.Term(tt.wantIndex)
			require.NoError(t, err)
			assert.Equal(t, tt.wantTerm, term, "term of the dummy: got %v, want %v", term, tt.wantTerm)
		})
	}
	t.Run("past the last index panics", func(t *testing.T) {
		ms := newTestStorage(ents)
		requirePanicContains(t, func() { _ = ms.Compact(6) }, "Compact(6)", "last index 5")
	})
	t.Run("entries handed out before survive compaction and appends", func(t *testing.T) {
		ms := newTestStorage(entriesAt(3, 3, 4, 5, 6, 7))
		got, err := ms.Entries(4, 8, noLimitU64)
		require.NoError(t, err)
		want := append([]pb.Entry(nil), got...)
		require.NoError(t, ms.Compact(5))
		require.NoError(t, ms.Append(entriesAt(6, 9, 9)))
		require.NoError(t, ms.Compact(7))
		require.NoError(t, ms.Append(entriesAt(8, 9)))
		assert.Equal(t, want, got, "got %v, want %v", got, want)
	})
}

func TestMemoryStorageCompactReleasesMemory(t *testing.T) {
	t.Run("dropping fewer than kept reslices", func(t *testing.T) {
		ms := newTestStorage(entriesAt(10, 1, 1, 1, 1, 1, 1, 1, 1))
		base := &ms.ents[2]
		require.NoError(t, ms.Compact(12))
		assert.Same(t, base, &ms.ents[0], "got a fresh array, want the same array resliced")
	})
	t.Run("dropping at least as many as kept copies", func(t *testing.T) {
		ms := newTestStorage(entriesAt(10, 1, 1, 1, 1, 1, 1, 1, 1))
		base := &ms.ents[4]
		require.NoError(t, ms.Compact(14))
		assert.NotSame(t, base, &ms.ents[0], "got the old array, want a fresh one")
		assert.Equal(t, entriesAt(14, 1, 1, 1, 1), withDummy(ms), "the dummy and entries: got %v, want %v", withDummy(ms), entriesAt(14, 1, 1, 1, 1))
		assert.Equal(t, len(ms.ents), cap(ms.ents), "got cap %v, want %v", cap(ms.ents), len(ms.ents))
	})
	t.Run("the log regrows at once to its length before the compaction", func(t *testing.T) {
		ms := newTestStorage(entriesAt(10, 1, 1, 1, 1, 1, 1, 1, 1))
		require.NoError(t, ms.Compact(17))
		require.Equal(t, 0, cap(ms.ents))
		require.NoError(t, ms.Append(entriesAt(18, 1)))
		assert.Equal(t, 7, cap(ms.ents), "got cap %v after the first append, want the 7 entries held before compacting", cap(ms.ents))
		base := &ms.ents[0]
		require.NoError(t, ms.Append(entriesAt(19, 1, 1, 1, 1, 1, 1)))
		assert.Same(t, base, &ms.ents[0], "got a fresh array refilling the log to its old length, want the regrown one")
	})
	t.Run("a log restarted from a snapshot forgets its old length", func(t *testing.T) {
		ms := newTestStorage(entriesAt(10, 1, 1, 1, 1, 1, 1, 1, 1))
		require.NoError(t, ms.Compact(17))
		require.NoError(t, ms.ApplySnapshot(pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 30, Term: 2}}))
		require.NoError(t, ms.Append(entriesAt(31, 2)))
		assert.Equal(t, 1, cap(ms.ents), "got cap %v after the first append, want an exact fit", cap(ms.ents))
	})
}

func TestMemoryStorageCreateSnapshot(t *testing.T) {
	ents := entriesAt(3, 3, 4, 5)
	cs := &pb.ConfState{Voters: []uint64{1, 2, 3}}
	data := []byte("data")
	for _, tt := range []struct {
		name  string
		i     uint64
		error error
		want  pb.Snapshot
	}{
		{"at the snapshot index", 3, ErrSnapOutOfDate, pb.Snapshot{}},
		{"first entry", 4, nil, pb.Snapshot{Data: data, Metadata: pb.SnapshotMetadata{Index: 4, Term: 4, ConfState: *cs}}},
		{"last entry", 5, nil, pb.Snapshot{Data: data, Metadata: pb.SnapshotMetadata{Index: 5, Term: 5, ConfState: *cs}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ms := newTestStorage(ents)
			snap, err := ms.CreateSnapshot(tt.i, cs, data)
			assert.Equal(t, tt.error, err, "got %v, want %v", err, tt.error)
			assert.Equal(t, tt.want, snap, "got %v, want %v", snap, tt.want)
		})
	}
	t.Run("older than the snapshot", func(t *testing.T) {
		ms := newTestStorage(ents)
		_, err := ms.CreateSnapshot(5, cs, data)
		require.NoError(t, err)
		_, err = ms.CreateSnapshot(4, cs, data)
		assert.Equal(t, ErrSnapOutOfDate, err, "got %v, want %v", err, ErrSnapOutOfDate)
	})
	t.Run("nil ConfState keeps the previous one", func(t *testing.T) {
		ms := newTestStorage(ents)
		_, err := ms.CreateSnapshot(4, cs, data)
		require.NoError(t, err)
		snap, err := ms.CreateSnapshot(5, nil, nil)
		require.NoError(t, err)
		assert.Equal(t, *cs, snap.Metadata.ConfState, "got %v, want %v", snap.Metadata.ConfState, *cs)
		got, err := ms.Snapshot()
		require.NoError(t, err)
		assert.Equal(t, snap, got, "Snapshot(): got %v, want %v", got, snap)
	})
	t.Run("does not compact", func(t *testing.T) {
		ms := newTestStorage(ents)
		_, err := ms.CreateSnapshot(5, cs, data)
		require.NoError(t, err)
		first, err := ms.FirstIndex()
		require.NoError(t, err)
		assert.Equal(t, uint64(4), first, "got %v, want %v", first, 4)
	})
	t.Run("past the last index panics", func(t *testing.T) {
		ms := newTestStorage(ents)
		requirePanicContains(t, func() { _, _ = ms.CreateSnapshot(6, cs, data) }, "CreateSnapshot(6)", "last index 5")
	})
	t.Run("an index compacted without a snapshot panics", func(t *testing.T) {
		ms := NewMemoryStorage()
		require.NoError(t, ms.Append(entriesAt(1, 1, 1, 2, 2, 3)))
		require.NoError(t, ms.Compact(3))
		requirePanicContains(t, func() { _, _ = ms.CreateSnapshot(2, cs, data) }, "CreateSnapshot(2)", "dummy index 3")
	})
}

func TestMemoryStorageAppend(t *testing.T) {
	ents := entriesAt(3, 3, 4, 5)
	for _, tt := range []struct {
		name   string
		append []pb.Entry
		want   []pb.Entry
	}{
		{"nothing", nil, entriesAt(3, 3, 4, 5)},
		{"identical entries", entriesAt(3, 3, 4, 5), entriesAt(3, 3, 4, 5)},
		{"conflict on the first entry", entriesAt(4, 6, 6), entriesAt(3, 3, 6, 6)},
		{"conflict on the last entry", entriesAt(5, 6), entriesAt(3, 3, 4, 6)},
		{"extending over the last entry", entriesAt(3, 3, 4, 5, 5), entriesAt(3, 3, 4, 5, 5)},
		{"right after the last entry", entriesAt(6, 5), entriesAt(3, 3, 4, 5, 5)},
		{"truncating to a shorter log", entriesAt(4, 7), entriesAt(3, 3, 7)},
		{"all compacted", entriesAt(1, 1, 2), entriesAt(3, 3, 4, 5)},
		{"up to the dummy entry, compacted", entriesAt(2, 3, 3), entriesAt(3, 3, 4, 5)},
		{"partly compacted, rest identical", entriesAt(2, 3, 3, 4, 5), entriesAt(3, 3, 4, 5)},
		{"partly compacted, rest conflicting", entriesAt(2, 3, 3, 6, 6, 6), entriesAt(3, 3, 6, 6, 6)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ms := newTestStorage(ents)
			require.NoError(t, ms.Append(tt.append))
			assert.Equal(t, tt.want, withDummy(ms), "got %v, want %v", withDummy(ms), tt.want)
		})
	}
	t.Run("gap after the last index panics", func(t *testing.T) {
		ms := newTestStorage(ents)
		requirePanicContains(t, func() { _ = ms.Append(entriesAt(7, 5)) }, "last index 5", "appended index 7")
	})
	t.Run("conflicting append does not overwrite entries handed out", func(t *testing.T) {
		ms := newTestStorage(entriesAt(3, 3, 4, 5, 5))
		got, err := ms.Entries(4, 7, noLimitU64)
		require.NoError(t, err)
		want := append([]pb.Entry(nil), got...)
		require.NoError(t, ms.Append(entriesAt(5, 7, 7, 7)))
		assert.Equal(t, want, got, "got %v, want %v", got, want)
		assert.Equal(t, entriesAt(3, 3, 4, 7, 7, 7), withDummy(ms), "the dummy and entries: got %v, want %v", withDummy(ms), entriesAt(3, 3, 4, 7, 7, 7))
	})
	t.Run("appending after the last entry is amortised", func(t *testing.T) {
		ms := NewMemoryStorage()
		next := uint64(1)
		allocs := testing.AllocsPerRun(1000, func() {
			_ = ms.Append([]pb.Entry{{Index: next, Term: 1}})
			next++
		})
		assert.Zero(t, allocs, "got %v allocations per append, want 0 (amortised)", allocs)
	})
	t.Run("the first append to an empty log fits it exactly", func(t *testing.T) {
		ms := NewMemoryStorage()
		require.NoError(t, ms.Append(entriesAt(1, 1, 1, 1)))
		assert.Equal(t, 3, cap(ms.ents), "got cap %v for 3 entries, want 3", cap(ms.ents))
		require.NoError(t, ms.Append(entriesAt(4, 1)))
		assert.Equal(t, 8, cap(ms.ents), "got cap %v after the next append, want the doubled 8", cap(ms.ents))
	})
	t.Run("appending after the last entry keeps the array", func(t *testing.T) {
		ms := newTestStorage(entriesAt(3, 3, 4, 5))
		ms.ents = append(make([]pb.Entry, 0, 16), ms.ents...)
		base := &ms.ents[0]
		require.NoError(t, ms.Append(entriesAt(6, 5, 5, 5)))
		assert.Same(t, base, &ms.ents[0], "got a copied log, want the entries appended in place")
	})
}

func TestMemoryStorageApplySnapshot(t *testing.T) {
	cs := pb.ConfState{Voters: []uint64{1, 2, 3}}
	snap := func(i, t uint64) pb.Snapshot {
		return pb.Snapshot{Data: []byte("data"), Metadata: pb.SnapshotMetadata{Index: i, Term: t, ConfState: cs}}
	}

	t.Run("newer snapshot replaces the log", func(t *testing.T) {
		ms := newTestStorage(entriesAt(3, 3, 4, 5))
		require.NoError(t, ms.ApplySnapshot(snap(4, 4)))
		first, _ := ms.FirstIndex()
		last, _ := ms.LastIndex()
		assert.Equal(t, uint64(5), first, "first index: got %v, want %v", first, 5)
		assert.Equal(t, uint64(4), last, "last index: got %v, want %v", last, 4)
		term, err := ms.Term(4)
		require.NoError(t, err)
		assert.Equal(t, uint64(4), term, "term of the snapshot index: got %v, want %v", term, 4)
		got, _ := ms.Snapshot()
		assert.Equal(t, snap(4, 4), got, "got %v, want %v", got, snap(4, 4))
		_, gotCS, _ := ms.InitialState()
		assert.Equal(t, cs, gotCS, "InitialState ConfState: got %v, want %v", gotCS, cs)
	})
	t.Run("snapshot past the log", func(t *testing.T) {
		ms := newTestStorage(entriesAt(3, 3, 4, 5))
		require.NoError(t, ms.ApplySnapshot(snap(10, 7)))
		assert.Equal(t, entriesAt(10, 7), withDummy(ms), "the dummy and entries: got %v, want %v", withDummy(ms), entriesAt(10, 7))
	})
	t.Run("older snapshot is out of date", func(t *testing.T) {
		ms := NewMemoryStorage()
		require.NoError(t, ms.ApplySnapshot(snap(4, 4)))
		err := ms.ApplySnapshot(snap(3, 3))
		assert.Equal(t, ErrSnapOutOfDate, err, "got %v, want %v", err, ErrSnapOutOfDate)
		got, _ := ms.Snapshot()
		assert.Equal(t, snap(4, 4), got, "snapshot changed: got %v, want %v", got, snap(4, 4))
	})
	t.Run("same snapshot again is out of date", func(t *testing.T) {
		ms := NewMemoryStorage()
		require.NoError(t, ms.ApplySnapshot(snap(4, 4)))
		err := ms.ApplySnapshot(snap(4, 4))
		assert.Equal(t, ErrSnapOutOfDate, err, "got %v, want %v", err, ErrSnapOutOfDate)
	})
	t.Run("entries handed out survive", func(t *testing.T) {
		ms := newTestStorage(entriesAt(3, 3, 4, 5))
		got, err := ms.Entries(4, 6, noLimitU64)
		require.NoError(t, err)
		require.NoError(t, ms.ApplySnapshot(snap(8, 8)))
		require.NoError(t, ms.Append(entriesAt(9, 8, 8)))
		assert.Equal(t, entriesAt(4, 4, 5), got, "got %v, want %v", got, entriesAt(4, 4, 5))
	})
}

func TestMemoryStorageHardState(t *testing.T) {
	ms := NewMemoryStorage()
	hs := pb.HardState{Term: 3, Vote: 2, Commit: 5}
	require.NoError(t, ms.SetHardState(hs))
	got, _, err := ms.InitialState()
	require.NoError(t, err)
	assert.Equal(t, hs, got, "got %v, want %v", got, hs)
}

// TestMemoryStorageConcurrentUse exercises every method from several
// goroutines at once; run with -race it shows that the mutex guards all
// state.
func TestMemoryStorageConcurrentUse(t *testing.T) {
	ms := NewMemoryStorage()
	require.NoError(t, ms.Append(entriesAt(1, 1)))
	const rounds = 200
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for i := uint64(2); i < rounds; i++ {
			_ = ms.Append(entriesAt(i, 1))
			_ = ms.SetHardState(pb.HardState{Commit: i})
			if i%10 == 0 {
				_, _ = ms.CreateSnapshot(i-5, nil, nil)
				_ = ms.Compact(i - 5)
			}
		}
	}()
	reader := func() {
		defer wg.Done()
		var prevFirst uint64
		for i := 0; i < rounds; i++ {
			// NB: FirstIndex reads without the mutex; under -race this
			// checks that it reads what compactions write safely.
			first, _ := ms.FirstIndex()
			if first < prevFirst {
				t.Errorf("FirstIndex went back from %d to %d", prevFirst, first)
			}
			prevFirst = first
			last, _ := ms.LastIndex()
			_, _ = ms.Term(last)
			_, _ = ms.Entries(first, first, noLimitU64)
			_, _, _ = ms.InitialState()
			_, _ = ms.Snapshot()
		}
	}
	go reader()
	go reader()
	wg.Wait()
	last, _ := ms.LastIndex()
	assert.Equal(t, uint64(rounds-1), last, "got %v, want %v", last, rounds-1)
}

// BenchmarkMemoryStorageAppend appends four entries after the last one and
// compacts four from the front, keeping a log of the given length, as a
// server that compacts regularly does. Bytes and allocations per op do not
// depend on the length: appending never copies the log, the array only
// grows (amortised) when the compacted prefix has used it up.
func BenchmarkMemoryStorageAppend(b *testing.B) {
	for _, length := range []int{1 << 10, 1 << 17} {
		b.Run(fmt.Sprintf("len=%d", length), func(b *testing.B) {
			ms := NewMemoryStorage()
			ents := make([]pb.Entry, length)
			for i := range ents {
				ents[i] = pb.Entry{Index: uint64(i + 1), Term: 1, Data: make([]byte, 16)}
			}
			require.NoError(b, ms.Append(ents))
			batch := make([]pb.Entry, 4)
			next, compact := uint64(length+1), uint64(1)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range batch {
					batch[j] = pb.Entry{Index: next, Term: 1, Data: ents[0].Data}
					next++
				}
				if err := ms.Append(batch); err != nil {
					b.Fatal(err)
				}
				compact += uint64(len(batch))
				if err := ms.Compact(compact); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestMemoryStorageDummyOutsideArray checks that the dummy entry takes no
// room in the log's array: a log of n entries holds an array of n, and one
// compacted up to its last entry holds none, while the dummy's term stays
// known.
func TestMemoryStorageDummyOutsideArray(t *testing.T) {
	ms := NewMemoryStorage()
	require.NoError(t, ms.Append(entriesAt(1, 1)))
	assert.Equal(t, 1, cap(ms.ents), "got cap %v for a log of one entry, want 1", cap(ms.ents))
	require.NoError(t, ms.Append(entriesAt(2, 2)))
	require.NoError(t, ms.Compact(2))
	assert.Equal(t, 0, cap(ms.ents), "got cap %v for a log compacted to its last entry, want 0", cap(ms.ents))
	term, err := ms.Term(2)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), term, "term of the dummy: got %v, want 2", term)
	_, err = ms.Term(3)
	assert.Equal(t, ErrUnavailable, err, "Term past the last index: got %v, want %v", err, ErrUnavailable)
	_, err = ms.Entries(3, 3, noLimitU64)
	assert.Equal(t, ErrUnavailable, err, "Entries of an empty log: got %v, want %v", err, ErrUnavailable)
	first, _ := ms.FirstIndex()
	last, _ := ms.LastIndex()
	assert.Equal(t, [2]uint64{3, 2}, [2]uint64{first, last}, "first and last index: got %v, want [3 2]", [2]uint64{first, last})
}
