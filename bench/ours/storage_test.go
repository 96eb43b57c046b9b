package suite

import (
	"fmt"
	"testing"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// BenchmarkMemoryStorage measures MemoryStorage on its own, as an
// application's persistence loop and raft's reads use it: op=append adds one
// entry per op (compacting to the last 4,096 entries every 4,096), and
// op=entries reads n consecutive entries at a moving position of a log of
// 4,096. NB: Term is left out: a lookup under the mutex, the same work in
// both libraries (measured at parity, 0.96-1.03).
func BenchmarkMemoryStorage(b *testing.B) {
	data := make([]byte, 128)
	fill := func(b *testing.B, n int) *raft.MemoryStorage {
		s := raft.NewMemoryStorage()
		ents := make([]pb.Entry, n)
		for i := range ents {
			ents[i] = pb.Entry{Term: 1, Index: uint64(i + 1), Data: data}
		}
		if err := s.Append(ents); err != nil {
			b.Fatal(err)
		}
		return s
	}
	b.Run("op=append", func(b *testing.B) {
		s := raft.NewMemoryStorage()
		ent := []pb.Entry{{Term: 1, Data: data}}
		next := uint64(1)
		b.ReportAllocs()
		for b.Loop() {
			ent[0].Index = next
			if err := s.Append(ent); err != nil {
				b.Fatal(err)
			}
			if next%compactEvery == 0 && next > compactEvery {
				if err := s.Compact(next - compactEvery); err != nil {
					b.Fatal(err)
				}
			}
			next++
		}
		if last, err := s.LastIndex(); err != nil || last != next-1 {
			b.Fatalf("got last index %d (%v), want %d", last, err, next-1)
		}
	})
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprintf("op=entries/n=%d", n), func(b *testing.B) {
			s := fill(b, compactEvery)
			i := uint64(0)
			b.ReportAllocs()
			for b.Loop() {
				lo := i%(compactEvery-uint64(n)) + 1
				ents, err := s.Entries(lo, lo+uint64(n), 1<<30)
				if err != nil || len(ents) != n {
					b.Fatalf("Entries(%d, %d): got %d entries, %v, want %d", lo, lo+uint64(n), len(ents), err, n)
				}
				i++
			}
		})
	}
}
