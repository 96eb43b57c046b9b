package tracker

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkProgress asserts the invariants documented on the Progress fields.
func checkProgress(t *testing.T, pr *Progress) {
	t.Helper()
	require.Less(t, pr.Match, pr.Next, "Match < Next: %s", pr)
	if pr.State != StateSnapshot {
		require.Zero(t, pr.PendingSnapshot, "PendingSnapshot outside StateSnapshot: %s", pr)
	}
	if pr.State != StateReplicate {
		require.Zero(t, pr.Inflights.Count(), "Inflights outside StateReplicate: %s", pr)
	}
}

// inflightsWith returns a window of the given size holding the given indexes,
// one byte each.
func inflightsWith(size int, idxs ...uint64) *Inflights {
	in := NewInflights(size, 0)
	for _, i := range idxs {
		in.Add(i, 1)
	}
	return in
}

func TestStateTypeString(t *testing.T) {
	for st, want := range map[StateType]string{
		StateProbe:     "StateProbe",
		StateReplicate: "StateReplicate",
		StateSnapshot:  "StateSnapshot",
		StateType(7):   "StateType(7)",
	} {
		t.Run(want, func(t *testing.T) {
			assert.Equal(t, want, st.String())
		})
	}
}

func TestProgressResetState(t *testing.T) {
	pr := &Progress{
		State: StateSnapshot, Match: 3, Next: 11, sentCommit: 10, PendingSnapshot: 10,
		MsgAppFlowPaused: true, RecentActive: true, IsLearner: true,
		Inflights: inflightsWith(4, 8, 9),
	}
	pr.ResetState(StateReplicate)
	assert.Equal(t, &Progress{
		State: StateReplicate, Match: 3, Next: 11, sentCommit: 10,
		RecentActive: true, IsLearner: true, Inflights: pr.Inflights,
	}, pr)
	assert.Zero(t, pr.Inflights.Count())
}

func TestProgressBecomeProbe(t *testing.T) {
	for _, tt := range []struct {
		name       string
		pr         Progress
		wantNext   uint64
		wantCommit uint64
	}{{
		name:     "from probe restarts after match",
		pr:       Progress{State: StateProbe, Match: 1, Next: 5, sentCommit: 4, MsgAppFlowPaused: true},
		wantNext: 2, wantCommit: 1,
	}, {
		name:     "from replicate drops the inflights",
		pr:       Progress{State: StateReplicate, Match: 1, Next: 5, sentCommit: 3, Inflights: inflightsWith(8, 2, 3, 4)},
		wantNext: 2, wantCommit: 1,
	}, {
		name:     "from replicate keeps a sentCommit below match",
		pr:       Progress{State: StateReplicate, Match: 6, Next: 9, sentCommit: 2},
		wantNext: 7, wantCommit: 2,
	}, {
		name:     "from snapshot continues after the delivered snapshot",
		pr:       Progress{State: StateSnapshot, Match: 1, Next: 11, sentCommit: 10, PendingSnapshot: 10},
		wantNext: 11, wantCommit: 10,
	}, {
		name:     "from snapshot behind match continues after match",
		pr:       Progress{State: StateSnapshot, Match: 20, Next: 11, sentCommit: 10, PendingSnapshot: 10},
		wantNext: 21, wantCommit: 10,
	}, {
		name:     "from a failed snapshot restarts after match",
		pr:       Progress{State: StateSnapshot, Match: 1, Next: 11, sentCommit: 10, PendingSnapshot: 0},
		wantNext: 2, wantCommit: 1,
	}} {
		t.Run(tt.name, func(t *testing.T) {
			pr := tt.pr
			if pr.Inflights == nil {
				pr.Inflights = NewInflights(8, 0)
			}
			pr.BecomeProbe()
			assert.Equal(t, StateProbe, pr.State)
			assert.Equal(t, tt.wantNext, pr.Next, "Next")
			assert.Equal(t, tt.wantCommit, pr.sentCommit, "sentCommit")
			assert.Equal(t, tt.pr.Match, pr.Match, "Match")
			assert.False(t, pr.MsgAppFlowPaused)
			assert.Zero(t, pr.PendingSnapshot)
			checkProgress(t, &pr)
		})
	}
}

