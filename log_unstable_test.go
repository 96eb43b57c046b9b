package raft

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// newTestUnstable returns an unstable with the given content, nothing of it
// handed out for persisting yet.
func newTestUnstable(snap *pb.Snapshot, offset uint64, ents []pb.Entry) unstable {
	return unstable{
		snapshot:         snap,
		entries:          ents,
		offset:           offset,
		offsetInProgress: offset,
	}
}

func snapAt(index, term uint64) *pb.Snapshot {
	return &pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: index, Term: term}}
}

func TestUnstableLastIndex(t *testing.T) {
	for _, tt := range []struct {
		name   string
		u      unstable
		wantOK bool
		want   uint64
	}{
		{"empty", newTestUnstable(nil, 5, nil), false, 0},
		{"entries only", newTestUnstable(nil, 5, entriesAt(5, 1, 1)), true, 6},
		{"snapshot only", newTestUnstable(snapAt(4, 1), 5, nil), true, 4},
		{"snapshot and entries", newTestUnstable(snapAt(4, 1), 5, entriesAt(5, 1)), true, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.u.lastIndex()
			assert.Equal(t, tt.wantOK, ok, "ok: got %v, want %v", ok, tt.wantOK)
			assert.Equal(t, tt.want, got, "got %v, want %v", got, tt.want)
		})
	}
}

func TestUnstableTermAt(t *testing.T) {
	for _, tt := range []struct {
		name   string
		u      unstable
		i      uint64
		wantOK bool
		want   uint64
	}{
		{"entry", newTestUnstable(nil, 5, entriesAt(5, 1, 2)), 6, true, 2},
		{"below the entries", newTestUnstable(nil, 5, entriesAt(5, 1)), 4, false, 0},
		{"past the entries", newTestUnstable(nil, 5, entriesAt(5, 1)), 6, false, 0},
		{"empty", newTestUnstable(nil, 5, nil), 5, false, 0},
		{"snapshot index", newTestUnstable(snapAt(4, 3), 5, entriesAt(5, 3)), 4, true, 3},
		{"entry after the snapshot", newTestUnstable(snapAt(4, 3), 5, entriesAt(5, 4)), 5, true, 4},
		{"below the snapshot", newTestUnstable(snapAt(4, 3), 5, entriesAt(5, 3)), 3, false, 0},
		{"past a lone snapshot", newTestUnstable(snapAt(4, 3), 5, nil), 5, false, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.u.termAt(tt.i)
			assert.Equal(t, tt.wantOK, ok, "ok: got %v, want %v", ok, tt.wantOK)
			assert.Equal(t, tt.want, got, "got %v, want %v", got, tt.want)
		})
	}
}

func TestUnstableRestore(t *testing.T) {
	u := newTestUnstable(snapAt(4, 1), 5, entriesAt(5, 1, 1))
	u.acceptInProgress()
	s := pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 10, Term: 3}}
	u.restore(s)

	assert.Equal(t, uint64(11), u.offset, "offset: got %v, want %v", u.offset, 11)
	assert.Equal(t, uint64(11), u.offsetInProgress, "offsetInProgress: got %v, want %v", u.offsetInProgress, 11)
	assert.Empty(t, u.entries, "u.entries: got %v, want none", u.entries)
	require.NotNil(t, u.snapshot, "got no snapshot, want the restored one")
	assert.Equal(t, s, *u.snapshot, "snapshot: got %v, want %v", *u.snapshot, s)
	assert.False(t, u.snapshotInProgress, "got snapshot in progress, want it pending")
	assert.Equal(t, &s.Metadata, &u.nextSnapshot().Metadata, "restored snapshot is not the next one to persist")
}

func TestUnstableNextEntries(t *testing.T) {
	for _, tt := range []struct {
		name       string
		entries    []pb.Entry
		inProgress uint64
		want       []pb.Entry
	}{
		{"nothing handed out", entriesAt(5, 1, 1), 5, entriesAt(5, 1, 1)},
		{"some handed out", entriesAt(5, 1, 1), 6, entriesAt(6, 1)},
		{"all handed out", entriesAt(5, 1, 1), 7, nil},
		{"empty", nil, 5, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := newTestUnstable(nil, 5, tt.entries)
			u.offsetInProgress = tt.inProgress
			got := u.nextEntries()
			assert.Equal(t, tt.want, got, "got %v, want %v", got, tt.want)
			assert.Equal(t, len(got), cap(got), "got cap %v, want %v: appending must not reach unstable's array", cap(got), len(got))
		})
	}
}

