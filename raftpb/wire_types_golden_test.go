package raftpb

// wireMessage is the generated encoding API shared by every wire type.
type wireMessage interface {
	Marshal() ([]byte, error)
	MarshalTo([]byte) (int, error)
	Unmarshal([]byte) error
	Size() int
}

// typeGolden is a value of a wire type other than Message and its encoding as
// hex byte groups, worked out by hand like messageGoldens.
type typeGolden struct {
	name string
	msg  wireMessage
	wire []string
}

// jointConfState is a joint configuration that uses every ConfState field:
// voters {1,2,3} joint with outgoing {1,2,5}, learner 4, and 5 becoming a
// learner when the joint configuration is left.
func jointConfState() ConfState {
	return ConfState{
		Voters:         []uint64{1, 2, 3},
		Learners:       []uint64{4},
		VotersOutgoing: []uint64{1, 2, 5},
		LearnersNext:   []uint64{5},
		AutoLeave:      true,
	}
}

// jointConfStateWire is the 18-byte encoding of jointConfState.
var jointConfStateWire = []string{
	"08 01 08 02 08 03", // voters (field 1) 1, 2, 3: unpacked, one tag each
	"10 04",             // learners (field 2) 4
	"18 01 18 02 18 05", // voters_outgoing (field 3) 1, 2, 5
	"20 05",             // learners_next (field 4) 5
	"28 01",             // auto_leave (field 5) = true
}

// typeGoldens covers every wire type but Message.
var typeGoldens = []typeGolden{
	{
		name: "Entry",
		msg:  &Entry{Term: 5, Index: 300, Type: EntryConfChangeV2, Data: []byte("hi")},
		wire: []string{
			"08 02",       // Type (field 1) = EntryConfChangeV2
			"10 05",       // Term (field 2) = 5
			"18 ac 02",    // Index (field 3) = 300
			"22 02 68 69", // Data (field 4, length-delimited) = "hi"
		},
	},
	{
		name: "zero Entry",
		msg:  &Entry{},
		wire: []string{"08 00 10 00 18 00"}, // Type, Term, Index always written; nil Data omitted
	},
	{
		name: "HardState",
		msg:  &HardState{Term: 7, Vote: 2, Commit: 1000},
		wire: []string{
			"08 07",    // term (field 1) = 7
			"10 02",    // vote (field 2) = 2
			"18 e8 07", // commit (field 3) = 1000
		},
	},
	{
		name: "zero HardState",
		msg:  &HardState{},
		wire: []string{"08 00 10 00 18 00"}, // all three fields always written
	},
	{
		name: "ConfState of a joint configuration",
		msg:  func() *ConfState { cs := jointConfState(); return &cs }(),
		wire: jointConfStateWire,
	},
	{
		name: "ConfState keeps the order of its ids",
		msg:  &ConfState{Voters: []uint64{300, 1}},
		wire: []string{
			"08 ac 02", // voters 300
			"08 01",    // voters 1
			"28 00",    // auto_leave = false
		},
	},
	{
		name: "zero ConfState",
		msg:  &ConfState{},
		wire: []string{"28 00"}, // only auto_leave is always written
	},
	{
		name: "ConfChange",
		msg:  &ConfChange{ID: 3, Type: ConfChangeAddLearnerNode, NodeID: 4, Context: []byte("c")},
		wire: []string{
			"08 03",    // id (field 1) = 3
			"10 03",    // type (field 2) = 3 ConfChangeAddLearnerNode
			"18 04",    // node_id (field 3) = 4
			"22 01 63", // context (field 4) = "c"
		},
	},
	{
		name: "zero ConfChange",
		msg:  &ConfChange{},
		wire: []string{"08 00 10 00 18 00"}, // id, type, node_id always written
	},
	{
		name: "ConfChangeSingle",
		msg:  &ConfChangeSingle{Type: ConfChangeRemoveNode, NodeID: 300},
		wire: []string{
			"08 01",    // type (field 1) = 1 ConfChangeRemoveNode
			"10 ac 02", // node_id (field 2) = 300
		},
	},
	{
		name: "ConfChangeV2",
		msg: &ConfChangeV2{
			Transition: ConfChangeTransitionJointExplicit,
			Changes: []ConfChangeSingle{
				{Type: ConfChangeAddNode, NodeID: 2},
				{Type: ConfChangeRemoveNode, NodeID: 3},
				{Type: ConfChangeAddLearnerNode, NodeID: 300},
			},
			Context: []byte("ctx"),
		},
		wire: []string{
			"08 02",          // transition (field 1) = 2 JointExplicit
			"12 04",          // changes[0] (field 2), 4 bytes:
			"08 00 10 02",    //   AddNode 2
			"12 04",          // changes[1], 4 bytes:
			"08 01 10 03",    //   RemoveNode 3
			"12 05",          // changes[2], 5 bytes:
			"08 03 10 ac 02", //   AddLearnerNode 300
			"1a 03 63 74 78", // context (field 3) = "ctx"
		},
	},
	{
		name: "zero ConfChangeV2",
		msg:  &ConfChangeV2{},
		wire: []string{"08 00"}, // only transition is always written
	},
	{
		name: "SnapshotMetadata",
		msg:  &SnapshotMetadata{ConfState: jointConfState(), Index: 1000, Term: 7},
		wire: concat(
			[]string{"0a 12"}, // conf_state (field 1), 18 bytes:
			jointConfStateWire,
			[]string{
				"10 e8 07", // index (field 2) = 1000
				"18 07",    // term (field 3) = 7
			},
		),
	},
	{
		name: "Snapshot",
		msg: &Snapshot{
			Data:     []byte("snap"),
			Metadata: SnapshotMetadata{ConfState: jointConfState(), Index: 1000, Term: 7},
		},
		wire: concat(
			[]string{
				"0a 04 73 6e 61 70", // data (field 1) = "snap"
				"12 19",             // metadata (field 2), 25 bytes:
				"0a 12",             //   conf_state, 18 bytes:
			},
			jointConfStateWire,
			[]string{
				"10 e8 07", //   index = 1000
				"18 07",    //   term = 7
			},
		),
	},
	{
		name: "zero Snapshot",
		msg:  &Snapshot{},
		wire: []string{
			"12 08", // metadata (field 2, non-nullable so always written), 8 bytes:
			"0a 02", //   conf_state, 2 bytes:
			"28 00", //     auto_leave = false
			"10 00", //   index = 0
			"18 00", //   term = 0
		},
	},
}

// concat joins groups of hex byte groups.
func concat(parts ...[]string) []string {
	var all []string
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}
