package raft

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pb "github.com/quorate/raft/raftpb"
)

// describeCCEntry encodes cc into an entry at term/index.
func describeCCEntry(t testing.TB, term, index uint64, cc pb.ConfChangeI) pb.Entry {
	t.Helper()
	typ, data, err := pb.MarshalConfChange(cc)
	require.NoError(t, err)
	return pb.Entry{Term: term, Index: index, Type: typ, Data: data}
}

func upperFormatter(data []byte) string { return strings.ToUpper(string(data)) }

func TestDescribeHardState(t *testing.T) {
	tests := []struct {
		name string
		st   pb.HardState
		want string
	}{
		{"zero", pb.HardState{}, "Term:0 Commit:0"},
		{"with vote", pb.HardState{Term: 3, Vote: 2, Commit: 7}, "Term:3 Vote:2 Commit:7"},
		{"vote in hex", pb.HardState{Term: 12, Vote: 255, Commit: 10}, "Term:12 Vote:ff Commit:10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DescribeHardState(tt.st)
			assert.Equal(t, tt.want, got, "got %q, want %q", got, tt.want)
		})
	}
}

func TestDescribeSoftState(t *testing.T) {
	got := DescribeSoftState(SoftState{Lead: 0xab, RaftState: StateLeader})
	want := "Lead:ab State:StateLeader"
	assert.Equal(t, want, got, "got %q, want %q", got, want)
}

func TestDescribeConfState(t *testing.T) {
	tests := []struct {
		name string
		cs   pb.ConfState
		want string
	}{
		{"empty", pb.ConfState{}, "Voters:[] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false"},
		{"simple", pb.ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{4}},
			"Voters:[1 2 3] VotersOutgoing:[] Learners:[4] LearnersNext:[] AutoLeave:false"},
		{"joint", pb.ConfState{
			Voters:         []uint64{1, 2, 10},
			VotersOutgoing: []uint64{1, 2, 3},
			LearnersNext:   []uint64{3},
			AutoLeave:      true,
		}, "Voters:[1 2 a] VotersOutgoing:[1 2 3] Learners:[] LearnersNext:[3] AutoLeave:true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DescribeConfState(tt.cs)
			assert.Equal(t, tt.want, got, "got %q, want %q", got, tt.want)
		})
	}
}

func TestDescribeSnapshot(t *testing.T) {
	snap := pb.Snapshot{
		Data: []byte("not shown"),
		Metadata: pb.SnapshotMetadata{
			Index:     11,
			Term:      3,
			ConfState: pb.ConfState{Voters: []uint64{1, 2}},
		},
	}
	got := DescribeSnapshot(snap)
	want := "Index:11 Term:3 ConfState:Voters:[1 2] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false"
	assert.Equal(t, want, got, "got %q, want %q", got, want)
}

