package raftpb

import "math"

// The golden encodings below are worked out by hand from the protobuf wire
// rules, never produced by Marshal, so that they check the generated code
// against the format rather than against itself:
//
//   - a field starts with the varint tag field<<3|wiretype, where wiretype is 0
//     for varints (integers, enums, bools) and 2 for length-delimited values
//     (bytes, embedded messages), which are followed by a varint length;
//   - a varint is little-endian base 128, 7 bits per byte, high bit set on all
//     bytes but the last (300 = 0b10_0101100 = ac 02);
//   - proto2 non-nullable scalars are always written, even when zero;
//   - nil []byte and nil pointer fields are omitted, an empty non-nil []byte
//     is written with length 0;
//   - repeated uint64 fields are not packed: one tag per element;
//   - fields are written in field number order.
//
// Message tags: 08 type, 10 to, 18 from, 20 term, 28 logTerm, 30 index,
// 3a entries, 40 commit, 4a snapshot, 50 reject, 58 rejectHint, 62 context,
// 68 vote, 72 responses. Fields 1-6, 8, 10, 11 and 13 are always written.

// Local storage thread IDs as used by MsgStorageAppend/MsgStorageApply: the
// largest uint64 and the one below it.
const (
	appendThread = math.MaxUint64     // varint ff ff ff ff ff ff ff ff ff 01
	applyThread  = math.MaxUint64 - 1 // varint fe ff ff ff ff ff ff ff ff 01
)

// messageGolden is a Message and its encoding as hex byte groups.
type messageGolden struct {
	name string
	msg  Message
	wire []string
}

