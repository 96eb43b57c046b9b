package raft

import (
	"fmt"
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/require"
)

// The core is a deterministic state machine (STYLE.md): peers built alike
// and given the same input hand out the same Readies and log the same
// lines. These two places used to follow the order of a map's iteration,
// which Go randomizes; both were found comparing the simulation's traces
// of two builds, seed by seed.

func TestForgottenReadsOrder(t *testing.T) {
	withReports := withConfig(func(c *Config) { c.ReportDroppedReads = true })
	t.Run("the reads forgotten at the bound are reported in the same order by equal peers given equal input", func(t *testing.T) {
		// The reads a role change drops are sorted by context
		// (dropOutstandingReads); those the bound forgets come straight
		// from readForwarder.begin, in the map's order.
		forgotten := func() []string {
			nodes, nw := leaderWithFollowers(t, 3, withReports)
			follower := nodes[2]
			holdReadIndexResps(nw)
			for i := range maxForwardedReads {
				follower.ReadIndex([]byte(fmt.Sprintf("r%05d", i)))
			}
			follower.processOnce()
			follower.ReadIndex([]byte("new"))
			return droppedCtxs(follower.processOnce().DroppedReads)
		}
		a, b := forgotten(), forgotten()
		require.Len(t, a, maxForwardedReads)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("got two runs of the same input reporting the forgotten reads in different orders: at %d, got %q, want %q", i, b[i], a[i])
			}
		}
	})
}

func TestLeaderDeparturesOrder(t *testing.T) {
	t.Run("equal leaders given equal input record their departing followers in the same order", func(t *testing.T) {
		// The order of the departures decides the order of the leader's
		// log lines telling each follower its exit is committed, which the
		// simulation's traces (and their digests) include.
		departing := func() []uint64 {
			nodes, nw := leaderWithFollowers(t, 7, withAsyncWrites())
			var changes []pb.ConfChangeSingle
			for id := uint64(2); id <= 6; id++ {
				changes = append(changes, pb.ConfChangeSingle{Type: pb.ConfChangeAddLearnerNode, NodeID: id})
			}
			nw.proposeConfChange(t, 1, pb.ConfChangeV2{Changes: changes})
			var ids []uint64
			for _, d := range nodes[0].raft.leading.departing() {
				ids = append(ids, d.id)
			}
			return ids
		}
		want := departing()
		require.Len(t, want, 5, "got departures %v, want followers 2 to 6", want)
		for run := range 20 {
			got := departing()
			require.Equal(t, want, got, "run %d: got departures in the order %v, want %v as in the first run", run, got, want)
		}
	})
}
