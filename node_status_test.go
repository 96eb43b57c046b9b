package raft

// Node tests of Status, called from goroutines other than the node's.

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNodeStatusFromOtherGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startSingleLeader(t)
		var ws []callResult[Status]
		for range 4 {
			ws = append(ws, goCall(h.n.Status))
		}
		// Keep the node busy meanwhile.
		require.NoError(t, h.n.Propose(context.Background(), []byte("x")))
		h.drain()
		for i, w := range ws {
			st, done := w.result()
			require.True(t, done, "Status call %d did not return", i)
			assert.Equal(t, uint64(1), st.ID, "call %d: got ID %x, want 1", i, st.ID)
			assert.Equal(t, StateLeader, st.RaftState, "call %d: got %v, want %v", i, st.RaftState, StateLeader)
		}
	})
}

// TestNodeStatusIsConsistentWhileTheNodeWorks calls Status from another goroutine
// throughout a stream of proposals that keep changing the state Status
// reports. Status must be serialized with the requests that change the
// RawNode rather than read it unguarded; under -race, an unguarded read is
// reported as a data race. NB: the test runs outside testing/synctest, whose
// bubble hides such a race from the detector; it still neither sleeps nor
// reads the clock (see liveApp). Every answer must also be a consistent
// snapshot: the leader's own ID and role, and a commit index that never goes
// back.
func TestNodeStatusIsConsistentWhileTheNodeWorks(t *testing.T) {
	const proposals = 50
	a := startLiveLeader(t)
	n := a.n

	type observed struct {
		id     uint64
		state  StateType
		commit uint64
	}
	statuses := make(chan []observed, 1)
	go func() {
		var seen []observed
		for range 4 * proposals {
			st := n.Status()
			seen = append(seen, observed{st.ID, st.RaftState, st.Commit})
		}
		statuses <- seen
	}()
	for range proposals {
		require.NoError(t, n.Propose(context.Background(), []byte("x")))
	}
	a.waitApplied(proposals)

	seen := <-statuses
	var lastCommit uint64
	for i, o := range seen {
		assert.Equal(t, uint64(1), o.id, "call %d: got ID %x, want 1", i, o.id)
		assert.Equal(t, StateLeader, o.state, "call %d: got %v, want %v", i, o.state, StateLeader)
		assert.GreaterOrEqual(t, o.commit, lastCommit, "call %d: got commit %d after %d, want it never to go back", i, o.commit, lastCommit)
		lastCommit = o.commit
	}
}