// messageGoldens holds at least one golden for every MessageType.
var messageGoldens = []messageGolden{
	{
		name: "zero Message",
		msg:  Message{},
		wire: []string{
			"08 00", "10 00", "18 00", "20 00", "28 00", "30 00", // fields 1-6 = 0
			"40 00", "50 00", "58 00", "68 00", // commit, reject, rejectHint, vote = 0
		},
	},
	{
		name: "MsgHup",
		msg:  Message{Type: MsgHup, To: 1, From: 1},
		wire: []string{
			"08 00",             // type = 0 MsgHup
			"10 01",             // to = 1
			"18 01",             // from = 1
			"20 00 28 00 30 00", // term, logTerm, index = 0
			"40 00 50 00 58 00", // commit, reject, rejectHint = 0
			"68 00",             // vote = 0
		},
	},
	{
		name: "MsgBeat",
		msg:  Message{Type: MsgBeat, To: 1, From: 1},
		wire: []string{
			"08 01",             // type = 1 MsgBeat
			"10 01 18 01",       // to = 1, from = 1
			"20 00 28 00 30 00", // term, logTerm, index = 0
			"40 00 50 00 58 00", // commit, reject, rejectHint = 0
			"68 00",             // vote = 0
		},
	},
	{
		name: "MsgProp",
		msg:  Message{Type: MsgProp, To: 1, From: 2, Entries: []Entry{{Data: []byte("foo")}}},
		wire: []string{
			"08 02",             // type = 2 MsgProp
			"10 01 18 02",       // to = 1, from = 2
			"20 00 28 00 30 00", // term, logTerm, index = 0
			"3a 0b",             // entries[0], 11 bytes:
			"08 00 10 00 18 00", //   Type, Term, Index = 0
			"22 03 66 6f 6f",    //   Data = "foo"
			"40 00 50 00 58 00", // commit, reject, rejectHint = 0
			"68 00",             // vote = 0
		},
	},
	{
		name: "MsgApp with several entries",
		msg: Message{
			Type: MsgApp, To: 2, From: 1, Term: 5, LogTerm: 4, Index: 300, Commit: 299,
			Entries: []Entry{
				{Term: 5, Index: 301, Data: []byte("a")},
				{Term: 5, Index: 302, Type: EntryConfChange},
				{Term: 5, Index: 303, Type: EntryConfChangeV2, Data: []byte{}},
			},
		},
		wire: []string{
			"08 03",       // type = 3 MsgApp
			"10 02 18 01", // to = 2, from = 1
			"20 05",       // term = 5
			"28 04",       // logTerm = 4
			"30 ac 02",    // index = 300 (0x2c|0x80, 300>>7 = 2)
			"3a 0a",       // entries[0], 10 bytes:
			"08 00",       //   Type = EntryNormal
			"10 05",       //   Term = 5
			"18 ad 02",    //   Index = 301
			"22 01 61",    //   Data = "a"
			"3a 07",       // entries[1], 7 bytes:
			"08 01",       //   Type = EntryConfChange
			"10 05",       //   Term = 5
			"18 ae 02",    //   Index = 302; nil Data omitted
			"3a 09",       // entries[2], 9 bytes:
			"08 02",       //   Type = EntryConfChangeV2
			"10 05",       //   Term = 5
			"18 af 02",    //   Index = 303
			"22 00",       //   Data = empty but non-nil, written with length 0
			"40 ab 02",    // commit = 299 (0x2b|0x80, 299>>7 = 2)
			"50 00 58 00", // reject, rejectHint = 0
			"68 00",       // vote = 0
		},
	},
	{
		name: "MsgAppResp rejected with a hint",
		msg: Message{
			Type: MsgAppResp, To: 1, From: 2, Term: 5, LogTerm: 3, Index: 300,
			Reject: true, RejectHint: 250,
		},
		wire: []string{
			"08 04",       // type = 4 MsgAppResp
			"10 01 18 02", // to = 1, from = 2
			"20 05",       // term = 5
			"28 03",       // logTerm = 3
			"30 ac 02",    // index = 300
			"40 00",       // commit = 0
			"50 01",       // reject = true
			"58 fa 01",    // rejectHint = 250 (0x7a|0x80, 250>>7 = 1)
			"68 00",       // vote = 0
		},
	},
	{
		name: "MsgVote for a leadership transfer",
		msg: Message{
			Type: MsgVote, To: 2, From: 1, Term: 6, LogTerm: 5, Index: 310,
			Context: []byte("CampaignTransfer"),
		},
		wire: []string{
			"08 05",             // type = 5 MsgVote
			"10 02 18 01",       // to = 2, from = 1
			"20 06",             // term = 6
			"28 05",             // logTerm = 5
			"30 b6 02",          // index = 310 (0x36|0x80, 310>>7 = 2)
			"40 00 50 00 58 00", // commit, reject, rejectHint = 0
			"62 10",             // context, 16 bytes:
			"43 61 6d 70 61 69 67 6e 54 72 61 6e 73 66 65 72", // "CampaignTransfer"
			"68 00", // vote = 0
		},
	},
	{
		name: "MsgVoteResp rejected",
		msg:  Message{Type: MsgVoteResp, To: 1, From: 2, Term: 6, Reject: true},
		wire: []string{
			"08 06",       // type = 6 MsgVoteResp
			"10 01 18 02", // to = 1, from = 2
			"20 06",       // term = 6
			"28 00 30 00", // logTerm, index = 0
			"40 00",       // commit = 0
			"50 01",       // reject = true
			"58 00 68 00", // rejectHint, vote = 0
		},
	},
	{
		name: "MsgSnap with a joint configuration",
		msg: Message{
			Type: MsgSnap, To: 3, From: 1, Term: 7,
			Snapshot: &Snapshot{
				Data: []byte("snap"),
				Metadata: SnapshotMetadata{
					ConfState: ConfState{
						Voters:         []uint64{1, 2, 3},
						Learners:       []uint64{4},
						VotersOutgoing: []uint64{1, 2, 5},
						LearnersNext:   []uint64{5},
						AutoLeave:      true,
					},
					Index: 1000,
					Term:  7,
				},
			},
		},
		wire: []string{
			"08 07",             // type = 7 MsgSnap
			"10 03 18 01",       // to = 3, from = 1
			"20 07",             // term = 7
			"28 00 30 00 40 00", // logTerm, index, commit = 0
			"4a 21",             // snapshot, 33 bytes:
			"0a 04 73 6e 61 70", //   data = "snap"
			"12 19",             //   metadata, 25 bytes:
			"0a 12",             //     conf_state, 18 bytes:
			"08 01 08 02 08 03", //       voters 1, 2, 3 (unpacked: one tag each)
			"10 04",             //       learners 4
			"18 01 18 02 18 05", //       voters_outgoing 1, 2, 5
			"20 05",             //       learners_next 5
			"28 01",             //       auto_leave = true
			"10 e8 07",          //     index = 1000 (0x68|0x80, 1000>>7 = 7)
			"18 07",             //     term = 7
			"50 00 58 00 68 00", // reject, rejectHint, vote = 0
		},
	},
	{
		name: "MsgHeartbeat with a read index context",
		msg:  Message{Type: MsgHeartbeat, To: 2, From: 1, Term: 7, Commit: 1000, Context: []byte("ctx")},
		wire: []string{
			"08 08",          // type = 8 MsgHeartbeat
			"10 02 18 01",    // to = 2, from = 1
			"20 07",          // term = 7
			"28 00 30 00",    // logTerm, index = 0
			"40 e8 07",       // commit = 1000
			"50 00 58 00",    // reject, rejectHint = 0
			"62 03 63 74 78", // context = "ctx"
			"68 00",          // vote = 0
		},
	},
	{
		name: "MsgHeartbeatResp",
		msg:  Message{Type: MsgHeartbeatResp, To: 1, From: 2, Term: 7, Context: []byte("ctx")},
		wire: []string{
			"08 09",             // type = 9 MsgHeartbeatResp
			"10 01 18 02",       // to = 1, from = 2
			"20 07",             // term = 7
			"28 00 30 00 40 00", // logTerm, index, commit = 0
			"50 00 58 00",       // reject, rejectHint = 0
			"62 03 63 74 78",    // context = "ctx"
			"68 00",             // vote = 0
		},
	},
	{
		name: "MsgUnreachable",
		msg:  Message{Type: MsgUnreachable, From: 3},
		wire: []string{
			"08 0a",             // type = 10 MsgUnreachable
			"10 00",             // to = 0
			"18 03",             // from = 3
			"20 00 28 00 30 00", // term, logTerm, index = 0
			"40 00 50 00 58 00", // commit, reject, rejectHint = 0
			"68 00",             // vote = 0
		},
	},
	{
		name: "MsgSnapStatus reporting a failure",
		msg:  Message{Type: MsgSnapStatus, From: 3, Reject: true},
		wire: []string{
			"08 0b",             // type = 11 MsgSnapStatus
			"10 00 18 03",       // to = 0, from = 3
			"20 00 28 00 30 00", // term, logTerm, index = 0
			"40 00",             // commit = 0
			"50 01",             // reject = true
			"58 00 68 00",       // rejectHint, vote = 0
		},
	},
	{
		name: "MsgCheckQuorum",
		msg:  Message{Type: MsgCheckQuorum, To: 1, From: 1},
		wire: []string{
			"08 0c",             // type = 12 MsgCheckQuorum
			"10 01 18 01",       // to = 1, from = 1
			"20 00 28 00 30 00", // term, logTerm, index = 0
			"40 00 50 00 58 00", // commit, reject, rejectHint = 0
			"68 00",             // vote = 0
		},
	},
	{
		name: "MsgTransferLeader",
		msg:  Message{Type: MsgTransferLeader, To: 1, From: 3, Term: 8},
		wire: []string{
			"08 0d",             // type = 13 MsgTransferLeader
			"10 01 18 03",       // to = 1, from = 3 (the transferee)
			"20 08",             // term = 8
			"28 00 30 00",       // logTerm, index = 0
			"40 00 50 00 58 00", // commit, reject, rejectHint = 0
			"68 00",             // vote = 0
		},
	},
	{
		name: "MsgTimeoutNow",
		msg:  Message{Type: MsgTimeoutNow, To: 3, From: 1, Term: 8},
		wire: []string{
			"08 0e",             // type = 14 MsgTimeoutNow
			"10 03 18 01",       // to = 3, from = 1
			"20 08",             // term = 8
			"28 00 30 00",       // logTerm, index = 0
			"40 00 50 00 58 00", // commit, reject, rejectHint = 0
			"68 00",             // vote = 0
		},
	},
	{
		name: "MsgReadIndex",
		msg:  Message{Type: MsgReadIndex, To: 1, From: 2, Entries: []Entry{{Data: []byte("rctx")}}},
		wire: []string{
			"08 0f",             // type = 15 MsgReadIndex
			"10 01 18 02",       // to = 1, from = 2
			"20 00 28 00 30 00", // term, logTerm, index = 0
			"3a 0c",             // entries[0], 12 bytes:
			"08 00 10 00 18 00", //   Type, Term, Index = 0
			"22 04 72 63 74 78", //   Data = "rctx" (the request context)
			"40 00 50 00 58 00", // commit, reject, rejectHint = 0
			"68 00",             // vote = 0
		},
	},
	{
		name: "MsgReadIndexResp",
		msg: Message{
			Type: MsgReadIndexResp, To: 2, From: 1, Term: 8, Index: 1000,
			Entries: []Entry{{Data: []byte("rctx")}},
		},
		wire: []string{
			"08 10",             // type = 16 MsgReadIndexResp
			"10 02 18 01",       // to = 2, from = 1
			"20 08",             // term = 8
			"28 00",             // logTerm = 0
			"30 e8 07",          // index = 1000 (the read index)
			"3a 0c",             // entries[0], 12 bytes:
			"08 00 10 00 18 00", //   Type, Term, Index = 0
			"22 04 72 63 74 78", //   Data = "rctx"
			"40 00 50 00 58 00", // commit, reject, rejectHint = 0
			"68 00",             // vote = 0
		},
	},
	{
		name: "MsgPreVote",
		msg:  Message{Type: MsgPreVote, To: 2, From: 1, Term: 9, LogTerm: 8, Index: 1000},
		wire: []string{
			"08 11",             // type = 17 MsgPreVote
			"10 02 18 01",       // to = 2, from = 1
			"20 09",             // term = 9 (the term the candidate would campaign in)
			"28 08",             // logTerm = 8
			"30 e8 07",          // index = 1000
			"40 00 50 00 58 00", // commit, reject, rejectHint = 0
			"68 00",             // vote = 0
		},
	},
	{
		name: "MsgPreVoteResp",
		msg:  Message{Type: MsgPreVoteResp, To: 1, From: 2, Term: 9},
		wire: []string{
			"08 12",             // type = 18 MsgPreVoteResp
			"10 01 18 02",       // to = 1, from = 2
			"20 09",             // term = 9
			"28 00 30 00",       // logTerm, index = 0
			"40 00 50 00 58 00", // commit, reject, rejectHint = 0
			"68 00",             // vote = 0
		},
	},
	{
		name: "MsgStorageAppend with nested responses",
		msg: Message{
			Type: MsgStorageAppend, To: appendThread, From: 1, Term: 9, Vote: 2, Commit: 1000,
			Entries: []Entry{{Term: 9, Index: 1001, Data: []byte("x")}},
			Responses: []Message{
				{Type: MsgStorageAppendResp, To: 1, From: appendThread, Term: 9, LogTerm: 9, Index: 1001},
				{Type: MsgAppResp, To: 2, From: 1, Term: 9, Index: 1001},
			},
		},
		wire: []string{
			"08 13",                            // type = 19 MsgStorageAppend
			"10 ff ff ff ff ff ff ff ff ff 01", // to = 2^64-1: nine 7-bit groups of ones, then the 64th bit
			"18 01",                            // from = 1
			"20 09",                            // term = 9
			"28 00 30 00",                      // logTerm, index = 0
			"3a 0a",                            // entries[0], 10 bytes:
			"08 00 10 09",                      //   Type = EntryNormal, Term = 9
			"18 e9 07",                         //   Index = 1001 (0x69|0x80, 1001>>7 = 7)
			"22 01 78",                         //   Data = "x"
			"40 e8 07",                         // commit = 1000
			"50 00 58 00",                      // reject, rejectHint = 0
			"68 02",                            // vote = 2
			"72 1e",                            // responses[0], 30 bytes:
			"08 14 10 01",                      //   type = 20 MsgStorageAppendResp, to = 1
			"18 ff ff ff ff ff ff ff ff ff 01", //   from = 2^64-1
			"20 09 28 09",                      //   term = 9, logTerm = 9
			"30 e9 07",                         //   index = 1001
			"40 00 50 00 58 00 68 00",          //   commit, reject, rejectHint, vote = 0
			"72 15",                            // responses[1], 21 bytes:
			"08 04 10 02 18 01",                //   type = 4 MsgAppResp, to = 2, from = 1
			"20 09 28 00",                      //   term = 9, logTerm = 0
			"30 e9 07",                         //   index = 1001
			"40 00 50 00 58 00 68 00",          //   commit, reject, rejectHint, vote = 0
		},
	},
	{
		name: "MsgStorageAppendResp",
		msg:  Message{Type: MsgStorageAppendResp, To: 1, From: appendThread, Term: 9, LogTerm: 9, Index: 1001},
		wire: []string{
			"08 14",                            // type = 20 MsgStorageAppendResp
			"10 01",                            // to = 1
			"18 ff ff ff ff ff ff ff ff ff 01", // from = 2^64-1
			"20 09",                            // term = 9
			"28 09",                            // logTerm = 9
			"30 e9 07",                         // index = 1001
			"40 00 50 00 58 00 68 00",          // commit, reject, rejectHint, vote = 0
		},
	},
	{
		name: "MsgStorageApply with a nested response",
		msg: Message{
			Type: MsgStorageApply, To: applyThread, From: 1,
			Entries: []Entry{{Term: 9, Index: 1001, Data: []byte("x")}},
			Responses: []Message{{
				Type: MsgStorageApplyResp, To: 1, From: applyThread,
				Entries: []Entry{{Term: 9, Index: 1001, Data: []byte("x")}},
			}},
		},
		wire: []string{
			"08 15",                            // type = 21 MsgStorageApply
			"10 fe ff ff ff ff ff ff ff ff 01", // to = 2^64-2: low group 0x7e|0x80, then as 2^64-1
			"18 01",                            // from = 1
			"20 00 28 00 30 00",                // term, logTerm, index = 0
			"3a 0a",                            // entries[0], 10 bytes:
			"08 00 10 09 18 e9 07 22 01 78",    //   Type 0, Term 9, Index 1001, Data "x"
			"40 00 50 00 58 00 68 00",          // commit, reject, rejectHint, vote = 0
			"72 29",                            // responses[0], 41 bytes:
			"08 16 10 01",                      //   type = 22 MsgStorageApplyResp, to = 1
			"18 fe ff ff ff ff ff ff ff ff 01", //   from = 2^64-2
			"20 00 28 00 30 00",                //   term, logTerm, index = 0
			"3a 0a",                            //   entries[0], 10 bytes:
			"08 00 10 09 18 e9 07 22 01 78",    //     Type 0, Term 9, Index 1001, Data "x"
			"40 00 50 00 58 00 68 00",          //   commit, reject, rejectHint, vote = 0
		},
	},
	{
		name: "MsgStorageApplyResp",
		msg: Message{
			Type: MsgStorageApplyResp, To: 1, From: applyThread,
			Entries: []Entry{{Term: 9, Index: 1001, Data: []byte("x")}},
		},
		wire: []string{
			"08 16",                            // type = 22 MsgStorageApplyResp
			"10 01",                            // to = 1
			"18 fe ff ff ff ff ff ff ff ff 01", // from = 2^64-2
			"20 00 28 00 30 00",                // term, logTerm, index = 0
			"3a 0a",                            // entries[0], 10 bytes:
			"08 00 10 09 18 e9 07 22 01 78",    //   Type 0, Term 9, Index 1001, Data "x"
			"40 00 50 00 58 00 68 00",          // commit, reject, rejectHint, vote = 0
		},
	},
	{
		name: "MsgForgetLeader",
		msg:  Message{Type: MsgForgetLeader, To: 1, From: 1, Term: 10},
		wire: []string{
			"08 17",                   // type = 23 MsgForgetLeader
			"10 01 18 01",             // to = 1, from = 1
			"20 0a",                   // term = 10
			"28 00 30 00",             // logTerm, index = 0
			"40 00 50 00 58 00 68 00", // commit, reject, rejectHint, vote = 0
		},
	},
	{
		name: "every field at its largest",
		msg: Message{
			Type: MsgForgetLeader, To: math.MaxUint64, From: math.MaxUint64, Term: math.MaxUint64,
			LogTerm: math.MaxUint64, Index: math.MaxUint64, Commit: math.MaxUint64,
			Reject: true, RejectHint: math.MaxUint64, Vote: math.MaxUint64, Context: []byte{0xff},
		},
		wire: []string{
			"08 17",                            // type = 23
			"10 ff ff ff ff ff ff ff ff ff 01", // to = 2^64-1
			"18 ff ff ff ff ff ff ff ff ff 01", // from = 2^64-1
			"20 ff ff ff ff ff ff ff ff ff 01", // term = 2^64-1
			"28 ff ff ff ff ff ff ff ff ff 01", // logTerm = 2^64-1
			"30 ff ff ff ff ff ff ff ff ff 01", // index = 2^64-1
			"40 ff ff ff ff ff ff ff ff ff 01", // commit = 2^64-1
			"50 01",                            // reject = true
			"58 ff ff ff ff ff ff ff ff ff 01", // rejectHint = 2^64-1
			"62 01 ff",                         // context = {0xff}
			"68 ff ff ff ff ff ff ff ff ff 01", // vote = 2^64-1
		},
	},
}
