package raft

// Node tests of Status, called from goroutines other than the node's.

import (
	"context"
	"testing"
	"testing/synctest"

	pb "github.com/quorate/raft/raftpb"
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
// throughout a stream of proposals that keep the node's goroutine changing
// the state Status reports. Status must go through the node's goroutine
// rather than read the RawNode itself; under -race, a direct read is
// reported as a data race. NB: the test runs outside testing/synctest, whose
// bubble hides such a race from the detector; it still neither sleeps nor
// reads the clock, and waits only on channels. Every answer must also be a
// consistent snapshot: the leader's own ID and role, and a commit index that
// never goes back.
func TestNodeStatusIsConsistentWhileTheNodeWorks(t *testing.T) {
	const proposals = 50
	s := NewMemoryStorage()
	n := StartNode(nodeTestConfig(1, s), []Peer{{ID: 1}})
	defer n.Stop()
	stopApp := make(chan struct{})
	defer close(stopApp)

	// The application's goroutine: persist, apply, advance, and tell the
	// test when the bootstrap configuration is applied (campaigning waits
	// for it), when the node leads, and when every proposal is applied.
	configured := make(chan struct{})
	leading := make(chan struct{})
	allApplied := make(chan struct{})
	go func() {
		applied, confPending, leadPending := 0, configured, leading
		for {
			select {
			case rd := <-n.Ready():
				if rd.SoftState != nil && rd.SoftState.RaftState == StateLeader && leadPending != nil {
					close(leadPending)
					leadPending = nil
				}
				if !IsEmptyHardState(rd.HardState) {
					_ = s.SetHardState(rd.HardState)
				}
				_ = s.Append(rd.Entries)
				for _, e := range rd.CommittedEntries {
					switch {
					case e.Type == pb.EntryConfChange:
						var cc pb.ConfChange
						_ = cc.Unmarshal(e.Data)
						n.ApplyConfChange(cc)
					case len(e.Data) > 0:
						applied++
						if applied == proposals {
							close(allApplied)
						}
					}
				}
				n.Advance()
				if confPending != nil && len(rd.CommittedEntries) > 0 {
					close(confPending)
					confPending = nil
				}
			case <-stopApp:
				return
			}
		}
	}()
	<-configured
	require.NoError(t, n.Campaign(context.Background()))
	<-leading

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
	<-allApplied

	seen := <-statuses
	var lastCommit uint64
	for i, o := range seen {
		assert.Equal(t, uint64(1), o.id, "call %d: got ID %x, want 1", i, o.id)
		assert.Equal(t, StateLeader, o.state, "call %d: got %v, want %v", i, o.state, StateLeader)
		assert.GreaterOrEqual(t, o.commit, lastCommit, "call %d: got commit %d after %d, want it never to go back", i, o.commit, lastCommit)
		lastCommit = o.commit
	}
}
