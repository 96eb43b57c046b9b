package raft

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	pb "github.com/quorate/raft/raftpb"
)

func TestEntrySizes(t *testing.T) {
	ents := []pb.Entry{
		{Index: 1, Term: 1, Data: make([]byte, 10)},
		{Index: 2, Term: 1},
		{Index: 3, Term: 1, Data: make([]byte, 300)},
	}
	t.Run("encoding size is the sum of Entry.Size", func(t *testing.T) {
		want := entryEncodingSize(ents[0].Size() + ents[1].Size() + ents[2].Size())
		got := entsSize(ents)
		assert.Equal(t, want, got, "got %v, want %v", got, want)
	})
	t.Run("encoding size of nothing", func(t *testing.T) {
		got := entsSize(nil)
		assert.Zero(t, got, "got %v, want 0", got)
	})
	t.Run("the bound is never below the encoding size", func(t *testing.T) {
		widest := []pb.Entry{
			{Index: math.MaxUint64, Term: math.MaxUint64, Type: pb.EntryType(-1), Data: make([]byte, 1<<14)},
			{Index: math.MaxUint64, Term: math.MaxUint64, Type: pb.EntryType(-1)},
		}
		for _, es := range [][]pb.Entry{ents, widest} {
			for i := range es {
				got, exact := entrySizeBound(&es[i]), entryEncodingSize(es[i].Size())
				assert.GreaterOrEqual(t, got, exact, "got a bound of %v for an entry of size %v", got, exact)
			}
		}
	})
	t.Run("payload size of one entry", func(t *testing.T) {
		got := payloadSize(ents[2])
		assert.Equal(t, entryPayloadSize(300), got, "got %v, want %v", got, 300)
	})
	t.Run("payload size counts only data", func(t *testing.T) {
		got := payloadsSize(ents)
		assert.Equal(t, entryPayloadSize(310), got, "got %v, want %v", got, 310)
	})
}

func TestLimitSize(t *testing.T) {
	ents := entriesAt(1, 1, 1, 1, 1, 1)
	s := entryEncodingSize(ents[0].Size())
	for _, tt := range []struct {
		name    string
		maxSize entryEncodingSize
		want    int
	}{
		{"no limit", noSizeLimit, 5},
		{"zero keeps one entry", 0, 1},
		{"below one entry keeps one entry", s - 1, 1},
		{"one entry", s, 1},
		{"just under two entries", 2*s - 1, 1},
		{"two entries", 2 * s, 2},
		{"just over two entries", 2*s + 1, 2},
		{"all entries", 5 * s, 5},
		{"more than all entries", 10 * s, 5},
		{"room for all at their largest encoding", 5 * (s + maxEntryOverhead), 5},
		{"room for some at their largest encoding", 2 * (s + maxEntryOverhead), 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := limitSize(ents, tt.maxSize)
			assert.Equal(t, ents[:tt.want], got, "got %v, want %v", got, ents[:tt.want])
		})
	}
	t.Run("nothing", func(t *testing.T) {
		got := limitSize(nil, 0)
		assert.Empty(t, got, "got %v, want nothing", got)
	})
}
