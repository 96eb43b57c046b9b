package suite

import (
	"fmt"
	"testing"

	"github.com/quorate/raft/quorum"
	"github.com/quorate/raft/tracker"
)

// ackIndexer is a quorum.AckedIndexer over a map.
type ackIndexer map[uint64]quorum.Index

func (a ackIndexer) AckedIndex(id uint64) (quorum.Index, bool) {
	idx, ok := a[id]
	return idx, ok
}

// BenchmarkQuorumCommittedIndex computes the committed index of a majority
// configuration of the given number of voters (or of a joint one, whose
// outgoing half shares all but one voter with the incoming) once per op.
func BenchmarkQuorumCommittedIndex(b *testing.B) {
	for _, n := range []int{1, 3, 5, 7} {
		for _, joint := range []bool{false, true} {
			b.Run(fmt.Sprintf("voters=%d/joint=%t", n, joint), func(b *testing.B) {
				in, out := quorum.MajorityConfig{}, quorum.MajorityConfig{}
				acked := ackIndexer{}
				for i := range n {
					id := uint64(i + 1)
					in[id] = struct{}{}
					out[id+1] = struct{}{}
					acked[id] = quorum.Index(100 + 7*i%n)
					acked[id+1] = quorum.Index(100 + 3*i%n)
				}
				var got quorum.Index
				b.ReportAllocs()
				if joint {
					c := quorum.JointConfig{in, out}
					for b.Loop() {
						got = c.CommittedIndex(acked)
					}
				} else {
					for b.Loop() {
						got = in.CommittedIndex(acked)
					}
				}
				if got < 100 {
					b.Fatalf("got committed index %d, want at least 100", got)
				}
			})
		}
	}
}

// BenchmarkInflights adds one append to a replication window of the given
// size per op, freeing the oldest first once the window is full, as a
// leader streaming appends to a follower does.
func BenchmarkInflights(b *testing.B) {
	for _, size := range []int{16, 256} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			in := tracker.NewInflights(size, 0)
			next := uint64(1)
			b.ReportAllocs()
			for b.Loop() {
				if in.Full() {
					in.FreeLE(next - uint64(size))
				}
				in.Add(next, 128)
				next++
			}
			if got, want := in.Count(), min(size, int(next-1)); got != want {
				b.Fatalf("got %d in flight, want %d", got, want)
			}
		})
	}
}
