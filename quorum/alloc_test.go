package quorum

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchConfig returns a MajorityConfig of voters 1..n and an AckedIndexer in
// which every voter acked a distinct, shuffled index.
func benchConfig(n int) (MajorityConfig, mapAckIndexer) {
	rng := rand.New(rand.NewPCG(uint64(n), 0))
	c, l := MajorityConfig{}, mapAckIndexer{}
	for i, idx := range rng.Perm(n) {
		c[uint64(i+1)] = struct{}{}
		l[uint64(i+1)] = Index(1000 + idx)
	}
	return c, l
}

func TestCommittedIndexDoesNotAllocate(t *testing.T) {
	for n := 1; n <= maxStackVoters; n++ {
		t.Run(fmt.Sprintf("voters=%d", n), func(t *testing.T) {
			c, m := benchConfig(n)
			var l AckedIndexer = m
			if got := testing.AllocsPerRun(100, func() { c.CommittedIndex(l) }); got != 0 {
				t.Errorf("majority: got %v allocs per run, want 0", got)
			}
			joint := JointConfig{c, majorityOf(1, uint64(n)+1)}
			if got := testing.AllocsPerRun(100, func() { joint.CommittedIndex(l) }); got != 0 {
				t.Errorf("joint: got %v allocs per run, want 0", got)
			}
		})
	}
}

func BenchmarkMajorityConfigCommittedIndex(b *testing.B) {
	for _, n := range []int{1, 3, 5, 7, 9, 16, 32} {
		b.Run(fmt.Sprintf("voters=%d", n), func(b *testing.B) {
			c, m := benchConfig(n)
			var l AckedIndexer = m
			want := naiveCommitted(c, l)
			b.ReportAllocs()
			for b.Loop() {
				if got := c.CommittedIndex(l); got != want {
					b.Fatalf("got %v, want %v", got, want)
				}
			}
		})
	}
}
