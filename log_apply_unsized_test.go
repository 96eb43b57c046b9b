package raft

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// TestLogAcceptApplyingUnsized checks that handing out a batch without
// sizing it (what a RawNode without AsyncStorageWrites does, holding the
// batch until Advance) ends in the accounting acceptApplying would have
// made: the same paused state at once, the same size once the batch is
// sized, and nothing to size when the batch is applied whole.
func TestLogAcceptApplyingUnsized(t *testing.T) {
	const n = 10
	// A log of n committed entries with 100-byte payloads, all persisted,
	// handing out at most maxSize bytes at a time.
	var ents []pb.Entry
	for i := uint64(1); i <= n; i++ {
		ents = append(ents, pb.Entry{Term: 1, Index: i, Data: make([]byte, 100)})
	}
	// NB: the logs only read the storage, so they share it.
	stored := NewMemoryStorage()
	require.NoError(t, stored.Append(ents))
	newLog := func(maxSize entryEncodingSize) *raftLog {
		l := newLogWithSize(stored, discardLogger, maxSize)
		l.commitTo(n)
		return l
	}
	size := entsSize(ents[:1])
	// eager and lazy hand out a batch of the given log, the one by size,
	// the other unsized.
	eager := func(l *raftLog, got []pb.Entry) {
		l.acceptApplying(got[len(got)-1].Index, entsSize(got), false, math.MaxUint64)
	}
	lazy := func(l *raftLog, got []pb.Entry) {
		l.acceptApplyingUnsized(got, false, math.MaxUint64)
	}

	for _, tt := range []struct {
		name    string
		budget  entryEncodingSize
		unsized bool
	}{
		{"far from the bound", noSizeLimit, true},
		{"well within the bound", 20 * size, true},
		{"the bound reached exactly", 3 * size, false},
		{"a single entry past the bound", size / 2, false},
		{"no budget at all", 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want, got := newLog(tt.budget), newLog(tt.budget)
			batch := want.nextCommittedEnts(false, math.MaxUint64)
			require.Equal(t, batch, got.nextCommittedEnts(false, math.MaxUint64), "got different batches from equal logs")
			eager(want, batch)
			lazy(got, batch)
			assert.Equal(t, tt.unsized, got.apply.unsized, "unsized: got %v, want %v", got.apply.unsized, tt.unsized)
			assert.Equal(t, want.apply.paused, got.apply.paused, "paused: got %v, want %v", got.apply.paused, want.apply.paused)
			got.sizeApplying(batch)
			assert.Equal(t, want.apply, got.apply, "after sizing: got %+v, want %+v", got.apply, want.apply)
		})
	}

	t.Run("a second batch counts the first", func(t *testing.T) {
		// The first batch is all that is committed, so handing it out does
		// not pause; more commits, and a second batch is handed out before
		// the first is applied.
		want, got := newLog(6*size), newLog(6*size)
		for _, l := range []*raftLog{want, got} {
			l.commitIdx = 2
		}
		first := got.nextCommittedEnts(false, math.MaxUint64)
		require.Len(t, first, 2, "first batch: got %d entries, want 2", len(first))
		eager(want, first)
		lazy(got, first)
		require.True(t, got.apply.unsized, "got the first batch sized, want it unsized")
		for _, l := range []*raftLog{want, got} {
			l.commitTo(n)
		}
		got.sizeApplying(first)
		second, wantSecond := got.nextCommittedEnts(false, math.MaxUint64), want.nextCommittedEnts(false, math.MaxUint64)
		assert.Equal(t, wantSecond, second, "second batch: got %v, want %v", second, wantSecond)
		assert.Len(t, second, 4, "second batch: got %d entries, want the 4 left in the budget", len(second))
	})
	t.Run("a batch applied whole needs no size", func(t *testing.T) {
		l := newLog(noSizeLimit)
		batch := l.nextCommittedEnts(false, math.MaxUint64)
		lazy(l, batch)
		l.appliedTo(batch[len(batch)-1].Index, 0)
		assert.False(t, l.apply.unsized, "got unsized after applying the whole batch, want sized")
		assert.Zero(t, l.apply.outSize, "got %v bytes out, want 0", l.apply.outSize)
		l.sizeApplying(batch)
		assert.Zero(t, l.apply.outSize, "got %v bytes out after sizing an applied batch, want 0", l.apply.outSize)
	})
	t.Run("a partial confirmation of an unsized batch is a broken invariant", func(t *testing.T) {
		l := newLog(noSizeLimit)
		batch := l.nextCommittedEnts(false, math.MaxUint64)
		lazy(l, batch)
		assert.Panics(t, func() { l.appliedTo(batch[0].Index, size) }, "got no panic confirming part of an unsized batch")
	})
}

// TestApplyAckWithBatchOut checks an application's MsgStorageApplyResp for
// part of a committed batch that is still out (no Advance yet, so its size
// may not be counted yet, see acceptApplyingUnsized): from the apply thread
// it is taken and the part released, sized; from a member it is refused as
// a local message, and the batch stays out as it was.
func TestApplyAckWithBatchOut(t *testing.T) {
	for _, tc := range []struct {
		name        string
		from        uint64
		wantErr     error
		wantApplied uint64
	}{
		{"from the apply thread", LocalApplyThread, nil, 1},
		{"from a member", 1, ErrStepLocalMsg, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestCluster(t, 3)[1]
			ents := []pb.Entry{{Index: 1, Term: 1}, {Index: 2, Term: 1}, {Index: 3, Term: 1}}
			require.NoError(t, f.Step(pb.Message{Type: pb.MsgApp, From: 1, To: 2, Term: 1, Entries: ents, Commit: 3}))
			rd := f.Ready()
			require.Len(t, rd.CommittedEntries, 3, "got %d committed entries, want 3", len(rd.CommittedEntries))
			var err error
			v := panicValue(func() {
				err = f.Step(pb.Message{Type: pb.MsgStorageApplyResp, From: tc.from, To: 2, Entries: rd.CommittedEntries[:1]})
			})
			require.Nil(t, v, "got panic %v, want none", v)
			assert.ErrorIs(t, err, tc.wantErr, "got error %v, want %v", err, tc.wantErr)
			if got := f.raft.log.applied(); got != tc.wantApplied {
				t.Errorf("got applied index %d, want %d", got, tc.wantApplied)
			}
			if tc.wantErr == nil {
				want := entsSize(rd.CommittedEntries[1:])
				if got := f.raft.log.apply.outSize; got != want || f.raft.log.apply.unsized {
					t.Errorf("got %d bytes out (unsized %v), want %d sized", got, f.raft.log.apply.unsized, want)
				}
			}
		})
	}
}