func TestDescribeEntry(t *testing.T) {
	tests := []struct {
		name string
		e    pb.Entry
		f    EntryFormatter
		want string
	}{
		{"normal entry quoted", pb.Entry{Term: 2, Index: 5, Data: []byte("put x=1")}, nil,
			`2/5 EntryNormal "put x=1"`},
		{"empty normal entry", pb.Entry{Term: 2, Index: 6}, nil, `2/6 EntryNormal ""`},
		{"binary data escaped", pb.Entry{Term: 1, Index: 1, Data: []byte{0, 'a', 0xff}}, nil,
			`1/1 EntryNormal "\x00a\xff"`},
		{"formatter", pb.Entry{Term: 2, Index: 5, Data: []byte("put x=1")}, upperFormatter,
			`2/5 EntryNormal PUT X=1`},
		{"formatter returning nothing", pb.Entry{Term: 2, Index: 5}, upperFormatter, `2/5 EntryNormal`},
		{"conf change v1", describeCCEntry(t, 3, 9, pb.ConfChange{Type: pb.ConfChangeAddNode, NodeID: 4}), upperFormatter,
			`3/9 EntryConfChange v4`},
		{"conf change v1 removal", describeCCEntry(t, 3, 9, pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 2}), nil,
			`3/9 EntryConfChange r2`},
		{"conf change v2 auto", describeCCEntry(t, 3, 10, pb.ConfChangeV2{Changes: []pb.ConfChangeSingle{
			{Type: pb.ConfChangeAddNode, NodeID: 4},
			{Type: pb.ConfChangeAddLearnerNode, NodeID: 5},
		}}), nil, `3/10 EntryConfChangeV2 v4 l5`},
		{"conf change v2 explicit", describeCCEntry(t, 3, 10, pb.ConfChangeV2{
			Transition: pb.ConfChangeTransitionJointExplicit,
			Changes:    []pb.ConfChangeSingle{{Type: pb.ConfChangeRemoveNode, NodeID: 1}},
		}), nil, `3/10 EntryConfChangeV2 r1 JointExplicit`},
		{"conf change v2 leaving joint", pb.Entry{Term: 3, Index: 11, Type: pb.EntryConfChangeV2}, nil,
			`3/11 EntryConfChangeV2`},
		{"undecodable conf change", pb.Entry{Term: 3, Index: 12, Type: pb.EntryConfChange, Data: []byte{0xff}}, nil,
			`3/12 EntryConfChange <undecodable: ` + describeUndecodableErr(t, []byte{0xff}) + `>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DescribeEntry(tt.e, tt.f)
			assert.Equal(t, tt.want, got, "got %q, want %q", got, tt.want)
		})
	}
}

// describeUndecodableErr returns the error text that decoding data as a ConfChange
// gives, so the golden string does not depend on raftpb's wording.
func describeUndecodableErr(t testing.TB, data []byte) string {
	var cc pb.ConfChange
	err := cc.Unmarshal(data)
	require.Error(t, err, "got no error, want one")
	return err.Error()
}

func TestDescribeEntries(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		got := DescribeEntries(nil, nil)
		assert.Equal(t, "", got, "got %q, want %q", got, "")
	})
	t.Run("one line per entry", func(t *testing.T) {
		ents := []pb.Entry{
			{Term: 1, Index: 1, Data: []byte("a")},
			describeCCEntry(t, 1, 2, pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 3}),
		}
		got := DescribeEntries(ents, nil)
		want := "1/1 EntryNormal \"a\"\n1/2 EntryConfChange l3\n"
		assert.Equal(t, want, got, "got %q, want %q", got, want)
	})
}

func TestDescribeMessage(t *testing.T) {
	snap := &pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 20, Term: 4, ConfState: pb.ConfState{Voters: []uint64{1, 2, 3}}}}
	tests := []struct {
		name string
		m    pb.Message
		f    EntryFormatter
		want string
	}{
		{"heartbeat", pb.Message{From: 1, To: 2, Type: pb.MsgHeartbeat, Term: 3, Commit: 8}, nil,
			"1->2 MsgHeartbeat Term:3 Log:0/0 Commit:8"},
		{"append with entries", pb.Message{From: 1, To: 3, Type: pb.MsgApp, Term: 3, LogTerm: 2, Index: 5, Commit: 5,
			Entries: []pb.Entry{{Term: 3, Index: 6, Data: []byte("x")}, {Term: 3, Index: 7, Data: []byte("y")}}}, nil,
			`1->3 MsgApp Term:3 Log:2/5 Commit:5 Entries:[3/6 EntryNormal "x", 3/7 EntryNormal "y"]`},
		{"entries through formatter", pb.Message{From: 1, To: 3, Type: pb.MsgApp, Term: 3, LogTerm: 2, Index: 5,
			Entries: []pb.Entry{{Term: 3, Index: 6, Data: []byte("x")}}}, upperFormatter,
			`1->3 MsgApp Term:3 Log:2/5 Entries:[3/6 EntryNormal X]`},
		{"rejected append response", pb.Message{From: 3, To: 1, Type: pb.MsgAppResp, Term: 3, LogTerm: 1, Index: 7,
			Reject: true, RejectHint: 4}, nil,
			"3->1 MsgAppResp Term:3 Log:1/7 Rejected Hint:4"},
		{"rejection with hint zero", pb.Message{From: 3, To: 1, Type: pb.MsgVoteResp, Term: 5, Reject: true}, nil,
			"3->1 MsgVoteResp Term:5 Log:0/0 Rejected Hint:0"},
		{"vote with transfer context", pb.Message{From: 2, To: 3, Type: pb.MsgVote, Term: 4, LogTerm: 3, Index: 9,
			Context: []byte("CampaignTransfer")}, nil,
			`2->3 MsgVote Term:4 Log:3/9 Context:"CampaignTransfer"`},
		{"ids in hex", pb.Message{From: 0x1a, To: 0xff, Type: pb.MsgPreVoteResp, Term: 2}, nil,
			"1a->ff MsgPreVoteResp Term:2 Log:0/0"},
		{"snapshot", pb.Message{From: 1, To: 2, Type: pb.MsgSnap, Term: 4, Snapshot: snap}, nil,
			"1->2 MsgSnap Term:4 Log:0/0 Snapshot:Index:20 Term:4 ConfState:Voters:[1 2 3] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false"},
		{"empty snapshot omitted", pb.Message{From: 1, To: 2, Type: pb.MsgApp, Term: 4, Snapshot: &pb.Snapshot{}}, nil,
			"1->2 MsgApp Term:4 Log:0/0"},
		{"storage append with responses", pb.Message{
			From: 1, To: LocalAppendThread, Type: pb.MsgStorageAppend, Term: 2, Vote: 1, Commit: 3, LogTerm: 2, Index: 4,
			Entries: []pb.Entry{{Term: 2, Index: 4, Data: []byte("z")}},
			Responses: []pb.Message{
				{From: LocalAppendThread, To: 1, Type: pb.MsgStorageAppendResp, Term: 2, LogTerm: 2, Index: 4},
				{From: 1, To: 2, Type: pb.MsgAppResp, Term: 2, Index: 4},
			},
		}, nil,
			`1->AppendThread MsgStorageAppend Term:2 Log:2/4 Commit:3 Vote:1 Entries:[2/4 EntryNormal "z"] ` +
				`Responses:[AppendThread->1 MsgStorageAppendResp Term:2 Log:2/4, 1->2 MsgAppResp Term:2 Log:0/4]`},
		{"storage apply names the apply thread", pb.Message{From: 1, To: LocalApplyThread, Type: pb.MsgStorageApply,
			Responses: []pb.Message{{From: LocalApplyThread, To: 1, Type: pb.MsgStorageApplyResp}}}, nil,
			`1->ApplyThread MsgStorageApply Term:0 Log:0/0 Responses:[ApplyThread->1 MsgStorageApplyResp Term:0 Log:0/0]`},
		{"conf change entry", pb.Message{From: 1, To: 1, Type: pb.MsgProp,
			Entries: []pb.Entry{describeCCEntry(t, 0, 0, pb.ConfChangeV2{
				Transition: pb.ConfChangeTransitionJointImplicit,
				Changes:    []pb.ConfChangeSingle{{Type: pb.ConfChangeAddNode, NodeID: 2}, {Type: pb.ConfChangeAddNode, NodeID: 3}},
			})}}, nil,
			`1->1 MsgProp Term:0 Log:0/0 Entries:[0/0 EntryConfChangeV2 v2 v3 JointImplicit]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DescribeMessage(tt.m, tt.f)
			assert.Equal(t, tt.want, got, "got %q, want %q", got, tt.want)
		})
	}
}

