package raft

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

func TestBootstrapErrors(t *testing.T) {
	tests := []struct {
		name    string
		storage func(t *testing.T) Storage
		peers   []Peer
		want    string
	}{
		{"no peers", func(*testing.T) Storage { return NewMemoryStorage() }, nil,
			"must provide at least one peer to Bootstrap"},
		{"nonempty storage", func(t *testing.T) Storage { return storageWithLog(t, []uint64{1}, 1) }, []Peer{{ID: 1}},
			"can't bootstrap a nonempty Storage"},
		{"peer ID None", func(*testing.T) Storage { return NewMemoryStorage() }, []Peer{{ID: 1}, {ID: None}},
			"ID None"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rn, err := NewRawNode(newTestConfig(1, tt.storage(t)))
			require.NoError(t, err)
			before := rn.BasicStatus()
			err = rn.Bootstrap(tt.peers)
			require.Error(t, err, "got no error, want one")
			assert.Contains(t, err.Error(), tt.want, "got %v, want it to say %q", err, tt.want)
			assert.Equal(t, before, rn.BasicStatus(), "got the state changed by a refused Bootstrap")
		})
	}
}

func TestBootstrapEntries(t *testing.T) {
	rn, err := NewRawNode(newTestConfig(1, NewMemoryStorage()))
	require.NoError(t, err)
	require.NoError(t, rn.Bootstrap([]Peer{{ID: 1}, {ID: 2}, {ID: 3, Context: []byte("c3")}}))
	rd := rn.Ready()
	t.Run("one committed AddNode per peer at term 1", func(t *testing.T) {
		require.Len(t, rd.Entries, 3, "rd.Entries: got %d, want 3", len(rd.Entries))
		for i, e := range rd.Entries {
			assert.Equal(t, pb.EntryConfChange, e.Type, "entry %d: got %v, want EntryConfChange", i, e.Type)
			assert.Equal(t, uint64(1), e.Term, "entry %d: got term %d, want 1", i, e.Term)
			assert.Equal(t, uint64(i+1), e.Index, "entry %d: got index %d, want %d", i, e.Index, i+1)
		}
		assert.Equal(t, rd.Entries, rd.CommittedEntries, "got committed %v, want all bootstrap entries", rd.CommittedEntries)
		assert.Equal(t, pb.HardState{Term: 1, Commit: 3}, rd.HardState, "rd.HardState: got %v, want %v", rd.HardState, pb.HardState{Term: 1, Commit: 3})
		assert.True(t, rd.MustSync, "got MustSync false for the bootstrap Ready")
	})
	t.Run("the configuration is in effect before the application applies it", func(t *testing.T) {
		st := rn.Status()
		assert.Len(t, st.Config.Voters[0], 3, "got voters %v, want 3", st.Config.Voters[0])
		assert.Equal(t, uint64(0), st.Applied, "got applied %d, want 0 until the application applies", st.Applied)
	})
}

func TestStartNodeOnNonemptyStorage(t *testing.T) {
	// As in v3.6, StartNode on a storage that already holds a log logs the
	// refused bootstrap and runs from the stored state.
	synctest.Test(t, func(t *testing.T) {
		s := storageWithLog(t, []uint64{1}, 1, 1)
		require.NoError(t, s.SetHardState(pb.HardState{Term: 1, Commit: 2}))
		h := startTestNode(t, nodeTestConfig(1, s), []Peer{{ID: 1}, {ID: 2}})
		h.drain()
		st := h.n.Status()
		assert.Equal(t, uint64(2), st.Commit, "got commit %d, want the stored 2", st.Commit)
		assert.Len(t, st.Config.Voters[0], 1, "got voters %v, want the stored [1], not the peers given", st.Config.Voters[0])
		require.NoError(t, h.n.Campaign(context.Background()))
		h.drain()
		st = h.n.Status()
		assert.Equal(t, StateLeader, st.RaftState, "got %v, want the single stored voter to lead", st.RaftState)
	})
}
