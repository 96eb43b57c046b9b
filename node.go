package raft

import (
	"context"
	"errors"

	pb "github.com/quorate/raft/raftpb"
)

// SnapshotStatus is the outcome of sending a snapshot to a follower, as the
// application reports it through ReportSnapshot.
type SnapshotStatus int

const (
	// SnapshotFinish reports that the follower received the snapshot.
	SnapshotFinish SnapshotStatus = 1
	// SnapshotFailure reports that sending the snapshot failed; the leader
	// goes back to probing the follower.
	SnapshotFailure SnapshotStatus = 2
)

// ErrStopped is returned by the Node methods that take a context when the
// node has been stopped.
var ErrStopped = errors.New("raft: stopped")

// Peer names a member of the initial configuration given to StartNode or
// RawNode.Bootstrap. Context is opaque to the library: it is carried in the
// ConfChange that adds the peer, so the application sees it again when it
// applies that entry (for example the peer's address).
type Peer struct {
	// ID is the peer's ID; it must not be None.
	ID uint64
	// Context is carried unchanged in the ConfChange adding the peer.
	Context []byte
}

// Node is a Raft node with a goroutine of its own; all its methods are safe
// for concurrent use. It is a thin front end over RawNode: each request is
// applied to the RawNode on the caller's goroutine, one at a time and in the
// order they take the node's lock, and the node's goroutine only offers the
// Readies the application was not already waiting for and consumes ticks.
//
// The application's side of the contract is the Ready loop: receive a Ready
// from Ready(), persist its HardState, Entries and Snapshot, send its
// Messages, apply its CommittedEntries (calling ApplyConfChange for conf
// change entries), then call Advance. The node offers no further Ready until
// Advance is called (unless Config.AsyncStorageWrites is set, see Advance).
//
// Methods that take a context return ctx.Err() when the context ends before
// the request is handed over, and ErrStopped once the node has been stopped.
type Node interface {
	// Tick advances the node's logical clock by one tick; election and
	// heartbeat timeouts are counted in ticks. Tick never blocks: when the
	// node's goroutine has fallen so far behind that its tick buffer is
	// full, the tick is dropped and a warning logged.
	Tick()

	// Campaign makes the node start an election (a pre-election first when
	// Config.PreVote is set). It returns once the request is handed to the
	// node, not when the election is decided; watch SoftState in Ready for
	// the outcome. Under ReadOnlyLeaseBased, see RawNode.Campaign.
	Campaign(ctx context.Context) error

	// Propose proposes data to be appended to the log. It returns once the
	// proposal has been stepped into the state machine, with the error that
	// stepping produced (ErrProposalDropped when the node cannot take it,
	// e.g. during a leadership transfer or over the uncommitted size limit).
	// A nil error does not mean the entry will commit: proposals can be lost
	// on leader changes, and the application must match committed entries
	// to its proposals (and retry) itself.
	//
	// While the node knows of no leader, proposals are not accepted and
	// Propose blocks until a leader is known, ctx ends or the node stops.
	//
	// Once the node has applied (ApplyConfChange) a configuration change
	// that removes it, Propose fails at once with ErrProposalDropped, on a
	// leader and a follower alike, until a later change adds it back.
	// NB: this differs from etcd-raft v3.6, whose Node leaves such
	// proposals blocked (until ctx ends) rather than failing them.
	Propose(ctx context.Context, data []byte) error

	// ProposeConfChange proposes a configuration change, a pb.ConfChange or
	// a pb.ConfChangeV2, with the same blocking and error behaviour as
	// Propose. Like any proposal it may be lost; in addition the leader
	// ignores (turns into an empty entry) a change proposed while another
	// one is still pending, unless Config.DisableConfChangeValidation is
	// set. The change takes effect only when the application, having seen
	// the committed entry, calls ApplyConfChange.
	ProposeConfChange(ctx context.Context, cc pb.ConfChangeI) error

	// Step hands a message received from a peer to the node. It returns
	// once the message is handed over; the caller must not rely on it
	// having been processed by then.
	// Messages of a local type (see IsLocalMsg) are ignored, returning nil,
	// unless they come from the local storage threads (LocalAppendThread,
	// LocalApplyThread) as responses under AsyncStorageWrites. Responses
	// from peers the node does not track are dropped. Raft may keep
	// msg.Entries (see RawNode.Step): do not modify them afterwards.
	Step(ctx context.Context, msg pb.Message) error

	// Ready returns the channel on which the node offers its next Ready:
	// the state to persist, the messages to send and the entries to apply.
	// A Ready is offered only when there is something in it, and at most
	// one at a time: after receiving one, the application must handle it
	// completely and call Advance before the next is offered.
	//
	// The state in a Ready is fixed when it is offered; what happens while
	// it waits to be received goes into the next one. After Stop nothing
	// is offered and, as in etcd-raft, the channel is never closed: a loop
	// selecting on it alongside its own shutdown signal does not spin.
	//
	// NB: the application must persist Entries, HardState and Snapshot
	// (synchronously when MustSync is set) before sending Messages, and
	// must not apply CommittedEntries it has not persisted: a message may
	// acknowledge or vote based on state that has to survive a crash.
	Ready() <-chan Ready

	// Advance tells the node that the application has handled the last
	// Ready it received: persisted, sent and applied it. The next Ready is
	// offered only after Advance. Calling Advance without an outstanding
	// Ready blocks until Stop.
	//
	// With Config.AsyncStorageWrites Advance must not be called: the
	// application instead acknowledges writes and applications by stepping
	// the responses carried in the MsgStorageAppend and MsgStorageApply
	// messages of each Ready, and the next Ready may be offered at once.
	Advance()

	// ApplyConfChange applies a committed configuration change to the node
	// and returns the resulting ConfState, which the application should
	// persist with its applied state (it is needed to create snapshots).
	// Call it for every committed EntryConfChange and EntryConfChangeV2
	// entry, in log order, whether or not the change was proposed by this
	// node. After Stop it returns the zero ConfState.
	ApplyConfChange(cc pb.ConfChangeI) *pb.ConfState

	// TransferLeadership asks the leader lead to hand leadership to
	// transferee. It returns once the request is handed over (or when ctx
	// ends or the node stops); the transfer itself may fail, e.g. when the
	// transferee does not catch up within an election timeout. Watch
	// SoftState for the result.
	TransferLeadership(ctx context.Context, lead, transferee uint64)

	// ForgetLeader makes a follower forget its current leader, as if it had
	// not heard from it for an election timeout, so that a pre-vote for
	// another candidate can succeed at once instead of waiting for the
	// timeout. Use it when the application knows the leader is gone. It is
	// a no-op on a leader, a candidate, a follower without a leader, and
	// under ReadOnlyLeaseBased (forgetting would break the lease).
	ForgetLeader(ctx context.Context) error

	// ReadIndex requests a linearizable read point. When the node, as
	// leader, has confirmed that it still leads, a ReadState carrying rctx
	// and the commit index at the time of the request shows up in a later
	// Ready; the application may serve the read once it has applied up to
	// that index. rctx should be unique per request. A nil error means
	// only that the request was handed over: a request may be dropped (no
	// leader, leader change), so the application must retry on a timeout.
	ReadIndex(ctx context.Context, rctx []byte) error

	// Status returns the current status of the node, including the progress
	// of followers when it leads. It may be called from any goroutine, also
	// while a Ready is being handled. After Stop it returns the zero Status.
	Status() Status

	// ReportUnreachable reports that the last message sent to peer id
	// could not be delivered, so that the leader stops pipelining to it and
	// goes back to probing.
	ReportUnreachable(id uint64)

	// ReportSnapshot reports the outcome of sending a snapshot to peer id.
	// A leader pauses replication to a follower it sent a snapshot to until
	// it hears the outcome, so the application must report every MsgSnap it
	// sends: SnapshotFinish once the follower has it, SnapshotFailure if
	// sending failed.
	ReportSnapshot(id uint64, status SnapshotStatus)

	// Stop stops the node's goroutine. It returns once the goroutine has
	// exited. Every pending and later call then returns promptly: those
	// with an error return ErrStopped, the others return zero values or do
	// nothing. Stop may be called any number of times, from any goroutine.
	Stop()
}