func TestDescribeReady(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		got := DescribeReady(Ready{}, nil)
		assert.Equal(t, "<empty Ready>", got, "got %q, want %q", got, "<empty Ready>")
	})
	t.Run("every section", func(t *testing.T) {
		rd := Ready{
			SoftState: &SoftState{Lead: 1, RaftState: StateLeader},
			HardState: pb.HardState{Term: 2, Vote: 1, Commit: 3},
			ReadStates: []ReadState{
				{Index: 3, RequestCtx: []byte("req-1")},
			},
			Entries: []pb.Entry{{Term: 2, Index: 4, Data: []byte("b")}},
			Snapshot: pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 2, Term: 1,
				ConfState: pb.ConfState{Voters: []uint64{1}}}},
			CommittedEntries: []pb.Entry{
				{Term: 2, Index: 3},
				describeCCEntry(t, 2, 4, pb.ConfChange{Type: pb.ConfChangeAddNode, NodeID: 2}),
			},
			Messages: []pb.Message{
				{From: 1, To: 2, Type: pb.MsgApp, Term: 2, LogTerm: 2, Index: 3, Commit: 3,
					Entries: []pb.Entry{{Term: 2, Index: 4, Data: []byte("b")}}},
			},
			MustSync: true,
		}
		got := DescribeReady(rd, nil)
		want := `HardState Term:2 Vote:1 Commit:3
SoftState Lead:1 State:StateLeader
ReadStates:
  Index:3 RequestCtx:"req-1"
Entries:
  2/4 EntryNormal "b"
Snapshot Index:2 Term:1 ConfState:Voters:[1] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false
CommittedEntries:
  2/3 EntryNormal ""
  2/4 EntryConfChange v2
Messages:
  1->2 MsgApp Term:2 Log:2/3 Commit:3 Entries:[2/4 EntryNormal "b"]
MustSync
`
		assert.Equal(t, want, got, "got\n%s\nwant\n%s", got, want)
	})
	t.Run("only messages, formatter used for request contexts", func(t *testing.T) {
		rd := Ready{
			ReadStates: []ReadState{{Index: 9, RequestCtx: []byte("ctx")}},
			Messages:   []pb.Message{{From: 2, To: 1, Type: pb.MsgHeartbeatResp, Term: 5}},
		}
		got := DescribeReady(rd, upperFormatter)
		want := "ReadStates:\n  Index:9 RequestCtx:CTX\nMessages:\n  2->1 MsgHeartbeatResp Term:5 Log:0/0\n"
		assert.Equal(t, want, got, "got\n%s\nwant\n%s", got, want)
	})
}

// TestDescribeUnknownOrMalformedInput checks that the Describe helpers
// render what they cannot decode or do not know - undecodable conf
// changes, unknown entry, message, conf change and state types, a missing
// snapshot, an empty Ready - as text rather than panicking or dropping it.
func TestDescribeUnknownOrMalformedInput(t *testing.T) {
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

// BenchmarkDescribeMessage measures rendering a typical append. The builder
// is sized up front and numbers, IDs and quoted data are written without
// intermediate strings, so the result string should be the only allocation.
func BenchmarkDescribeMessage(b *testing.B) {
	m := pb.Message{From: 1, To: 2, Type: pb.MsgApp, Term: 3, LogTerm: 3, Index: 100, Commit: 99}
	for i := range 4 {
		m.Entries = append(m.Entries, pb.Entry{Term: 3, Index: uint64(101 + i), Data: []byte(fmt.Sprintf("value-%d", i))})
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = DescribeMessage(m, nil)
	}
}
