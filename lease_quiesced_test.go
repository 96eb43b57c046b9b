package raft

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestLeaseQuiescedTicksCount checks that TickQuiesced moves the
// lease's clock on a leader as it moves the election clocks of its
// followers: a quiesced group ticks every peer with TickQuiesced, the
// followers' promise not to vote runs out after ElectionTick of them, and a
// leader that does not count them answers lease reads after another leader
// was elected and committed writes (a stale read).
//
// Review finding: raft.tickQuiesced moved only a leader's CheckQuorum
// clock, not the lease's.
func TestLeaseQuiescedTicksCount(t *testing.T) {
	nodes, nw := leaseLeader(t, 3)
	old := nodes[0]
	nw.isolate(1)
	// The whole group is idle, so its host quiesces it: every peer gets
	// quiesced ticks only, well past an election timeout.
	for range 3 * testElectionTick {
		for _, n := range nodes {
			n.TickQuiesced()
		}
	}
	// Peer 2 is stirred (say, a proposal arrives at it) and campaigns; 3's
	// promise to 1 ran out, so it votes for 2.
	successorWrites(t, nw, nodes[1], "new")

	nw.readIndex(1, "stale?")
	assert.Empty(t, readStateCtxs(old.readStates),
		"got a lease read answered at index %v by the deposed leader 1 after 2 was elected and committed index %d",
		old.readStates, nodes[1].raft.log.committed())
}