func TestUnstableNextSnapshot(t *testing.T) {
	t.Run("none", func(t *testing.T) {
		u := newTestUnstable(nil, 5, nil)
		got := u.nextSnapshot()
		assert.Nil(t, got, "got %v, want nil", got)
	})
	t.Run("pending", func(t *testing.T) {
		u := newTestUnstable(snapAt(4, 1), 5, nil)
		got := u.nextSnapshot()
		assert.Equal(t, snapAt(4, 1), got, "got %v, want %v", got, snapAt(4, 1))
	})
	t.Run("in progress", func(t *testing.T) {
		u := newTestUnstable(snapAt(4, 1), 5, nil)
		u.snapshotInProgress = true
		got := u.nextSnapshot()
		assert.Nil(t, got, "got %v while in progress, want nil", got)
	})
}

func TestUnstableAcceptInProgress(t *testing.T) {
	for _, tt := range []struct {
		name           string
		u              unstable
		wantInProgress uint64
		wantSnapshot   bool
	}{
		{"empty", newTestUnstable(nil, 5, nil), 5, false},
		{"entries", newTestUnstable(nil, 5, entriesAt(5, 1, 1)), 7, false},
		{"snapshot", newTestUnstable(snapAt(4, 1), 5, nil), 5, true},
		{"snapshot and entries", newTestUnstable(snapAt(4, 1), 5, entriesAt(5, 1)), 6, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.u.acceptInProgress()
			assert.Equal(t, tt.wantInProgress, tt.u.offsetInProgress, "offsetInProgress: got %v, want %v",
				tt.u.offsetInProgress, tt.wantInProgress)
			assert.Equal(t, tt.wantSnapshot, tt.u.snapshotInProgress, "snapshotInProgress: got %v, want %v",
				tt.u.snapshotInProgress, tt.wantSnapshot)
			assert.Nil(t, tt.u.nextEntries(), "entries still to hand out after acceptInProgress")
			assert.Nil(t, tt.u.nextSnapshot(), "snapshot still to hand out after acceptInProgress")
		})
	}
}

