package raft

// Tests of reading the log: slices and entries within size bounds, terms
// out of bounds, and the scan for committed configuration changes not yet
// applied.

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// sliceTestLog returns a log compacted up to 3@3 with stable entries 4..6 of
// term 4 and unstable entries 7..9 of term 5, all of the same size.
func sliceTestLog() (*raftLog, entryEncodingSize) {
	l := newTestRaftLog(entriesAt(3, 3, 4, 4, 4), entriesAt(7, 5, 5, 5))
	return l, entryEncodingSize((&pb.Entry{Index: 4, Term: 4}).Size())
}

func TestLogSlice(t *testing.T) {
	l, s := sliceTestLog()
	all := append(entriesAt(4, 4, 4, 4), entriesAt(7, 5, 5, 5)...)
	for _, tt := range []struct {
		name    string
		lo, hi  uint64
		maxSize entryEncodingSize
		want    []pb.Entry
		error   error
	}{
		{"compacted", 3, 5, noSizeLimit, nil, ErrCompacted},
		{"empty", 5, 5, noSizeLimit, nil, nil},
		{"stable only", 4, 6, noSizeLimit, all[0:2], nil},
		{"up to the last stable", 4, 7, noSizeLimit, all[0:3], nil},
		{"unstable only", 7, 9, noSizeLimit, all[3:5], nil},
		{"spanning", 5, 9, noSizeLimit, all[1:5], nil},
		{"everything", 4, 10, noSizeLimit, all, nil},
		{"size 0 gives one entry", 5, 9, 0, all[1:2], nil},
		{"size of the stable part", 5, 9, 2 * s, all[1:3], nil},
		{"size just over the stable part", 5, 9, 2*s + 1, all[1:3], nil},
		{"size reaching into the unstable part", 5, 9, 3 * s, all[1:4], nil},
		{"size of the whole range", 5, 9, 4 * s, all[1:5], nil},
		{"size 0 in the unstable part", 7, 10, 0, all[3:4], nil},
		{"size limit in the unstable part", 7, 10, 2*s + 1, all[3:5], nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.slice(tt.lo, tt.hi, tt.maxSize)
			assert.Equal(t, tt.error, err, "got %v, want %v", err, tt.error)
			assert.Equal(t, tt.want, got, "got %v, want %v", got, tt.want)
		})
	}

	t.Run("past the last index panics", func(t *testing.T) {
		requirePanicContains(t, func() { _, _ = l.slice(5, 11, noSizeLimit) }, "[5, 11)", "[4, 9]")
	})
	t.Run("inverted range panics", func(t *testing.T) {
		requirePanicContains(t, func() { _, _ = l.slice(6, 5, noSizeLimit) }, "[6, 5)")
	})
	for _, tt := range []struct {
		name   string
		lo, hi uint64
	}{
		{"stable", 4, 6},
		{"unstable", 7, 9},
		{"spanning", 5, 9},
	} {
		t.Run("appending to a "+tt.name+" result leaves the log alone", func(t *testing.T) {
			l, _ := sliceTestLog()
			got, err := l.slice(tt.lo, tt.hi, noSizeLimit)
			require.NoError(t, err)
			_ = append(got, pb.Entry{Index: tt.hi, Term: 99})
			assert.Equal(t, all, l.allEntries(), "log changed by appending to a slice of it")
		})
	}
}

func TestLogEntries(t *testing.T) {
	l, s := sliceTestLog()
	t.Run("from a stable index", func(t *testing.T) {
		got, err := l.entries(6, noSizeLimit)
		require.NoError(t, err)
		assert.Equal(t, append(entriesAt(6, 4), entriesAt(7, 5, 5, 5)...), got, "got %v, want %v", got, append(entriesAt(6, 4), entriesAt(7, 5, 5, 5)...))
	})
	t.Run("bounded", func(t *testing.T) {
		got, err := l.entries(6, 2*s)
		require.NoError(t, err)
		assert.Equal(t, append(entriesAt(6, 4), entriesAt(7, 5)...), got, "got %v, want %v", got, append(entriesAt(6, 4), entriesAt(7, 5)...))
	})
	t.Run("past the end", func(t *testing.T) {
		got, err := l.entries(10, noSizeLimit)
		require.NoError(t, err)
		assert.Nil(t, got, "got %v, want nil", got)
	})
	t.Run("compacted", func(t *testing.T) {
		_, err := l.entries(3, noSizeLimit)
		assert.Equal(t, ErrCompacted, err, "got %v, want %v", err, ErrCompacted)
	})
}

func TestLogUnappliedConfChange(t *testing.T) {
	// confAt returns a log holding stable entries 4..6 and unstable 7..9,
	// all committed and applied up to 3, with a configuration change at
	// index at (or none when at is 0).
	confAt := func(at uint64, pageSize entryEncodingSize) *raftLog {
		ents := entriesAt(4, 4, 4, 4, 5, 5, 5)
		for i := range ents {
			if ents[i].Index == at {
				ents[i].Type = pb.EntryConfChange
			}
		}
		l := newLogWithSize(newTestStorage(append(entriesAt(3, 3), ents[:3]...)), discardLogger, pageSize)
		l.append(ents[3:]...)
		l.commitTo(9)
		return l
	}
	s := entryEncodingSize((&pb.Entry{Index: 4, Term: 4}).Size())
	for _, tt := range []struct {
		name     string
		at       uint64
		pageSize entryEncodingSize
		want     bool
	}{
		{"none", 0, noSizeLimit, false},
		{"none, one entry per page", 0, 0, false},
		{"in the stable part", 5, noSizeLimit, true},
		{"in the unstable part", 8, noSizeLimit, true},
		{"on a later page", 9, 2 * s, true},
		{"at the last committed index", 9, 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := confAt(tt.at, tt.pageSize).unappliedConfChange(0)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, "got %v, want %v", got, tt.want)
		})
	}
	t.Run("an applied change does not count", func(t *testing.T) {
		l := confAt(5, noSizeLimit)
		l.appliedTo(5, 0)
		got, err := l.unappliedConfChange(0)
		require.NoError(t, err)
		assert.False(t, got, "got a change at 5 counted with everything up to 5 applied")
	})
	t.Run("an uncommitted change does not count", func(t *testing.T) {
		l := confAt(8, noSizeLimit)
		l.commitIdx = 7
		got, err := l.unappliedConfChange(0)
		require.NoError(t, err)
		assert.False(t, got, "got a change at 8 counted with the commit index at 7")
	})
}

func TestLogZeroTermOnOutOfBounds(t *testing.T) {
	l := newTestRaftLog(entriesAt(0, 0), nil)
	for _, tt := range []struct {
		name string
		err  error
		want uint64
	}{
		{"no error", nil, 5},
		{"compacted", ErrCompacted, 0},
		{"unavailable", ErrUnavailable, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := l.zeroTermOnOutOfBounds(5, tt.err)
			assert.Equal(t, tt.want, got, "got %v, want %v", got, tt.want)
		})
	}
	t.Run("other error panics", func(t *testing.T) {
		requirePanicContains(t, func() { l.zeroTermOnOutOfBounds(5, errors.New("disk on fire")) }, "disk on fire")
	})
}

// BenchmarkRaftLogTerm looks up the term of a stable and of an unstable
// entry; neither allocates.
func BenchmarkRaftLogTerm(b *testing.B) {
	l := newTestRaftLog(entriesAt(3, 3, 4, 4, 4), entriesAt(7, 5, 5, 5))
	for _, bb := range []struct {
		name string
		i    uint64
	}{
		{"stable", 5},
		{"unstable", 8},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := l.term(bb.i); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