func TestProgressBecomeReplicate(t *testing.T) {
	for _, tt := range []struct {
		name string
		pr   Progress
	}{
		{name: "from probe", pr: Progress{State: StateProbe, Match: 4, Next: 9, sentCommit: 3, MsgAppFlowPaused: true}},
		{name: "from replicate", pr: Progress{State: StateReplicate, Match: 4, Next: 9, Inflights: inflightsWith(8, 6, 8)}},
		{name: "from snapshot", pr: Progress{State: StateSnapshot, Match: 10, Next: 11, sentCommit: 10, PendingSnapshot: 10}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pr := tt.pr
			if pr.Inflights == nil {
				pr.Inflights = NewInflights(8, 0)
			}
			pr.BecomeReplicate()
			assert.Equal(t, StateReplicate, pr.State)
			assert.Equal(t, tt.pr.Match+1, pr.Next, "Next")
			assert.Equal(t, tt.pr.sentCommit, pr.sentCommit, "sentCommit unchanged")
			assert.False(t, pr.MsgAppFlowPaused)
			assert.Zero(t, pr.Inflights.Count())
			checkProgress(t, &pr)
		})
	}
}

func TestProgressBecomeSnapshot(t *testing.T) {
	for _, tt := range []struct {
		name string
		pr   Progress
	}{
		{name: "from probe", pr: Progress{State: StateProbe, Match: 1, Next: 3, sentCommit: 2, MsgAppFlowPaused: true}},
		{name: "from replicate", pr: Progress{State: StateReplicate, Match: 1, Next: 5, sentCommit: 30, Inflights: inflightsWith(8, 3, 4)}},
		{name: "from snapshot", pr: Progress{State: StateSnapshot, Match: 1, Next: 6, sentCommit: 5, PendingSnapshot: 5}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pr := tt.pr
			if pr.Inflights == nil {
				pr.Inflights = NewInflights(8, 0)
			}
			pr.BecomeSnapshot(20)
			assert.Equal(t, StateSnapshot, pr.State)
			assert.Equal(t, uint64(20), pr.PendingSnapshot)
			assert.Equal(t, uint64(21), pr.Next)
			assert.Equal(t, uint64(20), pr.sentCommit)
			assert.Equal(t, uint64(1), pr.Match)
			assert.False(t, pr.MsgAppFlowPaused)
			assert.True(t, pr.IsPaused())
			checkProgress(t, &pr)
		})
	}
}

func TestProgressSentEntries(t *testing.T) {
	t.Run("replicate advances next and fills the window", func(t *testing.T) {
		pr := &Progress{State: StateReplicate, Match: 4, Next: 5, Inflights: NewInflights(2, 0)}
		pr.SentEntries(3, 30)
		assert.Equal(t, uint64(8), pr.Next)
		assert.Equal(t, []inflight{{index: 7, bytes: 30}}, live(pr.Inflights))
		assert.False(t, pr.MsgAppFlowPaused, "one of two slots used")

		pr.SentEntries(1, 5)
		assert.Equal(t, uint64(9), pr.Next)
		assert.Equal(t, []inflight{{index: 7, bytes: 30}, {index: 8, bytes: 5}}, live(pr.Inflights))
		assert.True(t, pr.MsgAppFlowPaused, "window full")
		checkProgress(t, pr)
	})
	t.Run("replicate pauses when the bytes limit is reached", func(t *testing.T) {
		pr := &Progress{State: StateReplicate, Match: 4, Next: 5, Inflights: NewInflights(10, 100)}
		pr.SentEntries(1, 100)
		assert.True(t, pr.MsgAppFlowPaused)
	})
	t.Run("replicate with no entries only refreshes the pause", func(t *testing.T) {
		pr := &Progress{State: StateReplicate, Match: 4, Next: 7, Inflights: inflightsWith(2, 5, 6)}
		pr.SentEntries(0, 0)
		assert.Equal(t, uint64(7), pr.Next)
		assert.Equal(t, 2, pr.Inflights.Count())
		assert.True(t, pr.MsgAppFlowPaused, "full window")

		pr.Inflights.FreeLE(6)
		pr.SentEntries(0, 0)
		assert.False(t, pr.MsgAppFlowPaused, "window drained")
	})
	t.Run("probe pauses after sending entries without moving next", func(t *testing.T) {
		pr := &Progress{State: StateProbe, Match: 4, Next: 5, Inflights: NewInflights(2, 0)}
		pr.SentEntries(3, 30)
		assert.Equal(t, uint64(5), pr.Next)
		assert.True(t, pr.MsgAppFlowPaused)
		assert.Zero(t, pr.Inflights.Count())
	})
	t.Run("probe with no entries does not pause", func(t *testing.T) {
		pr := &Progress{State: StateProbe, Match: 4, Next: 5, Inflights: NewInflights(2, 0)}
		pr.SentEntries(0, 0)
		assert.False(t, pr.MsgAppFlowPaused)
	})
	t.Run("snapshot panics", func(t *testing.T) {
		pr := &Progress{State: StateSnapshot, Match: 4, Next: 11, PendingSnapshot: 10, RecentActive: true, Inflights: NewInflights(2, 0)}
		assert.PanicsWithValue(t,
			"tracker: sent 1 entries (8 bytes) in state StateSnapshot: StateSnapshot match=4 next=11 paused pendingSnap=10",
			func() { pr.SentEntries(1, 8) })
	})
}