func TestUnstableTruncateAndAppend(t *testing.T) {
	for _, tt := range []struct {
		name           string
		snap           *pb.Snapshot
		entries        []pb.Entry
		inProgress     uint64
		append         []pb.Entry
		wantOffset     uint64
		wantInProgress uint64
		wantEntries    []pb.Entry
	}{
		{"nothing", nil, entriesAt(5, 1), 6, nil, 5, 6, entriesAt(5, 1)},
		{"after the last entry", nil, entriesAt(5, 1), 5, entriesAt(6, 1, 1), 5, 5, entriesAt(5, 1, 1, 1)},
		{"after the last entry, handed out kept", nil, entriesAt(5, 1), 6, entriesAt(6, 1, 1), 5, 6, entriesAt(5, 1, 1, 1)},
		{"into an empty tail", nil, nil, 5, entriesAt(5, 1), 5, 5, entriesAt(5, 1)},
		{"after a snapshot", snapAt(4, 1), nil, 5, entriesAt(5, 2), 5, 5, entriesAt(5, 2)},
		{"replacing all from the offset", nil, entriesAt(5, 1), 6, entriesAt(5, 2, 2), 5, 5, entriesAt(5, 2, 2)},
		{"replacing stable entries too", nil, entriesAt(5, 1), 6, entriesAt(4, 2, 2, 2), 4, 4, entriesAt(4, 2, 2, 2)},
		{"truncating in the middle", nil, entriesAt(5, 1, 1, 1), 8, entriesAt(6, 2), 5, 6, entriesAt(5, 1, 2)},
		{"truncating the last entry", nil, entriesAt(5, 1, 1, 1), 8, entriesAt(7, 2, 2), 5, 7, entriesAt(5, 1, 1, 2, 2)},
		{"truncating after the handed-out prefix", nil, entriesAt(5, 1, 1, 1), 6, entriesAt(7, 2), 5, 6, entriesAt(5, 1, 1, 2)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := newTestUnstable(tt.snap, 5, tt.entries)
			u.offsetInProgress = tt.inProgress
			u.truncateAndAppend(tt.append, false)
			assert.Equal(t, tt.wantOffset, u.offset, "offset: got %v, want %v", u.offset, tt.wantOffset)
			assert.Equal(t, tt.wantInProgress, u.offsetInProgress, "offsetInProgress: got %v, want %v",
				u.offsetInProgress, tt.wantInProgress)
			assert.Equal(t, tt.wantEntries, u.entries, "entries: got %v, want %v", u.entries, tt.wantEntries)
			assert.Equal(t, tt.snap, u.snapshot, "snapshot: got %v, want %v", u.snapshot, tt.snap)
		})
	}

	t.Run("gap after the last entry panics", func(t *testing.T) {
		u := newTestUnstable(nil, 5, entriesAt(5, 1))
		requirePanicContains(t, func() { u.truncateAndAppend(entriesAt(7, 1), false) }, "index 7", "last index 5")
	})
	t.Run("overwriting the snapshot panics", func(t *testing.T) {
		u := newTestUnstable(snapAt(4, 1), 5, nil)
		requirePanicContains(t, func() { u.truncateAndAppend(entriesAt(4, 2), false) }, "index 4", "snapshot at index 4")
	})
	t.Run("does not keep the caller's slice", func(t *testing.T) {
		u := newTestUnstable(nil, 5, entriesAt(5, 1))
		ents := entriesAt(5, 2, 2)
		u.truncateAndAppend(ents, false)
		ents[0].Term = 9
		assert.Equal(t, entriesAt(5, 2, 2), u.entries, "got %v, want %v", u.entries, entriesAt(5, 2, 2))
	})
	t.Run("an empty unstable adopts a shared slice without copying", func(t *testing.T) {
		u := newTestUnstable(nil, 5, nil)
		ents := entriesAt(5, 2, 2)
		u.truncateAndAppend(ents, true)
		require.Equal(t, entriesAt(5, 2, 2), u.entries)
		assert.Same(t, &ents[0], &u.entries[0], "got a copy of the shared entries, want their array kept")
		assert.Equal(t, len(ents), cap(u.entries), "got cap %v, want the adopted slice capped at its length", cap(u.entries))
	})
	t.Run("the next append after an adopted slice moves to an own array", func(t *testing.T) {
		u := newTestUnstable(nil, 5, nil)
		backing := entriesAt(5, 2, 2, 2)
		u.truncateAndAppend(backing[:2], true)
		u.truncateAndAppend(entriesAt(7, 3), false)
		assert.Equal(t, entriesAt(5, 2, 2, 3), u.entries)
		assert.Equal(t, entriesAt(5, 2, 2, 2), backing, "got the shared array written to: %v", backing)
	})
	t.Run("a non-empty unstable copies a shared slice", func(t *testing.T) {
		u := newTestUnstable(nil, 5, entriesAt(5, 1))
		ents := entriesAt(6, 1)
		u.truncateAndAppend(ents, true)
		ents[0].Term = 9
		assert.Equal(t, entriesAt(5, 1, 1), u.entries, "got %v, want %v", u.entries, entriesAt(5, 1, 1))
	})
	t.Run("a batch into an empty unstable gets an array of its size", func(t *testing.T) {
		u := newTestUnstable(nil, 5, nil)
		ents := make([]pb.Entry, 100)
		for i := range ents {
			ents[i] = pb.Entry{Index: 5 + uint64(i), Term: 1}
		}
		u.truncateAndAppend(ents, false)
		assert.Equal(t, 100, cap(u.entries), "got cap %v for a batch of 100, want 100", cap(u.entries))
	})
}

// TestUnstableHandedOutEntriesAreNeverOverwritten checks that the slices
// unstable hands out (to be persisted, applied or sent to followers) keep
// their content whatever happens to the log afterwards.
func TestUnstableHandedOutEntriesAreNeverOverwritten(t *testing.T) {
	for _, tt := range []struct {
		name string
		then func(u *unstable)
	}{
		{"truncated in the middle", func(u *unstable) { u.truncateAndAppend(entriesAt(6, 2, 2), false) }},
		{"replaced from the offset", func(u *unstable) { u.truncateAndAppend(entriesAt(5, 2), false) }},
		{"persisted, then appended to", func(u *unstable) {
			u.stableTo(entryID{term: 1, index: 7})
			u.truncateAndAppend(entriesAt(8, 2, 2, 2, 2), false)
		}},
		{"partly persisted, then truncated", func(u *unstable) {
			u.stableTo(entryID{term: 1, index: 5})
			u.truncateAndAppend(entriesAt(6, 2, 2, 2), false)
		}},
		{"restored from a snapshot, then appended to", func(u *unstable) {
			u.restore(*snapAt(9, 2))
			u.truncateAndAppend(entriesAt(10, 2, 2), false)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := newTestUnstable(nil, 5, nil)
			u.truncateAndAppend(entriesAt(5, 1, 1, 1), false)
			handedOut := u.nextEntries()
			sliced := u.slice(5, 8)
			u.acceptInProgress()
			want := entriesAt(5, 1, 1, 1)

			tt.then(&u)
			assert.Equal(t, want, handedOut, "entries handed out: got %v, want %v", handedOut, want)
			assert.Equal(t, want, sliced, "entries sliced: got %v, want %v", sliced, want)
		})
	}
}

