package tracker

import (
	"fmt"
	"runtime"
	"testing"
)

// This file measures what a leader keeps in memory for each follower: one
// Progress and its Inflights window.

// benchMaxInflight is the window size used by the memory benchmark, the value
// applications commonly configure as MaxInflightMsgs.
const benchMaxInflight = 256

// newFollower returns the Progress a leader creates for a newly added
// follower, as package confchange does.
func newFollower(maxInflight int) *Progress {
	return &Progress{Next: 1, RecentActive: true, Inflights: NewInflights(maxInflight, 0)}
}

// replicateBurst sends msgs one-entry appends to the follower in
// StateReplicate and then acknowledges all of them, leaving the follower idle
// and caught up.
func replicateBurst(pr *Progress, msgs int) {
	if pr.State != StateReplicate {
		pr.BecomeReplicate()
	}
	for range msgs {
		pr.SentEntries(1, 100)
	}
	last := pr.Next - 1
	pr.MaybeUpdate(last)
	pr.Inflights.FreeLE(last)
}

// retainedPerFollower returns the heap bytes still held, after a garbage
// collection, by each of n followers that went through a burst of msgs
// appends and are now idle.
func retainedPerFollower(n, maxInflight, msgs int) float64 {
	prs := make([]*Progress, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range prs {
		prs[i] = newFollower(maxInflight)
		replicateBurst(prs[i], msgs)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(prs)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// BenchmarkIdleFollowerMemory reports, as retained-B/follower, the heap a
// leader keeps for one idle follower (Progress plus Inflights) after a burst
// of the given number of appends, with a window of benchMaxInflight messages.
// The timed loop runs one such burst and its acknowledgement, so allocs/op
// shows what a burst costs in allocations.
func BenchmarkIdleFollowerMemory(b *testing.B) {
	for _, msgs := range []int{0, 1, 16, benchMaxInflight} {
		b.Run(fmt.Sprintf("burst=%d", msgs), func(b *testing.B) {
			retained := retainedPerFollower(1000, benchMaxInflight, msgs)
			pr := newFollower(benchMaxInflight)
			b.ReportAllocs()
			for b.Loop() {
				replicateBurst(pr, msgs)
			}
			b.ReportMetric(retained, "retained-B/follower")
		})
	}
}