// tickBufferSize bounds the ticks that can wait for the node's goroutine.
// A full buffer means the goroutine is far behind; dropping ticks then only
// delays timeouts, which Raft tolerates.
const tickBufferSize = 128

// StartNode creates a node for a new cluster whose initial members are peers
// and starts its goroutine. The configuration entries for peers are appended
// to the log (term 1) and committed, so the first Ready asks the application
// to persist and apply them. StartNode panics with NewRawNode's error when c
// is invalid; when peers is empty (to restart a node from its storage, or to
// join an existing cluster, use RestartNode); and with an error when a peer
// has ID None or is listed twice (etcd-raft v3.6 only logs a warning then).
func StartNode(c *Config, peers []Peer) Node {
	if len(peers) == 0 {
		panic("raft: StartNode needs at least one peer; a node with state to recover starts with RestartNode")
	}
	rn, err := NewRawNode(c)
	if err != nil {
		panic(err)
	}
	if err := validPeers(peers); err != nil {
		panic(err)
	}
	n := newNode(rn, c)
	if err := rn.Bootstrap(peers); err != nil {
		// NB: as in etcd-raft v3.6, a storage that already holds state is
		// reported, not fatal: the node goes on with what is stored.
		n.logger.Warningf("raft.node: %x could not bootstrap its configuration: %v", n.id, err)
	}
	go n.run()
	return n
}

// RestartNode creates a node from the state in c.Storage and starts its
// goroutine. Use it to restart a node, and to start a node that joins an
// existing cluster with an empty storage (it learns the configuration from
// the leader). It panics with NewRawNode's error when c is invalid.
func RestartNode(c *Config) Node {
	rn, err := NewRawNode(c)
	if err != nil {
		panic(err)
	}
	n := newNode(rn, c)
	go n.run()
	return n
}