func TestUnstableStableTo(t *testing.T) {
	for _, tt := range []struct {
		name           string
		snap           *pb.Snapshot
		entries        []pb.Entry
		inProgress     uint64
		stable         entryID
		wantOffset     uint64
		wantInProgress uint64
		wantEntries    []pb.Entry
	}{
		{"empty", nil, nil, 5, entryID{term: 1, index: 5}, 5, 5, nil},
		{"first entry", nil, entriesAt(5, 1, 1), 7, entryID{term: 1, index: 5}, 6, 7, entriesAt(6, 1)},
		{"all entries", nil, entriesAt(5, 1, 1), 7, entryID{term: 1, index: 6}, 7, 7, nil},
		{"not handed out yet", nil, entriesAt(5, 1, 1), 5, entryID{term: 1, index: 5}, 6, 6, entriesAt(6, 1)},
		{"stale term", nil, entriesAt(5, 1, 2), 7, entryID{term: 1, index: 6}, 5, 7, entriesAt(5, 1, 2)},
		{"below the offset", nil, entriesAt(5, 1), 6, entryID{term: 1, index: 4}, 5, 6, entriesAt(5, 1)},
		{"past the last entry", nil, entriesAt(5, 1), 6, entryID{term: 1, index: 6}, 5, 6, entriesAt(5, 1)},
		{"snapshot index", snapAt(4, 1), entriesAt(5, 1), 6, entryID{term: 1, index: 4}, 5, 6, entriesAt(5, 1)},
		{"entry after the snapshot", snapAt(4, 1), entriesAt(5, 1, 1), 7, entryID{term: 1, index: 5}, 6, 7, entriesAt(6, 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := newTestUnstable(tt.snap, 5, tt.entries)
			u.offsetInProgress = tt.inProgress
			u.stableTo(tt.stable)
			assert.Equal(t, tt.wantOffset, u.offset, "offset: got %v, want %v", u.offset, tt.wantOffset)
			assert.Equal(t, tt.wantInProgress, u.offsetInProgress, "offsetInProgress: got %v, want %v",
				u.offsetInProgress, tt.wantInProgress)
			assert.Equal(t, len(tt.wantEntries), len(u.entries), "entries: got %v, want %v", u.entries, tt.wantEntries)
			if len(tt.wantEntries) != 0 {
				assert.Equal(t, tt.wantEntries, u.entries, "entries: got %v, want %v", u.entries, tt.wantEntries)
			}
			assert.Equal(t, tt.snap, u.snapshot, "snapshot: got %v, want %v", u.snapshot, tt.snap)
		})
	}
}

// TestUnstableStaleAcknowledgementAfterOverwrite plays the race between a
// write handed out for persisting and a newer leader overwriting the same
// entries before the write is acknowledged: the acknowledgement of the old
// write must not mark the new entries as persisted.
func TestUnstableStaleAcknowledgementAfterOverwrite(t *testing.T) {
	u := newTestUnstable(nil, 5, nil)
	// A leader of term 1 appends 5..7; they are handed out for persisting.
	u.truncateAndAppend(entriesAt(5, 1, 1, 1), false)
	first := u.nextEntries()
	require.Equal(t, entriesAt(5, 1, 1, 1), first, "to persist: got %v, want %v", first, entriesAt(5, 1, 1, 1))
	u.acceptInProgress()

	// Before the write completes, a leader of term 2 overwrites 6..7.
	u.truncateAndAppend(entriesAt(6, 2, 2), false)
	require.Equal(t, uint64(6), u.offsetInProgress, "the overwritten entries must be handed out again")

	// The old write completes: it persisted 7@1, not 7@2.
	u.stableTo(entryID{term: 1, index: 7})
	want := entriesAt(5, 1, 2, 2)
	assert.Equal(t, want, u.entries, "after the stale acknowledgement: got %v, want %v", u.entries, want)
	assert.Equal(t, uint64(5), u.offset, "offset: got %v, want %v", u.offset, 5)

	// The new entries are handed out, persisted and acknowledged.
	next := u.nextEntries()
	assert.Equal(t, entriesAt(6, 2, 2), next, "to persist: got %v, want %v", next, entriesAt(6, 2, 2))
	u.acceptInProgress()
	u.stableTo(entryID{term: 2, index: 7})
	assert.Empty(t, u.entries, "got %v unstable entries, want none", len(u.entries))
	assert.Equal(t, uint64(8), u.offset, "offset: got %v, want %v", u.offset, 8)
}

