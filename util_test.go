package raft

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// TestMessageClassification lists every MessageType of the wire format with
// its expected class, so that a type added to raftpb without a decision here
// fails the completeness check below.
func TestMessageClassification(t *testing.T) {
	tests := []struct {
		typ      pb.MessageType
		local    bool
		response bool
	}{
		{pb.MsgHup, true, false},
		{pb.MsgBeat, true, false},
		{pb.MsgProp, false, false},
		{pb.MsgApp, false, false},
		{pb.MsgAppResp, false, true},
		{pb.MsgVote, false, false},
		{pb.MsgVoteResp, false, true},
		{pb.MsgSnap, false, false},
		{pb.MsgHeartbeat, false, false},
		{pb.MsgHeartbeatResp, false, true},
		{pb.MsgUnreachable, true, true},
		{pb.MsgSnapStatus, true, false},
		{pb.MsgCheckQuorum, true, false},
		{pb.MsgTransferLeader, false, false},
		{pb.MsgTimeoutNow, false, false},
		{pb.MsgReadIndex, false, false},
		{pb.MsgReadIndexResp, false, true},
		{pb.MsgPreVote, false, false},
		{pb.MsgPreVoteResp, false, true},
		{pb.MsgStorageAppend, true, false},
		{pb.MsgStorageAppendResp, true, true},
		{pb.MsgStorageApply, true, false},
		{pb.MsgStorageApplyResp, true, true},
		{pb.MsgForgetLeader, false, false},
	}
	t.Run("every wire type is listed", func(t *testing.T) {
		require.Len(t, tests, len(pb.MessageType_name), "listed types: got %d, want all %d", len(tests), len(pb.MessageType_name))
		for i, tt := range tests {
			assert.Equal(t, pb.MessageType(i), tt.typ, "got %v at position %d, want %v", tt.typ, i, pb.MessageType(i))
		}
	})
	for _, tt := range tests {
		t.Run(tt.typ.String(), func(t *testing.T) {
			assert.Equal(t, tt.local, IsLocalMsg(tt.typ), "IsLocalMsg: got %v, want %v", IsLocalMsg(tt.typ), tt.local)
			assert.Equal(t, tt.response, IsResponseMsg(tt.typ), "IsResponseMsg: got %v, want %v", IsResponseMsg(tt.typ), tt.response)
		})
	}
	t.Run("unknown types are neither local nor responses", func(t *testing.T) {
		for _, typ := range []pb.MessageType{-1, pb.MsgForgetLeader + 1, math.MaxInt32, math.MinInt32} {
			assert.False(t, IsLocalMsg(typ), "IsLocalMsg(%d): got true, want false", typ)
			assert.False(t, IsResponseMsg(typ), "IsResponseMsg(%d): got true, want false", typ)
		}
	})
}

func TestIsLocalMsgTarget(t *testing.T) {
	tests := []struct {
		name string
		id   uint64
		want bool
	}{
		{"append thread", LocalAppendThread, true},
		{"apply thread", LocalApplyThread, true},
		{"none", None, false},
		{"peer", 1, false},
		{"just below the apply thread", LocalApplyThread - 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := IsLocalMsgTarget(tt.id)
			assert.Equal(t, tt.want, got, "got %v, want %v", got, tt.want)
		})
	}
}

func TestIsEmptyHardState(t *testing.T) {
	tests := []struct {
		name string
		st   pb.HardState
		want bool
	}{
		{"zero", pb.HardState{}, true},
		{"term", pb.HardState{Term: 1}, false},
		{"vote", pb.HardState{Vote: 1}, false},
		{"commit", pb.HardState{Commit: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := IsEmptyHardState(tt.st)
			assert.Equal(t, tt.want, got, "got %v, want %v", got, tt.want)
		})
	}
}

func TestIsEmptySnap(t *testing.T) {
	tests := []struct {
		name string
		snap pb.Snapshot
		want bool
	}{
		{"zero", pb.Snapshot{}, true},
		{"data but index 0", pb.Snapshot{Data: []byte("x"), Metadata: pb.SnapshotMetadata{Term: 1}}, true},
		{"index", pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 1, Term: 1}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := IsEmptySnap(tt.snap)
			assert.Equal(t, tt.want, got, "got %v, want %v", got, tt.want)
		})
	}
}

func TestMustSync(t *testing.T) {
	prev := pb.HardState{Term: 2, Vote: 1, Commit: 5}
	tests := []struct {
		name    string
		st      pb.HardState
		entsnum int
		want    bool
	}{
		{"nothing changed", prev, 0, false},
		{"commit advanced only", pb.HardState{Term: 2, Vote: 1, Commit: 9}, 0, false},
		{"new entries", prev, 1, true},
		{"new entries and commit", pb.HardState{Term: 2, Vote: 1, Commit: 9}, 3, true},
		{"vote changed", pb.HardState{Term: 2, Vote: 3, Commit: 5}, 0, true},
		{"term changed", pb.HardState{Term: 3, Vote: 1, Commit: 5}, 0, true},
		{"term changed and vote reset", pb.HardState{Term: 3, Commit: 5}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MustSync(tt.st, prev, tt.entsnum)
			assert.Equal(t, tt.want, got, "got %v, want %v", got, tt.want)
		})
	}
}

func TestVoteRespMsgType(t *testing.T) {
	t.Run("vote", func(t *testing.T) {
		got := voteRespMsgType(pb.MsgVote)
		assert.Equal(t, pb.MsgVoteResp, got, "got %v, want %v", got, pb.MsgVoteResp)
	})
	t.Run("pre-vote", func(t *testing.T) {
		got := voteRespMsgType(pb.MsgPreVote)
		assert.Equal(t, pb.MsgPreVoteResp, got, "got %v, want %v", got, pb.MsgPreVoteResp)
	})
	t.Run("other types panic naming the type", func(t *testing.T) {
		assert.PanicsWithValue(t,
			"raft: invariant violated: voteRespMsgType: MsgApp is not a vote request",
			func() { voteRespMsgType(pb.MsgApp) }, "want a panic for a type that is not a vote request")
	})
}

// TestMsgClassAgreesWithClassification checks the one-lookup table RawNode.Step
// classifies messages with against IsLocalMsg and IsResponseMsg for every
// message type and for values a malformed message from the wire may carry:
// negative, just past the last type, past a 32-bit shift, and the extremes.
func TestMsgClassAgreesWithClassification(t *testing.T) {
	var types []pb.MessageType
	for v := int32(-5); v < int32(numMessageTypes)+70; v++ {
		types = append(types, pb.MessageType(v))
	}
	types = append(types, pb.MessageType(math.MaxInt32), pb.MessageType(math.MinInt32))
	for _, typ := range types {
		t.Run(fmt.Sprintf("type=%d", int32(typ)), func(t *testing.T) {
			c := msgClass(typ)
			if got, want := c&classLocal != 0, IsLocalMsg(typ); got != want {
				t.Errorf("got local %v, want %v", got, want)
			}
			if got, want := c&classResponse != 0, IsResponseMsg(typ); got != want {
				t.Errorf("got response %v, want %v", got, want)
			}
		})
	}
}
