package raft

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	pb "github.com/quorate/raft/raftpb"
)

func TestDescribeOddInput(t *testing.T) {
	tests := []struct {
		name string
		got  func() string
		want string
	}{
		{"undecodable ConfChangeV2", func() string {
			return DescribeEntry(pb.Entry{Term: 1, Index: 2, Type: pb.EntryConfChangeV2, Data: []byte{0x0a}}, nil)
		}, "1/2 EntryConfChangeV2 <undecodable: "},
		{"unknown entry type shows its data", func() string {
			return DescribeEntry(pb.Entry{Term: 1, Index: 2, Type: 7, Data: []byte("d")}, nil)
		}, `1/2 7 "d"`},
		{"unknown conf change type", func() string {
			return DescribeEntry(describeCCEntry(t, 1, 3, pb.ConfChangeV2{Changes: []pb.ConfChangeSingle{{Type: 9, NodeID: 2}}}), nil)
		}, "1/3 EntryConfChangeV2 unknown2"},
		{"unknown conf change transition", func() string {
			return DescribeEntry(describeCCEntry(t, 1, 4, pb.ConfChangeV2{Transition: 5}), nil)
		}, "1/4 EntryConfChangeV2 5"},
		{"unknown message type", func() string {
			return DescribeMessage(pb.Message{Type: 99, From: 1, To: 2}, nil)
		}, "1->2 99 Term:0 Log:0/0"},
		{"negative message type", func() string {
			return DescribeMessage(pb.Message{Type: -1, From: 1, To: 2}, nil)
		}, "1->2 -1 Term:0 Log:0/0"},
		{"unknown raft state", func() string {
			return DescribeSoftState(SoftState{Lead: 3, RaftState: 42})
		}, "Lead:3 State:StateType(42)"},
		{"nil snapshot in a message", func() string {
			return DescribeMessage(pb.Message{Type: pb.MsgSnap, From: 1, To: 2, Snapshot: nil}, nil)
		}, "1->2 MsgSnap Term:0 Log:0/0"},
		{"empty Ready", func() string { return DescribeReady(Ready{}, nil) }, "<empty Ready>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.got()
			assert.True(t, strings.HasPrefix(got, tt.want), "got %q, want it to start with %q", got, tt.want)
		})
	}
}

// FuzzDescribeEntry feeds arbitrary bytes to the Describe helpers as the
// data of every entry type: they decode conf changes, and must describe
// what does not decode rather than panic.
func FuzzDescribeEntry(f *testing.F) {
	cc, err := (&pb.ConfChange{Type: pb.ConfChangeAddNode, NodeID: 2, Context: []byte("c")}).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	cc2, err := (&pb.ConfChangeV2{Transition: pb.ConfChangeTransitionJointExplicit,
		Changes: []pb.ConfChangeSingle{{Type: pb.ConfChangeRemoveNode, NodeID: 3}}}).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{nil, {0xff}, {0x0a}, {0x08, 0x80}, cc, cc2} {
		f.Add(int32(pb.EntryConfChange), seed)
		f.Add(int32(pb.EntryConfChangeV2), seed)
	}
	f.Fuzz(func(t *testing.T, typ int32, data []byte) {
		e := pb.Entry{Term: 1, Index: 1, Type: pb.EntryType(typ), Data: data}
		prefix := "1/1 " + e.Type.String()
		if got := DescribeEntry(e, nil); !strings.HasPrefix(got, prefix) {
			t.Errorf("got %q, want it to start with %q", got, prefix)
		}
		m := pb.Message{Type: pb.MsgApp, Entries: []pb.Entry{e}, Context: data}
		if got := DescribeMessage(m, nil); !strings.HasPrefix(got, "0->0 MsgApp") {
			t.Errorf("got %q, want it to start with %q", got, "0->0 MsgApp")
		}
		rd := Ready{Entries: []pb.Entry{e}, CommittedEntries: []pb.Entry{e}, Messages: []pb.Message{m}}
		if got := DescribeReady(rd, nil); !strings.HasPrefix(got, "Entries:\n") {
			t.Errorf("got %q, want it to start with %q", got, "Entries:\n")
		}
	})
}
