package raft

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

func TestStatusMarshalJSONFormat(t *testing.T) {
	t.Run("leader with progress and a transfer under way", func(t *testing.T) {
		st := Status{
			BasicStatus: BasicStatus{
				ID:             0x1a,
				HardState:      pb.HardState{Term: 7, Vote: 0x1a, Commit: 12},
				SoftState:      SoftState{Lead: 0x1a, RaftState: StateLeader},
				Applied:        11,
				LeadTransferee: 0xb,
			},
			Progress: map[uint64]tracker.Progress{
				0x1a: {Match: 12, Next: 13, State: tracker.StateReplicate},
				0xb:  {Match: 10, Next: 11, State: tracker.StateProbe},
				0x3:  {Match: 0, Next: 5, State: tracker.StateSnapshot},
			},
		}
		want := `{"id":"1a","term":7,"vote":"1a","commit":12,"lead":"1a","raftState":"StateLeader","applied":11,` +
			`"progress":{"3":{"match":0,"next":5,"state":"StateSnapshot"},` +
			`"b":{"match":10,"next":11,"state":"StateProbe"},` +
			`"1a":{"match":12,"next":13,"state":"StateReplicate"}},"leadtransferee":"b"}`
		b, err := st.MarshalJSON()
		require.NoError(t, err)
		assert.JSONEq(t, want, string(b), "got %s, want %s", b, want)
		// NB: keys are in ID order (3 < b < 1a as numbers), which makes the
		// output deterministic; v3.6 leaves the order to map iteration.
		assert.Equal(t, want, string(b), "got %s, want %s", b, want)
	})
	t.Run("json.Marshal uses it", func(t *testing.T) {
		st := Status{BasicStatus: BasicStatus{ID: 2, SoftState: SoftState{RaftState: StatePreCandidate}}}
		b, err := json.Marshal(st)
		require.NoError(t, err)
		want := `{"id":"2","term":0,"vote":"0","commit":0,"lead":"0","raftState":"StatePreCandidate","applied":0,"progress":{},"leadtransferee":"0"}`
		assert.Equal(t, want, string(b), "got %s, want %s", b, want)
	})
	t.Run("String is the JSON", func(t *testing.T) {
		st := Status{BasicStatus: BasicStatus{ID: 2, Applied: 3}}
		b, err := st.MarshalJSON()
		require.NoError(t, err)
		assert.Equal(t, string(b), st.String(), "st.String(): got %v, want %v", st.String(), string(b))
	})
}

func TestStatusIsACopy(t *testing.T) {
	nodes, _ := leaderWithFollowers(t, 3)
	leader := nodes[0]
	st := leader.Status()
	t.Run("changing the Progress map leaves the leader alone", func(t *testing.T) {
		pr := st.Progress[2]
		pr.Match = 1000
		st.Progress[2] = pr
		delete(st.Progress, 3)
		assert.NotEqual(t, uint64(1000), leader.raft.leading.repl.get(2).Match, "got the leader's Match changed through Status")
		assert.NotNil(t, leader.raft.leading.repl.get(3), "got the leader's progress of 3 removed through Status")
	})
	t.Run("changing the Config leaves the leader alone", func(t *testing.T) {
		st.Config.Voters[0][9] = struct{}{}
		_, ok := leader.raft.conf.config().Voters[0][9]
		assert.False(t, ok, "got voter 9 added to the leader through Status")
	})
}
