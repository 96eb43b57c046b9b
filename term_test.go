package raft

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestElectionTimerDraws(t *testing.T) {
	const base = 10
	timeouts := func(tm electionTimer) map[int]int {
		seen := map[int]int{}
		for range 2000 {
			tm.restart(base)
			seen[tm.timeout]++
		}
		return seen
	}
	for _, tt := range []struct {
		name  string
		timer electionTimer
	}{
		{"without a source", newElectionTimer(nil)},
		{"with Config.RandomSource", newElectionTimer(rand.NewPCG(1, 2))},
	} {
		t.Run(tt.name+": every timeout in [base, 2*base) is drawn, and nothing else", func(t *testing.T) {
			seen := timeouts(tt.timer)
			for v := range seen {
				assert.True(t, v >= base && v < 2*base, "got timeout %v, want one in [%v, %v)", v, base, 2*base)
			}
			assert.Len(t, seen, base, "got timeouts %v, want each of the %v values drawn", seen, base)
		})
	}
	t.Run("a timer without a source allocates nothing", func(t *testing.T) {
		allocs := testing.AllocsPerRun(100, func() {
			tm := newElectionTimer(nil)
			tm.restart(base)
		})
		assert.Zero(t, allocs, "got %v allocations, want 0", allocs)
	})
	t.Run("a given source decides the draws", func(t *testing.T) {
		a, b := newElectionTimer(rand.NewPCG(7, 7)), newElectionTimer(rand.NewPCG(7, 7))
		for range 100 {
			assert.Equal(t, a.draw(), b.draw(), "got different draws from equal sources")
		}
	})
	t.Run("unseeded timers draw different sequences", func(t *testing.T) {
		a, b := newElectionTimer(nil), newElectionTimer(nil)
		assert.NotEqual(t, a.draw(), b.draw(), "got the same first draw from two unseeded timers")
	})
}
