package raft

import (
	"testing"

	pb "github.com/quorate/raft/raftpb"
)

// This file hands the harness of harness_test.go to package raft_test under
// exported names. Each name forwards to the harness; none adds behaviour.
// Being a _test.go file, none of it is part of the public API.

// The election and heartbeat timeouts of a TestNode, in ticks, unless an
// option changes them.
const (
	TestElectionTick  = testElectionTick
	TestHeartbeatTick = testHeartbeatTick
)

// TestNode is a peer of the harness: a RawNode (whose exported methods it
// has) over a MemoryStorage, with the Ready loop of a careful application.
type TestNode = testNode

// TestNetwork connects TestNodes: it delivers messages in the order they
// were sent, running each recipient's Ready loop after each delivery.
type TestNetwork = network

// NewTestNode returns peer id over s, configured as newTestConfig says and
// then by opts.
func NewTestNode(t testing.TB, id uint64, s *MemoryStorage, opts ...func(*Config)) *TestNode {
	t.Helper()
	return newTestNode(t, id, s, opts...)
}

// ID returns the peer's ID.
func (n *testNode) ID() uint64 { return n.raft.id }

// Storage returns the peer's storage: what survives a crash.
func (n *testNode) Storage() *MemoryStorage { return n.storage }

// Process handles Readies until none is left and returns their messages,
// in the order the peer emitted them.
func (n *testNode) Process() []pb.Message { return n.process() }

// HandleReady handles one Ready without AsyncStorageWrites - persist,
// apply, Advance - and returns it; its messages are the caller's to send.
func (n *testNode) HandleReady() Ready { return n.processOnce() }

// Applied returns the committed entries applied so far, in order.
func (n *testNode) Applied() []pb.Entry { return n.applied }

// AppliedIndex returns the index of the last entry applied.
func (n *testNode) AppliedIndex() uint64 { return n.appliedIndex }

// ReadCount returns how many ReadStates were handed out.
func (n *testNode) ReadCount() int { return n.readCount }

// ForgetApplied makes the peer count what it applies without keeping it.
func (n *testNode) ForgetApplied() { n.forgetApplied = true }

// Restart replaces the peer's RawNode with a new one over its storage.
func (n *testNode) Restart() { n.restart() }

// NewTestNetwork connects nodes.
func NewTestNetwork(nodes ...*TestNode) *TestNetwork { return newNetwork(nodes...) }

// Node returns peer id.
func (nw *network) Node(id uint64) *TestNode { return nw.nodes[id] }

// IDs returns the IDs of the peers, in increasing order.
func (nw *network) IDs() []uint64 { return nw.ids() }

// Send delivers msgs and every message they cause until none is left.
func (nw *network) Send(msgs ...pb.Message) { nw.send(msgs...) }

// Flush handles every live peer's Readies and delivers what results.
func (nw *network) Flush() { nw.flush() }

// Campaign makes peer id campaign and delivers what results.
func (nw *network) Campaign(id uint64) { nw.campaign(id) }

// TickPeers ticks the given live peers once each and delivers what
// results. With no IDs it ticks nobody.
func (nw *network) TickPeers(ids ...uint64) { nw.tickPeers(ids...) }

// SetFilter makes the network drop every message keep returns false for;
// nil keeps every message.
func (nw *network) SetFilter(keep func(pb.Message) bool) { nw.filter = keep }

// Crash stops peer id: its unhandled Ready and the messages on their way
// to it are lost; its storage survives.
func (nw *network) Crash(id uint64) { nw.crash(id) }

// IsDown reports whether peer id is crashed.
func (nw *network) IsDown(id uint64) bool { return nw.down[id] }

// Restart brings a crashed peer back with a new RawNode over its storage.
func (nw *network) Restart(id uint64) { nw.restart(id) }

// Leaders returns the live peers that believe they lead.
func (nw *network) Leaders() []uint64 { return nw.leaders() }
