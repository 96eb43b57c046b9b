package wal

import (
	"fmt"
	"testing"

	pb "github.com/quorate/raft/raftpb"
)

// TestWriteBufSplicesLargeData checks that a write that splices the data
// of large entries holds, piece by piece, the bytes of the same write
// encoded in one buffer, with the same record offsets.
func TestWriteBufSplicesLargeData(t *testing.T) {
	entry := func(i uint64, size int) pb.Entry {
		e := pb.Entry{Index: i, Term: 3, Data: make([]byte, size)}
		for k := range e.Data {
			e.Data[k] = byte(i*7) + byte(k)
		}
		return e
	}
	for _, tc := range []struct {
		name  string
		sizes []int
		// spliced is how many entries' data should be spliced.
		spliced int
	}{
		{"small entries only", []int{10, 100, 2000}, 0},
		{"one large entry", []int{spliceMinData}, 1},
		{"large entries sharing a record", []int{spliceMinData, spliceMinData}, 2},
		{"large and small entries mixed", []int{5, 4096, 0, 3000, 100, 100, 9000, 7}, 3},
		{"many large entries", repeatSize(4096, 300), 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ents []pb.Entry
			for k, size := range tc.sizes {
				ents = append(ents, entry(uint64(10+k), size))
			}
			prefix := appendHardStateRecord(nil, pb.HardState{Term: 3, Commit: 1})
			want, wantOffs := appendEntryRecords(append([]byte(nil), prefix...), nil, ents...)

			w := writeBuf{spliceLarge: true}
			w.buf = append(w.buf, prefix...)
			offs := w.appendEntries(nil, ents)
			if len(w.splices) != tc.spliced {
				t.Fatalf("got %d entries' data spliced, want %d", len(w.splices), tc.spliced)
			}
			var got []byte
			for _, p := range w.pieces(nil) {
				got = append(got, p...)
			}
			if w.len() != len(got) {
				t.Fatalf("got len() %d, want the %d bytes of the pieces", w.len(), len(got))
			}
			if string(got) != string(want) {
				t.Fatalf("got %d bytes that differ from the %d of the write in one buffer", len(got), len(want))
			}
			if fmt.Sprint(offs) != fmt.Sprint(wantOffs) {
				t.Fatalf("got record offsets %v, want %v", offs, wantOffs)
			}
			w.reset()
			if w.len() != 0 || len(w.pieces(nil)) != 0 {
				t.Fatalf("got %d bytes after reset, want none", w.len())
			}
		})
	}
}

// repeatSize returns n sizes of size bytes.
func repeatSize(size, n int) []int {
	sizes := make([]int, n)
	for k := range sizes {
		sizes[k] = size
	}
	return sizes
}
