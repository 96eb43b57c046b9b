package confchange

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
)

// trackerSnapshot is a deep copy of a ProgressTracker's configuration and
// progress, taken to prove that an operation left the tracker untouched.
type trackerSnapshot struct {
	cfg      tracker.Config
	progress map[uint64]*tracker.Progress // copies of the values
	pointers map[uint64]*tracker.Progress
}

// takeSnapshot copies the parts of trk that Changer operations read.
func takeSnapshot(trk tracker.ProgressTracker) trackerSnapshot {
	s := trackerSnapshot{
		cfg:      trk.Config.Clone(),
		progress: map[uint64]*tracker.Progress{},
		pointers: map[uint64]*tracker.Progress{},
	}
	for id, pr := range trk.Progress {
		s.pointers[id] = pr
		if pr != nil {
			cp := *pr
			pr = &cp
		}
		s.progress[id] = pr
	}
	return s
}

// requireUnchanged fails the test if trk differs from the snapshot s: its
// configuration, the set of progress pointers or any Progress value.
func requireUnchanged(t testing.TB, s trackerSnapshot, trk tracker.ProgressTracker) {
	t.Helper()
	after := takeSnapshot(trk)
	require.Equal(t, s.cfg, after.cfg, "config was mutated")
	require.Len(t, after.pointers, len(s.pointers), "progress map was mutated")
	for id, pr := range s.pointers {
		got, ok := after.pointers[id]
		require.True(t, ok, "progress of node %d was removed", id)
		require.Same(t, pr, got, "progress of node %d was replaced", id)
	}
	require.Equal(t, s.progress, after.progress, "a Progress was mutated")
}

// newChanger returns a Changer holding the configuration cs, with LastIndex
// 10 and room for 8 inflight messages per node.
func newChanger(t testing.TB, cs raftpb.ConfState) Changer {
	t.Helper()
	chg := Changer{Tracker: tracker.MakeProgressTracker(8, 0), LastIndex: 10}
	cfg, prs, err := Restore(chg, cs)
	require.NoError(t, err)
	chg.Tracker.Config, chg.Tracker.Progress = cfg, prs
	return chg
}

// changesOf parses the "v1 l2 r3 u4" form of a list of changes. It panics on
// malformed input, naming the bad token: the strings come from test tables
// and scenario files, so that is a bug in the test.
func changesOf(s string) []raftpb.ConfChangeSingle {
	ccs, err := raftpb.ConfChangesFromString(s)
	if err != nil {
		panic(err)
	}
	return ccs
}