func TestProgressMaybeUpdate(t *testing.T) {
	for _, tt := range []struct {
		name      string
		n         uint64
		want      bool
		wantMatch uint64
		wantNext  uint64
	}{
		{name: "below match is stale", n: 3, want: false, wantMatch: 5, wantNext: 8},
		{name: "at match is stale", n: 5, want: false, wantMatch: 5, wantNext: 8},
		{name: "above match below next", n: 6, want: true, wantMatch: 6, wantNext: 8},
		{name: "at next-1", n: 7, want: true, wantMatch: 7, wantNext: 8},
		{name: "beyond next raises next", n: 12, want: true, wantMatch: 12, wantNext: 13},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pr := &Progress{State: StateProbe, Match: 5, Next: 8, MsgAppFlowPaused: true, Inflights: NewInflights(4, 0)}
			got := pr.MaybeUpdate(tt.n)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantMatch, pr.Match, "Match")
			assert.Equal(t, tt.wantNext, pr.Next, "Next")
			assert.Equal(t, !tt.want, pr.MsgAppFlowPaused, "paused only if stale")
			checkProgress(t, pr)
		})
	}
	t.Run("in snapshot moves next past the pending snapshot", func(t *testing.T) {
		// The follower caught up by other means (e.g. from the log of a
		// previous leader); the state is left by the caller afterwards.
		pr := &Progress{State: StateSnapshot, Match: 1, Next: 11, sentCommit: 10, PendingSnapshot: 10, Inflights: NewInflights(4, 0)}
		require.True(t, pr.MaybeUpdate(15))
		assert.Equal(t, uint64(15), pr.Match, "Match")
		assert.Equal(t, uint64(16), pr.Next, "Next")
		assert.Equal(t, StateSnapshot, pr.State, "State unchanged")
		assert.Equal(t, uint64(10), pr.PendingSnapshot, "PendingSnapshot unchanged")
		assert.True(t, pr.IsPaused(), "still paused while in StateSnapshot")
		pr.BecomeProbe()
		assert.Equal(t, uint64(16), pr.Next, "Next after BecomeProbe")
		checkProgress(t, pr)
	})
}

