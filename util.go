package raft

import pb "github.com/quorate/raft/raftpb"

// numMessageTypes is one past the largest MessageType the library knows.
// The classification tables below are indexed by MessageType; a type outside
// [0, numMessageTypes) (a newer peer, a corrupt message) is neither local nor
// a response.
const numMessageTypes = int(pb.MsgForgetLeader) + 1

// localMsgs marks the message types that only ever travel inside one node:
// between the application and its RawNode, or between the RawNode and its
// own storage threads. None of them may arrive from the network.
var localMsgs = [numMessageTypes]bool{
	pb.MsgHup:               true,
	pb.MsgBeat:              true,
	pb.MsgUnreachable:       true,
	pb.MsgSnapStatus:        true,
	pb.MsgCheckQuorum:       true,
	pb.MsgStorageAppend:     true,
	pb.MsgStorageAppendResp: true,
	pb.MsgStorageApply:      true,
	pb.MsgStorageApplyResp:  true,
}

// responseMsgs marks the message types that answer an earlier request. A
// response from a peer the node does not track carries no information the
// node can use.
var responseMsgs = [numMessageTypes]bool{
	pb.MsgAppResp:           true,
	pb.MsgVoteResp:          true,
	pb.MsgHeartbeatResp:     true,
	pb.MsgUnreachable:       true,
	pb.MsgReadIndexResp:     true,
	pb.MsgPreVoteResp:       true,
	pb.MsgStorageAppendResp: true,
	pb.MsgStorageApplyResp:  true,
}

// Bits of msgClasses.
const (
	classLocal uint8 = 1 << iota
	classResponse
)

// msgClasses is localMsgs and responseMsgs as one table, built from them,
// so that RawNode.Step classifies a message with one lookup. NB: Step
// checks every message handed in; two lookups, each behind its own range
// check, cost some 10 instructions more a message.
var msgClasses = func() (c [numMessageTypes]uint8) {
	for t := range c {
		if localMsgs[t] {
			c[t] |= classLocal
		}
		if responseMsgs[t] {
			c[t] |= classResponse
		}
	}
	return c
}()

// msgClass returns the classLocal and classResponse bits of t; none for a
// type outside the tables.
func msgClass(t pb.MessageType) uint8 {
	if uint32(t) >= uint32(numMessageTypes) {
		return 0
	}
	return msgClasses[t]
}

// knownType reports whether t indexes the classification tables.
func knownType(t pb.MessageType) bool {
	return t >= 0 && int(t) < numMessageTypes
}

// IsLocalMsg reports whether messages of type t are local to a node: they are
// produced and consumed inside one process (MsgHup, MsgBeat, MsgUnreachable,
// MsgSnapStatus, MsgCheckQuorum and the four MsgStorage* types) and must never
// be accepted from the network.
func IsLocalMsg(t pb.MessageType) bool {
	return knownType(t) && localMsgs[t]
}

// IsResponseMsg reports whether messages of type t answer an earlier request
// (MsgAppResp, MsgVoteResp, MsgPreVoteResp, MsgHeartbeatResp,
// MsgReadIndexResp, MsgUnreachable and the MsgStorage*Resp types).
func IsResponseMsg(t pb.MessageType) bool {
	return knownType(t) && responseMsgs[t]
}

// IsLocalMsgTarget reports whether id names one of the node's local storage
// threads (LocalAppendThread or LocalApplyThread) rather than a peer. Messages
// to and from these ids exist only when Config.AsyncStorageWrites is set.
func IsLocalMsgTarget(id uint64) bool {
	return id == LocalAppendThread || id == LocalApplyThread
}

// IsEmptyHardState reports whether st is the zero HardState, the state of a
// node that has never persisted anything.
func IsEmptyHardState(st pb.HardState) bool {
	return st == pb.HardState{}
}

// IsEmptySnap reports whether sp is the empty snapshot. A snapshot is empty
// when its index is zero: no real snapshot can cover index 0.
// NB: it reads the field itself rather than calling isEmptySnap(&sp): taking
// the argument's address makes a caller passing *p copy the whole snapshot
// even when the call is inlined.
func IsEmptySnap(sp pb.Snapshot) bool {
	return sp.Metadata.Index == 0
}

// isEmptySnap is IsEmptySnap for a pointer.
func isEmptySnap(sp *pb.Snapshot) bool { return sp.Metadata.Index == 0 }

// MustSync reports whether the write of a Ready with entsnum entries and
// HardState st, following the previously persisted HardState prevst, must be
// synced to stable storage before the Ready's messages are sent.
//
// The term, the vote and the log entries are what a node promises to remember
// across a crash (Raft paper, figure 2, "persistent state on all servers");
// forgetting any of them could let the node vote twice in a term or deny an
// entry it acknowledged. NB: the commit index alone does not need a sync, as
// it can be learned again from the leader after a restart.
func MustSync(st, prevst pb.HardState, entsnum int) bool {
	return entsnum != 0 || st.Vote != prevst.Vote || st.Term != prevst.Term
}

// isVoteMsg reports whether t is a (pre-)vote request or response.
func isVoteMsg(t pb.MessageType) bool {
	return t == pb.MsgVote || t == pb.MsgVoteResp || t == pb.MsgPreVote || t == pb.MsgPreVoteResp
}

// voteRespMsgType returns the response type for a vote request of type t:
// MsgVoteResp for MsgVote and MsgPreVoteResp for MsgPreVote. Any other type is
// a broken invariant of the caller.
func voteRespMsgType(t pb.MessageType) pb.MessageType {
	switch t {
	case pb.MsgVote:
		return pb.MsgVoteResp
	case pb.MsgPreVote:
		return pb.MsgPreVoteResp
	}
	invariantBroken("voteRespMsgType: %v is not a vote request", t)
	return 0
}
