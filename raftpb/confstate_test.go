package raftpb

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfStateEquivalent(t *testing.T) {
	tests := []struct {
		name     string
		cs1, cs2 ConfState
		want     bool
	}{
		{"zero values", ConfState{}, ConfState{}, true},
		{"identical", ConfState{Voters: []uint64{1, 2}, Learners: []uint64{3}}, ConfState{Voters: []uint64{1, 2}, Learners: []uint64{3}}, true},
		{"voters in another order",
			ConfState{Voters: []uint64{3, 1, 2}},
			ConfState{Voters: []uint64{1, 2, 3}}, true},
		{"every slice in another order",
			ConfState{Voters: []uint64{2, 1}, Learners: []uint64{5, 4}, VotersOutgoing: []uint64{3, 2, 1}, LearnersNext: []uint64{7, 6}, AutoLeave: true},
			ConfState{Voters: []uint64{1, 2}, Learners: []uint64{4, 5}, VotersOutgoing: []uint64{1, 3, 2}, LearnersNext: []uint64{6, 7}, AutoLeave: true}, true},
		{"nil and empty slices",
			ConfState{Voters: []uint64{}, Learners: nil, VotersOutgoing: []uint64{}, LearnersNext: nil},
			ConfState{Voters: nil, Learners: []uint64{}, VotersOutgoing: nil, LearnersNext: []uint64{}}, true},
		{"different voters", ConfState{Voters: []uint64{1, 2}}, ConfState{Voters: []uint64{1, 3}}, false},
		{"extra voter", ConfState{Voters: []uint64{1, 2}}, ConfState{Voters: []uint64{1, 2, 3}}, false},
		{"duplicate id is not the same as a single one",
			ConfState{Voters: []uint64{1, 1, 2}},
			ConfState{Voters: []uint64{1, 2, 2}}, false},
		{"id moved from voters to learners",
			ConfState{Voters: []uint64{1, 2}, Learners: []uint64{3}},
			ConfState{Voters: []uint64{1, 2, 3}}, false},
		{"different outgoing voters",
			ConfState{Voters: []uint64{1}, VotersOutgoing: []uint64{1, 2}},
			ConfState{Voters: []uint64{1}, VotersOutgoing: []uint64{1}}, false},
		{"different learners next",
			ConfState{LearnersNext: []uint64{4}},
			ConfState{LearnersNext: []uint64{5}}, false},
		{"auto leave differs", ConfState{AutoLeave: true}, ConfState{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, dir := range []struct {
				name string
				a, b ConfState
			}{{"forward", tt.cs1, tt.cs2}, {"reversed", tt.cs2, tt.cs1}} {
				err := dir.a.Equivalent(dir.b)
				if tt.want {
					assert.NoError(t, err, "%s", dir.name)
				} else {
					assert.Error(t, err, "%s: got nil, want an error", dir.name)
				}
			}
		})
	}
}

func TestConfStateEquivalentErrorPrintsBoth(t *testing.T) {
	cs1 := ConfState{Voters: []uint64{2, 1}, Learners: []uint64{3}, AutoLeave: true}
	cs2 := ConfState{Voters: []uint64{1}, VotersOutgoing: []uint64{1, 2}, LearnersNext: []uint64{9}}
	err := cs1.Equivalent(cs2)
	require.Error(t, err)
	want := "raftpb: conf states are not equivalent:\n" +
		"  voters=[2 1] learners=[3] voters_outgoing=[] learners_next=[] auto_leave=true\n" +
		"  voters=[1] learners=[] voters_outgoing=[1 2] learners_next=[9] auto_leave=false"
	assert.Equal(t, want, err.Error())
}

func TestConfStateEquivalentDoesNotMutate(t *testing.T) {
	t.Run("equivalent states", func(t *testing.T) {
		cs1 := ConfState{Voters: []uint64{3, 1, 2}, Learners: []uint64{5, 4}, VotersOutgoing: []uint64{9, 8}, LearnersNext: []uint64{7, 6}}
		cs2 := ConfState{Voters: []uint64{2, 3, 1}, Learners: []uint64{4, 5}, VotersOutgoing: []uint64{8, 9}, LearnersNext: []uint64{6, 7}}
		want1, want2 := cloneConfState(cs1), cloneConfState(cs2)
		require.NoError(t, cs1.Equivalent(cs2))
		assert.Equal(t, want1, cs1)
		assert.Equal(t, want2, cs2)
	})
	t.Run("states that differ", func(t *testing.T) {
		cs1 := ConfState{Voters: []uint64{3, 1, 2}, LearnersNext: []uint64{2, 1}}
		cs2 := ConfState{Voters: []uint64{2, 1, 4}, LearnersNext: []uint64{2, 1}}
		want1, want2 := cloneConfState(cs1), cloneConfState(cs2)
		require.Error(t, cs1.Equivalent(cs2))
		assert.Equal(t, want1, cs1)
		assert.Equal(t, want2, cs2)
	})
}

func cloneConfState(cs ConfState) ConfState {
	return ConfState{
		Voters:         slices.Clone(cs.Voters),
		Learners:       slices.Clone(cs.Learners),
		VotersOutgoing: slices.Clone(cs.VotersOutgoing),
		LearnersNext:   slices.Clone(cs.LearnersNext),
		AutoLeave:      cs.AutoLeave,
	}
}
