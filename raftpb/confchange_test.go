package raftpb

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfChangeConversions(t *testing.T) {
	v1 := ConfChange{ID: 7, Type: ConfChangeAddLearnerNode, NodeID: 3, Context: []byte("ctx")}

	t.Run("v1 AsV1 returns itself", func(t *testing.T) {
		got, ok := v1.AsV1()
		require.True(t, ok)
		assert.Equal(t, v1, got)
	})
	t.Run("v1 AsV2 is an auto transition with the single change and the context", func(t *testing.T) {
		want := ConfChangeV2{
			Transition: ConfChangeTransitionAuto,
			Changes:    []ConfChangeSingle{{Type: ConfChangeAddLearnerNode, NodeID: 3}},
			Context:    []byte("ctx"),
		}
		assert.Equal(t, want, v1.AsV2())
	})
	t.Run("zero v1 AsV2 holds one AddNode change of node 0", func(t *testing.T) {
		want := ConfChangeV2{Changes: []ConfChangeSingle{{Type: ConfChangeAddNode, NodeID: 0}}}
		assert.Equal(t, want, ConfChange{}.AsV2())
	})

	v2 := ConfChangeV2{
		Transition: ConfChangeTransitionJointExplicit,
		Changes:    []ConfChangeSingle{{Type: ConfChangeAddNode, NodeID: 1}},
		Context:    []byte("c2"),
	}
	t.Run("v2 AsV2 returns itself", func(t *testing.T) {
		assert.Equal(t, v2, v2.AsV2())
	})
	t.Run("v2 AsV1 fails even with a single change", func(t *testing.T) {
		got, ok := v2.AsV1()
		assert.False(t, ok)
		assert.Equal(t, ConfChange{}, got)
	})
}

func TestMarshalConfChange(t *testing.T) {
	t.Run("v1 is stored as EntryConfChange", func(t *testing.T) {
		cc := ConfChange{ID: 1, Type: ConfChangeRemoveNode, NodeID: 2, Context: []byte("x")}
		typ, data, err := MarshalConfChange(cc)
		require.NoError(t, err)
		assert.Equal(t, EntryConfChange, typ)
		var got ConfChange
		require.NoError(t, got.Unmarshal(data))
		assert.Equal(t, cc, got)
	})
	t.Run("v2 is stored as EntryConfChangeV2", func(t *testing.T) {
		cc := ConfChangeV2{
			Transition: ConfChangeTransitionJointImplicit,
			Changes: []ConfChangeSingle{
				{Type: ConfChangeAddNode, NodeID: 4},
				{Type: ConfChangeRemoveNode, NodeID: 5},
			},
			Context: []byte("y"),
		}
		typ, data, err := MarshalConfChange(cc)
		require.NoError(t, err)
		assert.Equal(t, EntryConfChangeV2, typ)
		var got ConfChangeV2
		require.NoError(t, got.Unmarshal(data))
		assert.Equal(t, cc, got)
	})
	t.Run("nil is an EntryConfChangeV2 with nil data that decodes as leave-joint", func(t *testing.T) {
		typ, data, err := MarshalConfChange(nil)
		require.NoError(t, err)
		assert.Equal(t, EntryConfChangeV2, typ)
		assert.Nil(t, data)
		var got ConfChangeV2
		require.NoError(t, got.Unmarshal(data))
		assert.True(t, got.LeaveJoint(), "got %+v, want the leave-joint change", got)
	})
}

func TestConfChangeV2EnterJoint(t *testing.T) {
	one := []ConfChangeSingle{{Type: ConfChangeAddNode, NodeID: 1}}
	two := []ConfChangeSingle{{Type: ConfChangeAddNode, NodeID: 1}, {Type: ConfChangeRemoveNode, NodeID: 2}}
	tests := []struct {
		name          string
		cc            ConfChangeV2
		wantAutoLeave bool
		wantOK        bool
	}{
		{"auto with no change is applied directly", ConfChangeV2{}, false, false},
		{"auto with one change is applied directly", ConfChangeV2{Changes: one}, false, false},
		{"auto with two changes enters joint and leaves automatically",
			ConfChangeV2{Changes: two}, true, true},
		{"implicit with one change enters joint and leaves automatically",
			ConfChangeV2{Transition: ConfChangeTransitionJointImplicit, Changes: one}, true, true},
		{"implicit with two changes enters joint and leaves automatically",
			ConfChangeV2{Transition: ConfChangeTransitionJointImplicit, Changes: two}, true, true},
		{"explicit with no change enters joint and waits for the application",
			ConfChangeV2{Transition: ConfChangeTransitionJointExplicit}, false, true},
		{"explicit with two changes enters joint and waits for the application",
			ConfChangeV2{Transition: ConfChangeTransitionJointExplicit, Changes: two}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			autoLeave, ok := tt.cc.EnterJoint()
			assert.Equal(t, tt.wantOK, ok, "ok: got %v, want %v", ok, tt.wantOK)
			assert.Equal(t, tt.wantAutoLeave, autoLeave, "autoLeave: got %v, want %v", autoLeave, tt.wantAutoLeave)
		})
	}

	t.Run("unknown transition panics with its value", func(t *testing.T) {
		cc := ConfChangeV2{Transition: 7, Changes: one}
		assert.PanicsWithValue(t,
			fmt.Sprintf("raftpb: ConfChangeV2 has unknown transition 7: %+v", cc),
			func() { cc.EnterJoint() })
	})
}