// maybeDecrToCases are the rejections TestProgressMaybeDecrTo applies, one
// per state and per way a rejection can be stale or move Next.
var maybeDecrToCases = []struct {
	name      string
	pr        Progress
	rejected  uint64
	hint      uint64
	want      bool
	wantNext  uint64
	wantSent  uint64
	wantPause bool
}{{
	name:     "replicate: rejection at or below match is stale",
	pr:       Progress{State: StateReplicate, Match: 5, Next: 10, sentCommit: 9},
	rejected: 5, hint: 5,
	want: false, wantNext: 10, wantSent: 9,
}, {
	name:     "replicate: rejection above match falls back to match+1",
	pr:       Progress{State: StateReplicate, Match: 5, Next: 10, sentCommit: 9},
	rejected: 9, hint: 8,
	want: true, wantNext: 6, wantSent: 5,
}, {
	name:     "replicate: the hint is ignored",
	pr:       Progress{State: StateReplicate, Match: 0, Next: 10, sentCommit: 4},
	rejected: 7, hint: 2,
	want: true, wantNext: 1, wantSent: 0,
}, {
	name:     "replicate: a paused flow stays paused",
	pr:       Progress{State: StateReplicate, Match: 5, Next: 10, MsgAppFlowPaused: true},
	rejected: 9, hint: 9,
	want: true, wantNext: 6, wantPause: true,
}, {
	name:     "probe: rejection of anything but next-1 is stale",
	pr:       Progress{State: StateProbe, Match: 0, Next: 10, sentCommit: 9, MsgAppFlowPaused: true},
	rejected: 5, hint: 5,
	want: false, wantNext: 10, wantSent: 9, wantPause: true,
}, {
	name:     "probe: rejection of a newer probe than sent is stale",
	pr:       Progress{State: StateProbe, Match: 0, Next: 10, MsgAppFlowPaused: true},
	rejected: 12, hint: 5,
	want: false, wantNext: 10, wantPause: true,
}, {
	name:     "probe: the hint moves next back past the conflict",
	pr:       Progress{State: StateProbe, Match: 0, Next: 10, sentCommit: 9, MsgAppFlowPaused: true},
	rejected: 9, hint: 4,
	want: true, wantNext: 5, wantSent: 4,
}, {
	name:     "probe: a hint at or above rejected moves next back by one",
	pr:       Progress{State: StateProbe, Match: 0, Next: 10, sentCommit: 3, MsgAppFlowPaused: true},
	rejected: 9, hint: 20,
	want: true, wantNext: 9, wantSent: 3,
}, {
	name:     "probe: a hint below match is clamped to match+1",
	pr:       Progress{State: StateProbe, Match: 6, Next: 10, sentCommit: 9, MsgAppFlowPaused: true},
	rejected: 9, hint: 2,
	want: true, wantNext: 7, wantSent: 6,
}, {
	name:     "probe: rejection of index 0",
	pr:       Progress{State: StateProbe, Match: 0, Next: 1},
	rejected: 0, hint: 0,
	want: true, wantNext: 1, wantSent: 0,
}, {
	name:     "snapshot: rejection of next-1 is applied as in probe",
	pr:       Progress{State: StateSnapshot, Match: 0, Next: 11, sentCommit: 10, PendingSnapshot: 10},
	rejected: 10, hint: 3,
	want: true, wantNext: 4, wantSent: 3,
}, {
	name:     "snapshot: other rejections are stale",
	pr:       Progress{State: StateSnapshot, Match: 0, Next: 11, sentCommit: 10, PendingSnapshot: 10},
	rejected: 7, hint: 3,
	want: false, wantNext: 11, wantSent: 10,
}}

func TestProgressMaybeDecrTo(t *testing.T) {
	for _, tt := range maybeDecrToCases {
		t.Run(tt.name, func(t *testing.T) {
			pr := tt.pr
			pr.Inflights = NewInflights(4, 0)
			got := pr.MaybeDecrTo(tt.rejected, tt.hint)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantNext, pr.Next, "Next")
			assert.Equal(t, tt.wantSent, pr.sentCommit, "sentCommit")
			assert.Equal(t, tt.wantPause, pr.MsgAppFlowPaused, "MsgAppFlowPaused")
			assert.Equal(t, tt.pr.Match, pr.Match, "Match unchanged")
			assert.Equal(t, tt.pr.State, pr.State, "State unchanged")
			checkProgress(t, &pr)
		})
	}
}

func TestProgressIsPaused(t *testing.T) {
	for _, tt := range []struct {
		state  StateType
		paused bool
		want   bool
	}{
		{StateProbe, false, false},
		{StateProbe, true, true},
		{StateReplicate, false, false},
		{StateReplicate, true, true},
		{StateSnapshot, false, true},
		{StateSnapshot, true, true},
	} {
		name := tt.state.String() + map[bool]string{false: " flowing", true: " flow paused"}[tt.paused]
		t.Run(name, func(t *testing.T) {
			pr := &Progress{State: tt.state, MsgAppFlowPaused: tt.paused, Inflights: NewInflights(1, 0)}
			assert.Equal(t, tt.want, pr.IsPaused())
		})
	}
	t.Run("unknown state panics", func(t *testing.T) {
		pr := &Progress{State: 9, Match: 1, Next: 2}
		assert.PanicsWithValue(t, "tracker: unknown progress state StateType(9): match=1 next=2",
			func() { pr.IsPaused() })
	})
}

