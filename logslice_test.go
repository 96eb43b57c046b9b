package raft

import (
	"testing"

	"github.com/stretchr/testify/assert"

	pb "github.com/quorate/raft/raftpb"
)

func TestEntryID(t *testing.T) {
	t.Run("from an entry", func(t *testing.T) {
		got := pbEntryID(&pb.Entry{Term: 3, Index: 7, Data: []byte("x")})
		want := entryID{term: 3, index: 7}
		assert.Equal(t, want, got, "got %v, want %v", got, want)
	})
	t.Run("String", func(t *testing.T) {
		got := entryID{term: 3, index: 7}.String()
		assert.Equal(t, "7@3", got, "got %v, want %v", got, "7@3")
	})
}

func TestLogSliceLast(t *testing.T) {
	for _, tt := range []struct {
		name      string
		s         logSlice
		wantIndex uint64
		wantID    entryID
	}{
		{"empty", logSlice{term: 2, prev: entryID{term: 1, index: 5}}, 5, entryID{term: 1, index: 5}},
		{"entries", logSlice{term: 2, prev: entryID{term: 1, index: 5}, entries: entriesAt(6, 1, 2)}, 7,
			entryID{term: 2, index: 7}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.wantIndex, tt.s.lastIndex(), "lastIndex: got %v, want %v", tt.s.lastIndex(), tt.wantIndex)
			assert.Equal(t, tt.wantID, tt.s.lastEntryID(), "lastEntryID: got %v, want %v", tt.s.lastEntryID(), tt.wantID)
		})
	}
}

func TestLogSliceValid(t *testing.T) {
	prev := entryID{term: 2, index: 5}
	for _, tt := range []struct {
		name    string
		s       logSlice
		wantErr string
	}{
		{"empty", logSlice{term: 2, prev: prev}, ""},
		{"entries of the leader's term", logSlice{term: 3, prev: prev, entries: entriesAt(6, 3, 3)}, ""},
		{"entries of earlier terms", logSlice{term: 5, prev: prev, entries: entriesAt(6, 2, 3, 4)}, ""},
		{"leader term below prev", logSlice{term: 1, prev: prev},
			"log slice of leader term 1: entry 5@2 is from a later term than the leader's"},
		{"gap after prev", logSlice{term: 3, prev: prev, entries: entriesAt(7, 3)},
			"log slice of leader term 3: entry 7@3 at position 0 does not directly follow 5@2"},
		{"gap between entries", logSlice{term: 3, prev: prev, entries: []pb.Entry{{Index: 6, Term: 3}, {Index: 8, Term: 3}}},
			"log slice of leader term 3: entry 8@3 at position 1 does not directly follow 6@3"},
		{"term below prev", logSlice{term: 3, prev: prev, entries: entriesAt(6, 1)},
			"log slice of leader term 3: entry 6@1 at position 0 has a lower term than 5@2"},
		{"decreasing terms", logSlice{term: 3, prev: prev, entries: entriesAt(6, 3, 2)},
			"log slice of leader term 3: entry 7@2 at position 1 has a lower term than 6@3"},
		{"entry above the leader's term", logSlice{term: 3, prev: prev, entries: entriesAt(6, 3, 4)},
			"log slice of leader term 3: entry 7@4 is from a later term than the leader's"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.valid()
			if tt.wantErr == "" {
				assert.NoError(t, err, "got %v, want no error", err)
				return
			}
			assert.EqualError(t, err, tt.wantErr, "got %v, want %v", err, tt.wantErr)
		})
	}
}