func TestConfChangeV2LeaveJoint(t *testing.T) {
	tests := []struct {
		name string
		cc   ConfChangeV2
		want bool
	}{
		{"zero value", ConfChangeV2{}, true},
		{"zero value with a context", ConfChangeV2{Context: []byte("ctx")}, true},
		{"empty non-nil changes", ConfChangeV2{Changes: []ConfChangeSingle{}}, true},
		{"one change", ConfChangeV2{Changes: []ConfChangeSingle{{NodeID: 1}}}, false},
		{"explicit transition without changes", ConfChangeV2{Transition: ConfChangeTransitionJointExplicit}, false},
		{"implicit transition without changes", ConfChangeV2{Transition: ConfChangeTransitionJointImplicit}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cc.LeaveJoint()
			assert.Equal(t, tt.want, got, "got %v, want %v", got, tt.want)
		})
	}
}

func TestConfChangesFromString(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []ConfChangeSingle
	}{
		{"empty string", "", nil},
		{"only whitespace", " \t\n ", nil},
		{"one of each letter", "v1 l2 r3 u4", []ConfChangeSingle{
			{Type: ConfChangeAddNode, NodeID: 1},
			{Type: ConfChangeAddLearnerNode, NodeID: 2},
			{Type: ConfChangeRemoveNode, NodeID: 3},
			{Type: ConfChangeUpdateNode, NodeID: 4},
		}},
		{"any whitespace separates tokens", "  v1\tv2\n\nr1  ", []ConfChangeSingle{
			{Type: ConfChangeAddNode, NodeID: 1},
			{Type: ConfChangeAddNode, NodeID: 2},
			{Type: ConfChangeRemoveNode, NodeID: 1},
		}},
		{"node 0 and the largest uint64", "v0 r18446744073709551615", []ConfChangeSingle{
			{Type: ConfChangeAddNode, NodeID: 0},
			{Type: ConfChangeRemoveNode, NodeID: 18446744073709551615},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConfChangesFromString(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestConfChangesFromStringErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"unknown letter", "v1 x2", `raftpb: conf change "x2": unknown type letter 'x', want one of v (voter), l (learner), r (remove), u (update)`},
		{"upper-case letter", "V1", `raftpb: conf change "V1": unknown type letter 'V'`},
		{"digit first", "12", `raftpb: conf change "12": unknown type letter '1'`},
		{"missing id", "v1 r", `raftpb: conf change "r": missing node ID after 'r'`},
		{"id not a number", "lx", `raftpb: conf change "lx": node ID "x" is not a uint64`},
		{"negative id", "v-1", `raftpb: conf change "v-1": node ID "-1" is not a uint64`},
		{"id with trailing junk", "v1,", `raftpb: conf change "v1,": node ID "1," is not a uint64`},
		{"id overflows uint64", "u18446744073709551616", `raftpb: conf change "u18446744073709551616": node ID "18446744073709551616" is not a uint64`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConfChangesFromString(tt.in)
			require.Error(t, err, "got %v, want an error", got)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Nil(t, got)
		})
	}
}

func TestConfChangesToString(t *testing.T) {
	tests := []struct {
		name string
		in   []ConfChangeSingle
		want string
	}{
		{"nil", nil, ""},
		{"empty", []ConfChangeSingle{}, ""},
		{"one of each type, single spaces", []ConfChangeSingle{
			{Type: ConfChangeAddNode, NodeID: 1},
			{Type: ConfChangeAddLearnerNode, NodeID: 2},
			{Type: ConfChangeRemoveNode, NodeID: 3},
			{Type: ConfChangeUpdateNode, NodeID: 4},
		}, "v1 l2 r3 u4"},
		{"undefined type", []ConfChangeSingle{{Type: 9, NodeID: 5}, {NodeID: 6}}, "unknown5 v6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ConfChangesToString(tt.in)
			assert.Equal(t, tt.want, got, "got %q, want %q", got, tt.want)
		})
	}
}

func TestConfChangesStringRoundTrip(t *testing.T) {
	t.Run("from string to changes and back", func(t *testing.T) {
		for _, s := range []string{"", "v1", "v1 l2 r3 u4", "r18446744073709551615 v0 v0 l7"} {
			ccs, err := ConfChangesFromString(s)
			require.NoError(t, err)
			got := ConfChangesToString(ccs)
			assert.Equal(t, s, got, "got %q, want %q", got, s)
		}
	})
	t.Run("from changes to string and back", func(t *testing.T) {
		types := []ConfChangeType{ConfChangeAddNode, ConfChangeAddLearnerNode, ConfChangeRemoveNode, ConfChangeUpdateNode}
		var ccs []ConfChangeSingle
		for i := range 40 {
			ccs = append(ccs, ConfChangeSingle{Type: types[i%len(types)], NodeID: uint64(i) * 0x0123456789abcdef})
		}
		got, err := ConfChangesFromString(ConfChangesToString(ccs))
		require.NoError(t, err)
		assert.Equal(t, ccs, got)
	})
}