func TestProgressCanBumpCommit(t *testing.T) {
	for _, tt := range []struct {
		name       string
		next       uint64
		sentCommit uint64
		index      uint64
		want       bool
	}{
		{name: "new index the follower can use", next: 10, sentCommit: 5, index: 7, want: true},
		{name: "new index beyond what the follower has", next: 10, sentCommit: 5, index: 20, want: true},
		{name: "index already sent", next: 10, sentCommit: 5, index: 5, want: false},
		{name: "index below the one sent", next: 10, sentCommit: 5, index: 4, want: false},
		{name: "follower already told up to next-1", next: 10, sentCommit: 9, index: 12, want: false},
		{name: "sent beyond next-1", next: 10, sentCommit: 11, index: 12, want: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pr := &Progress{Next: tt.next, sentCommit: tt.sentCommit}
			assert.Equal(t, tt.want, pr.CanBumpCommit(tt.index))
		})
	}
	t.Run("SentCommit records the index", func(t *testing.T) {
		pr := &Progress{State: StateReplicate, Match: 2, Next: 10, Inflights: NewInflights(4, 0)}
		require.True(t, pr.CanBumpCommit(6))
		pr.SentCommit(6)
		assert.Equal(t, uint64(6), pr.sentCommit)
		assert.False(t, pr.CanBumpCommit(6), "after sending 6")
		assert.True(t, pr.CanBumpCommit(7), "after sending 6")
	})
	t.Run("a rejection re-enables sending the commit index", func(t *testing.T) {
		pr := &Progress{State: StateReplicate, Match: 2, Next: 10, Inflights: NewInflights(4, 0)}
		pr.SentCommit(9)
		require.False(t, pr.CanBumpCommit(9))
		require.True(t, pr.MaybeDecrTo(9, 9))
		pr.BecomeProbe()
		require.Equal(t, uint64(3), pr.Next)
		pr.MaybeUpdate(8)
		assert.True(t, pr.CanBumpCommit(9), "got false with %s sentCommit=%d", pr, pr.sentCommit)
	})
}

func TestProgressString(t *testing.T) {
	full := inflightsWith(2, 6, 7)
	for _, tt := range []struct {
		name string
		pr   *Progress
		want string
	}{{
		name: "defaults",
		pr:   &Progress{Next: 1, RecentActive: true},
		want: "StateProbe match=0 next=1",
	}, {
		name: "inactive",
		pr:   &Progress{Next: 1},
		want: "StateProbe match=0 next=1 inactive",
	}, {
		name: "paused probe",
		pr:   &Progress{Match: 2, Next: 3, MsgAppFlowPaused: true, RecentActive: true},
		want: "StateProbe match=2 next=3 paused",
	}, {
		name: "replicating with inflights",
		pr:   &Progress{State: StateReplicate, Match: 5, Next: 8, RecentActive: true, Inflights: inflightsWith(4, 6, 7)},
		want: "StateReplicate match=5 next=8 inflight=2",
	}, {
		name: "snapshot is always paused",
		pr:   &Progress{State: StateSnapshot, Match: 1, Next: 11, PendingSnapshot: 10, RecentActive: true},
		want: "StateSnapshot match=1 next=11 paused pendingSnap=10",
	}, {
		name: "everything",
		pr: &Progress{State: StateReplicate, Match: 5, Next: 6, IsLearner: true, MsgAppFlowPaused: true,
			PendingSnapshot: 7, Inflights: full},
		want: "StateReplicate match=5 next=6 learner paused pendingSnap=7 inactive inflight=2[full]",
	}, {
		name: "unknown state",
		pr:   &Progress{State: 5, Next: 1, RecentActive: true},
		want: "StateType(5) match=0 next=1",
	}} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.pr.String())
		})
	}
}

func TestProgressMapString(t *testing.T) {
	m := ProgressMap{
		3:  {State: StateReplicate, Match: 5, Next: 6, RecentActive: true},
		1:  {Next: 1, RecentActive: true},
		20: {Next: 1, IsLearner: true},
	}
	want := "1: StateProbe match=0 next=1\n" +
		"3: StateReplicate match=5 next=6\n" +
		"20: StateProbe match=0 next=1 learner inactive\n"
	assert.Equal(t, want, m.String())
	assert.Empty(t, ProgressMap{}.String())
}
