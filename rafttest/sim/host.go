package sim

// A simulated node as its host holds it: the incarnation running now, what
// survives a crash, and what the oracles remember of it; and the questions
// the host asks of a configuration (is a node a member, a voter).

import (
	"fmt"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// nodeState is the life cycle of a simulated node.
type nodeState uint8

const (
	nodeAlive   nodeState = iota
	nodeCrashed           // waiting to restart
	nodeStopped           // removed from the configuration and shut down
)

// node is one simulated server: a host that runs a Peer, persists its
// Readies to a Storage, applies committed entries to a StateMachine and
// serves reads, plus what the oracles remember about it.
type node struct {
	id    uint64
	state nodeState
	// inc counts the node's incarnations; events carry the incarnation
	// that scheduled them.
	inc uint32
	// period is the length of this node's tick in virtual time, when the
	// clocks are not in lock step.
	period int64

	// The current incarnation. peer and storage are nil unless alive.
	peer    Peer
	storage Storage
	async   bool
	// status is the peer's BasicStatus as of the last observation.
	status raft.BasicStatus

	// readyScheduled is set while an evReady is queued. split is the Ready
	// taken and not yet finished in SplitReady mode.
	readyScheduled bool
	split          *raft.Ready
	// appender and applier are the storage threads (with
	// AsyncStorageWrites).
	appender, applier storageThread
	// removed is set when the node has applied a configuration that
	// removes it; stopAfter when the host then shuts it down
	// (Plan.StopRemoved).
	removed, stopAfter bool

	// sm is the application state, which applied entries up to smApplied;
	// conf is the configuration as of smApplied. They survive a crash only
	// when the state machine is durable.
	sm        StateMachine
	smApplied uint64
	conf      pb.ConfState

	// What the oracles remember. hlog is the log as handed out by the
	// current incarnation, plog the log as persisted, persistedHS the
	// HardState as persisted; handedHS is the last HardState handed out
	// and handedApplied the last index handed out for application.
	hlog, plog        logShadow
	persistedHS       pb.HardState
	handedHS          pb.HardState
	handedApplied     uint64
	checkedLeaderTerm uint64
	// durableCommit is the commit index a crash cannot lose: persistedHS's,
	// unless the storage is a LazyCommitStorage, whose writes of the commit
	// index alone are durable only once a later write syncs them.
	durableCommit uint64

	// reads records the contexts issued on this node (over all its
	// incarnations); pending lists those not answered yet, which clients
	// may retry; serveQ holds the ReadStates waiting for the state machine
	// to reach their index.
	reads   map[string]*readRecord
	pending []string
	serveQ  []readToServe
}

func (n *node) alive() bool { return n.state == nodeAlive }

// readRecord is what the read oracles know of a request context.
type readRecord struct {
	query []byte
	// bound is the highest index applied anywhere when the context was
	// last issued, at step issued, by node boundNode.
	bound     uint64
	boundNode uint64
	issued    int
	// answered is set once a ReadState answered the latest issue, and
	// dropped once a DroppedRead reported it (Config.ReportDroppedReads).
	answered, dropped bool
	// issues counts the ReadIndex calls with the context, and firstInc is
	// the node's incarnation at the first of them.
	issues   int
	firstInc uint32
	// leaderless is set if the node knew no leader at the latest issue.
	leaderless bool
}

// readToServe is a read whose ReadState has been handed out.
type readToServe struct {
	ctx   string
	index uint64
	query []byte
}

func newNode(c *cluster, id uint64) *node {
	n := &node{id: id, reads: make(map[string]*readRecord)}
	n.period = TickUnits*8/10 + int64(c.rng.IntN(TickUnits*45/100+1))
	c.nodes[id] = n
	return n
}

// isMember reports whether id is in cs, as a voter (incoming or outgoing)
// or a learner.
func isMember(cs pb.ConfState, id uint64) bool {
	for _, ids := range [][]uint64{cs.Voters, cs.VotersOutgoing, cs.Learners, cs.LearnersNext} {
		for _, x := range ids {
			if x == id {
				return true
			}
		}
	}
	return false
}

// isVoter reports whether id is a voter of cs (incoming or outgoing).
func isVoter(cs pb.ConfState, id uint64) bool {
	for _, ids := range [][]uint64{cs.Voters, cs.VotersOutgoing} {
		for _, x := range ids {
			if x == id {
				return true
			}
		}
	}
	return false
}

func describeStatus(st raft.BasicStatus) string {
	return fmt.Sprintf("%s term %d lead %d vote %d commit %d applied %d", st.RaftState, st.Term, st.Lead, st.Vote, st.Commit, st.Applied)
}
