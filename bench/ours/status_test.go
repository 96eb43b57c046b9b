package suite

import (
	"fmt"
	"testing"

	"github.com/quorate/raft"
	"github.com/quorate/raft/tracker"
)

// BenchmarkStatus asks a replica of a caught-up group for its state once
// per op, the way a host's monitoring does: Status (with every follower's
// progress at a leader) or WithProgress with a visitor that only counts.
// NB: BasicStatus is left out: it copies six fields into a struct the
// caller then copies, the same work in both libraries (measured at parity,
// 0.94-1.01).
func BenchmarkStatus(b *testing.B) {
	kinds := []struct {
		name string
		ask  func(rn *raft.RawNode) int
	}{
		{"Status", func(rn *raft.RawNode) int { return len(rn.Status().Progress) }},
		{"WithProgress", func(rn *raft.RawNode) int {
			n := 0
			rn.WithProgress(func(uint64, raft.ProgressType, tracker.Progress) { n++ })
			return n
		}},
	}
	for _, at := range []string{"leader", "follower"} {
		for _, voters := range []int{3, 5} {
			for _, k := range kinds {
				b.Run(fmt.Sprintf("at=%s/voters=%d/kind=%s", at, voters, k.name), func(b *testing.B) {
					c := newCluster(b, voters, clusterOptions{ticks: liveTicks})
					r := c.leader()
					if at == "follower" {
						r = c.replicas[1]
					}
					sink := 0
					b.ReportAllocs()
					for b.Loop() {
						sink += k.ask(r.rn)
					}
					if at == "leader" && sink != b.N*voters {
						b.Fatalf("got %d progress entries over %d ops, want %d per op", sink, b.N, voters)
					}
				})
			}
		}
	}
}