func TestUnstableStableSnapTo(t *testing.T) {
	t.Run("matching snapshot", func(t *testing.T) {
		u := newTestUnstable(snapAt(4, 1), 5, entriesAt(5, 1))
		u.acceptInProgress()
		u.stableSnapTo(4)
		assert.Nil(t, u.snapshot, "u.snapshot: got %v, want nil", u.snapshot)
		assert.False(t, u.snapshotInProgress, "got snapshot in progress, want none")
		assert.Equal(t, entriesAt(5, 1), u.entries, "entries must stay: got %v", u.entries)
	})
	t.Run("other index", func(t *testing.T) {
		u := newTestUnstable(snapAt(4, 1), 5, nil)
		u.acceptInProgress()
		u.stableSnapTo(3)
		assert.Equal(t, snapAt(4, 1), u.snapshot, "u.snapshot: got %v, want %v", u.snapshot, snapAt(4, 1))
		assert.True(t, u.snapshotInProgress, "got snapshot not in progress, want it still in progress")
	})
	t.Run("no snapshot", func(t *testing.T) {
		u := newTestUnstable(nil, 5, nil)
		u.stableSnapTo(4)
		assert.Nil(t, u.snapshot, "u.snapshot: got %v, want nil", u.snapshot)
	})
}

func TestUnstableShrinksAfterPersisting(t *testing.T) {
	burst := func(n int, data []byte) []pb.Entry {
		ents := make([]pb.Entry, n)
		for i := range ents {
			ents[i] = pb.Entry{Index: uint64(5 + i), Term: 1, Data: data}
		}
		return ents
	}

	t.Run("burst fully persisted releases the array", func(t *testing.T) {
		u := newTestUnstable(nil, 5, nil)
		u.truncateAndAppend(burst(1000, nil), false)
		u.acceptInProgress()
		u.stableTo(entryID{term: 1, index: 1004})
		assert.Zero(t, cap(u.entries), "got cap %v, want 0", cap(u.entries))
	})
	t.Run("burst mostly persisted moves the rest", func(t *testing.T) {
		u := newTestUnstable(nil, 5, nil)
		u.truncateAndAppend(burst(1000, nil), false)
		u.acceptInProgress()
		u.stableTo(entryID{term: 1, index: 904})
		require.Len(t, u.entries, 100, "u.entries: got %d, want 100", len(u.entries))
		assert.LessOrEqual(t, cap(u.entries), 4*len(u.entries), "got cap %v for %v entries", cap(u.entries), len(u.entries))
		assert.Equal(t, burst(1000, nil)[900:], u.entries, "got entries %d to %d, want 901 to 1000", u.entries[0].Index, u.entries[len(u.entries)-1].Index)
	})
	t.Run("burst partly persisted keeps the array", func(t *testing.T) {
		u := newTestUnstable(nil, 5, nil)
		u.truncateAndAppend(burst(1000, nil), false)
		u.acceptInProgress()
		before := &u.entries[500]
		u.stableTo(entryID{term: 1, index: 504})
		assert.Same(t, before, &u.entries[0], "got a copy, want the array kept")
	})
	t.Run("large persisted payloads are released", func(t *testing.T) {
		u := newTestUnstable(nil, 5, nil)
		u.truncateAndAppend(burst(1, make([]byte, int(maxRetainedPayload)+1)), false)
		u.acceptInProgress()
		u.stableTo(entryID{term: 1, index: 5})
		assert.Zero(t, cap(u.entries), "got cap %v, want 0", cap(u.entries))
	})
	t.Run("small steady flow reuses its array", func(t *testing.T) {
		u := newTestUnstable(nil, 5, nil)
		next := uint64(5)
		e := []pb.Entry{{Term: 1}}
		allocs := testing.AllocsPerRun(200, func() {
			e[0].Index = next
			u.truncateAndAppend(e, false)
			u.acceptInProgress()
			u.stableTo(entryID{term: 1, index: next})
			next++
		})
		assert.Zero(t, allocs, "got %v allocations per append and acknowledgement, want 0 (amortised)", allocs)
	})
}

func TestUnstableArrayGrowth(t *testing.T) {
	// appendAcked appends one entry at next and acknowledges it, as a steady
	// flow of single proposals does, and returns the array's capacity
	// while the entry was unstable.
	appendAcked := func(u *unstable, next uint64) int {
		u.truncateAndAppend([]pb.Entry{{Index: next, Term: 1}}, false)
		c := cap(u.entries)
		u.acceptInProgress()
		u.stableTo(entryID{term: 1, index: next})
		return c
	}

	t.Run("a single entry gets a small array", func(t *testing.T) {
		u := newTestUnstable(nil, 5, nil)
		assert.Equal(t, 1, appendAcked(&u, 5), "got a cap of %v for one entry, want 1", cap(u.entries))
		assert.Nil(t, u.entries, "got an array of cap %v kept once full and persisted, want it released", cap(u.entries))
	})
	t.Run("a steady flow doubles the array up to steadyUnstableCap", func(t *testing.T) {
		u := newTestUnstable(nil, 5, nil)
		// Within an array the capacity left shrinks by one per entry, so a
		// rise means a fresh array.
		var fresh []int
		prev := 0
		// 1+2+4+8+16+32 entries, then five arrays of 64.
		for i := range uint64(63 + 5*64) {
			if c := appendAcked(&u, 5+i); c > prev {
				fresh = append(fresh, c)
			}
			prev = cap(u.entries)
		}
		want := []int{1, 2, 4, 8, 16, 32, 64, 64, 64, 64, 64}
		assert.Equal(t, want, fresh, "got arrays of capacities %v as the flow went on, want %v", fresh, want)
	})
	t.Run("an idle tick releases an empty array and the growth", func(t *testing.T) {
		u := newTestUnstable(nil, 5, nil)
		for i := range uint64(100) {
			appendAcked(&u, 5+i)
		}
		u.releaseIdle()
		assert.Nil(t, u.entries, "got an array of cap %v kept, want none", cap(u.entries))
		assert.Equal(t, 1, appendAcked(&u, 105), "got cap %v after the release, want the growth restarted at 1", cap(u.entries))
	})
	t.Run("an idle tick keeps unpersisted entries", func(t *testing.T) {
		u := newTestUnstable(nil, 5, entriesAt(5, 1, 1))
		u.releaseIdle()
		assert.Equal(t, entriesAt(5, 1, 1), u.entries)
	})
}

func TestIdleTickReleasesTheUnstableArray(t *testing.T) {
	nodes, nw := leaderWithFollowers(t, 3)
	for i := range 10 {
		nw.propose(1, fmt.Sprintf("v%d", i))
	}
	// The leader copied the proposals into arrays of its own, the last one
	// with room left; the followers kept the leader's entries, which leave
	// nothing behind once persisted.
	for _, n := range nodes {
		u := &n.raft.log.unstable
		require.Empty(t, u.entries, "peer %d: got %d unstable entries after the flush, want all persisted", n.raft.id, len(u.entries))
		if n.raft.id == 1 {
			require.NotNil(t, u.entries, "leader: got no array before the tick, want the one the proposals used")
		}
		n.Tick()
		assert.Nil(t, u.entries, "peer %d: got an array of cap %d kept after a tick, want it released", n.raft.id, cap(u.entries))
	}
}

func TestUnstableSlice(t *testing.T) {
	u := newTestUnstable(nil, 5, entriesAt(5, 1, 2, 3))
	t.Run("within bounds", func(t *testing.T) {
		got := u.slice(6, 8)
		assert.Equal(t, entriesAt(6, 2, 3), got, "got %v, want %v", got, entriesAt(6, 2, 3))
		assert.Equal(t, len(got), cap(got), "got cap %v, want %v", cap(got), len(got))
	})
	t.Run("empty", func(t *testing.T) {
		got := u.slice(8, 8)
		assert.Empty(t, got, "got %v, want nothing", got)
	})
	for _, tt := range []struct {
		name   string
		lo, hi uint64
	}{
		{"below the offset", 4, 6},
		{"past the end", 6, 9},
		{"inverted", 7, 6},
	} {
		t.Run(tt.name+" panics", func(t *testing.T) {
			requirePanicContains(t, func() { u.slice(tt.lo, tt.hi) }, "out of bounds [5,8)")
		})
	}
}
