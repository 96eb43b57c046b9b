package raft

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/require"
)

// This file holds the in-package test harness: peers built over
// MemoryStorage, a Ready cycle that persists, applies and advances like a
// careful application, and a network that delivers messages between peers
// one at a time, in order, with links that can be cut.

// testOption adjusts the Config of a test peer.
type testOption func(*Config)

func withPreVote() testOption     { return func(c *Config) { c.PreVote = true } }
func withCheckQuorum() testOption { return func(c *Config) { c.CheckQuorum = true } }
func withAsyncWrites() testOption { return func(c *Config) { c.AsyncStorageWrites = true } }
func withLeaseReads() testOption  { return func(c *Config) { c.ReadOnlyOption = ReadOnlyLeaseBased } }
func withStepDownOnRemoval() testOption {
	return func(c *Config) { c.StepDownOnRemoval = true }
}
func withConfig(f func(*Config)) testOption { return f }

// newConfStorage returns a MemoryStorage whose configuration has the given
// voters and learners, and nothing else.
func newConfStorage(voters []uint64, learners ...uint64) *MemoryStorage {
	ms := NewMemoryStorage()
	ms.snapshot.Metadata.ConfState = pb.ConfState{Voters: voters, Learners: learners}
	return ms
}

// newTestConfig returns the configuration used by test peers: election
// timeout 10 ticks, heartbeat 1 tick, unbounded messages, 256 inflight
// messages, and a logger that discards.
func newTestConfig(id uint64, s Storage, opts ...testOption) *Config {
	c := &Config{
		ID:              id,
		ElectionTick:    10,
		HeartbeatTick:   1,
		Storage:         s,
		MaxSizePerMsg:   noLimit,
		MaxInflightMsgs: 256,
		Logger:          discardLogger,
		RandomSource:    rand.NewPCG(id, id^0x9e3779b97f4a7c15),
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// testNode is a peer with its storage and what it applied.
type testNode struct {
	*RawNode
	storage *MemoryStorage
	// applied are the committed entries the harness applied, in order.
	applied []pb.Entry
	// readStates are the ReadStates handed out so far.
	readStates []ReadState
}

func newTestNode(t testing.TB, id uint64, s *MemoryStorage, opts ...testOption) *testNode {
	t.Helper()
	rn, err := NewRawNode(newTestConfig(id, s, opts...))
	require.NoError(t, err)
	return &testNode{RawNode: rn, storage: s}
}

// newTestCluster returns peers 1..n, all voters, that know of each other.
func newTestCluster(t testing.TB, n int, opts ...testOption) []*testNode {
	t.Helper()
	ids := idsUpTo(n)
	nodes := make([]*testNode, n)
	for i, id := range ids {
		nodes[i] = newTestNode(t, id, newConfStorage(ids), opts...)
	}
	return nodes
}

func idsUpTo(n int) []uint64 {
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = uint64(i + 1)
	}
	return ids
}

func (n *testNode) r() *raft { return n.raft }

// process runs Ready cycles until there is nothing left to do (what a peer
// acknowledges to itself on Advance can produce more work), and returns the
// messages to send.
func (n *testNode) process() []pb.Message {
	var msgs []pb.Message
	for n.HasReady() {
		if n.asyncStorageWrites {
			msgs = append(msgs, n.processAsyncOnce()...)
		} else {
			msgs = append(msgs, n.processOnce()...)
		}
	}
	return msgs
}

// processAsyncOnce handles one Ready with AsyncStorageWrites: the storage
// work is done at once and in order, as by perfectly prompt local threads.
// It returns the messages for other peers.
func (n *testNode) processAsyncOnce() []pb.Message {
	rd := n.Ready()
	n.readStates = append(n.readStates, rd.ReadStates...)
	var out []pb.Message
	for _, m := range rd.Messages {
		switch m.To {
		case LocalAppendThread:
			out = append(out, n.deliverResponses(n.persistAppend(m))...)
		case LocalApplyThread:
			n.apply(m.Entries)
			out = append(out, n.deliverResponses(m.Responses)...)
		default:
			out = append(out, m)
		}
	}
	return out
}

// persistAppend does what a MsgStorageAppend asks and returns its
// responses.
func (n *testNode) persistAppend(m pb.Message) []pb.Message {
	rd := Ready{Entries: m.Entries, HardState: pb.HardState{Term: m.Term, Vote: m.Vote, Commit: m.Commit}}
	if m.Snapshot != nil {
		rd.Snapshot = *m.Snapshot
	}
	n.persist(rd)
	return m.Responses
}

// deliverResponses steps the responses addressed to this peer and returns
// the others.
func (n *testNode) deliverResponses(resps []pb.Message) []pb.Message {
	var out []pb.Message
	for _, r := range resps {
		if r.To == n.raft.id {
			if err := n.Step(r); err != nil {
				panic(fmt.Sprintf("stepping %v: %v", r.Type, err))
			}
		} else {
			out = append(out, r)
		}
	}
	return out
}

// processOnce runs one Ready cycle without AsyncStorageWrites, as an
// application must: persist, apply (configuration changes included),
// Advance. It returns the messages to send.
func (n *testNode) processOnce() []pb.Message {
	rd := n.Ready()
	n.persist(rd)
	n.apply(rd.CommittedEntries)
	n.readStates = append(n.readStates, rd.ReadStates...)
	n.Advance(rd)
	return rd.Messages
}

func (n *testNode) persist(rd Ready) {
	if !IsEmptySnap(rd.Snapshot) {
		if err := n.storage.ApplySnapshot(rd.Snapshot); err != nil {
			panic(fmt.Sprintf("applying snapshot %v: %v", rd.Snapshot.Metadata, err))
		}
	}
	if err := n.storage.Append(rd.Entries); err != nil {
		panic(fmt.Sprintf("appending %d entries: %v", len(rd.Entries), err))
	}
	if !IsEmptyHardState(rd.HardState) {
		_ = n.storage.SetHardState(rd.HardState)
	}
}

func (n *testNode) apply(ents []pb.Entry) {
	for _, e := range ents {
		switch e.Type {
		case pb.EntryConfChange:
			var cc pb.ConfChange
			if err := cc.Unmarshal(e.Data); err != nil {
				panic(err)
			}
			n.ApplyConfChange(cc)
		case pb.EntryConfChangeV2:
			var cc pb.ConfChangeV2
			if err := cc.Unmarshal(e.Data); err != nil {
				panic(err)
			}
			n.ApplyConfChange(cc)
		}
		n.applied = append(n.applied, e)
	}
}

// appliedData returns the payloads of the normal entries applied.
func (n *testNode) appliedData() []string {
	var out []string
	for _, e := range n.applied {
		if e.Type == pb.EntryNormal && len(e.Data) > 0 {
			out = append(out, string(e.Data))
		}
	}
	return out
}

// tickN ticks n times, processing Ready in between, and returns the
// messages produced.
func (n *testNode) tickN(k int) []pb.Message {
	var msgs []pb.Message
	for range k {
		n.Tick()
		msgs = append(msgs, n.process()...)
	}
	return msgs
}

// network delivers messages between test peers.
type network struct {
	nodes map[uint64]*testNode
	// cut holds the dropped directed links.
	cut map[[2]uint64]bool
	// ignored message types are dropped everywhere.
	ignored map[pb.MessageType]bool
	// filter, if set, sees every message first and drops those it returns
	// false for.
	filter func(pb.Message) bool
	// delivered records every message delivered, in order.
	delivered []pb.Message
}

func newNetwork(nodes ...*testNode) *network {
	nw := &network{
		nodes:   make(map[uint64]*testNode),
		cut:     make(map[[2]uint64]bool),
		ignored: make(map[pb.MessageType]bool),
	}
	for _, n := range nodes {
		nw.nodes[n.raft.id] = n
	}
	return nw
}

// send delivers msgs, and every message they cause, until none is left.
// Messages to a peer not in the network, or over a cut link, are dropped.
func (nw *network) send(msgs ...pb.Message) {
	queue := slices.Clone(msgs)
	for len(queue) > 0 {
		m := queue[0]
		queue = queue[1:]
		if nw.filter != nil && !nw.filter(m) {
			continue
		}
		n := nw.nodes[m.To]
		if n == nil || nw.cut[[2]uint64{m.From, m.To}] || nw.ignored[m.Type] {
			continue
		}
		nw.delivered = append(nw.delivered, m)
		_ = n.raft.Step(m)
		queue = append(queue, n.process()...)
	}
}

// flush processes every peer's Ready and delivers the results.
func (nw *network) flush() {
	for _, id := range nw.ids() {
		nw.send(nw.nodes[id].process()...)
	}
}

func (nw *network) ids() []uint64 {
	ids := make([]uint64, 0, len(nw.nodes))
	for id := range nw.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// campaign makes peer id start an election and runs it to completion.
func (nw *network) campaign(id uint64) {
	nw.send(pb.Message{From: id, To: id, Type: pb.MsgHup})
}

// propose proposes data at peer id and runs replication to completion.
func (nw *network) propose(id uint64, data string) {
	nw.send(pb.Message{From: id, To: id, Type: pb.MsgProp, Entries: []pb.Entry{{Data: []byte(data)}}})
}

// isolate cuts every link to and from id.
func (nw *network) isolate(id uint64) {
	for other := range nw.nodes {
		if other != id {
			nw.cut[[2]uint64{id, other}] = true
			nw.cut[[2]uint64{other, id}] = true
		}
	}
}

// cutLink cuts the links between a and b in both directions.
func (nw *network) cutLink(a, b uint64) {
	nw.cut[[2]uint64{a, b}] = true
	nw.cut[[2]uint64{b, a}] = true
}

// heal restores every link and stops ignoring message types.
func (nw *network) heal() {
	clear(nw.cut)
	clear(nw.ignored)
	nw.filter = nil
}

// tick ticks every peer once and delivers what results.
func (nw *network) tick() {
	for _, id := range nw.ids() {
		nw.nodes[id].Tick()
	}
	nw.flush()
}

// msgTypes returns the types of msgs, for compact assertions.
func msgTypes(msgs []pb.Message) []pb.MessageType {
	out := make([]pb.MessageType, len(msgs))
	for i, m := range msgs {
		out[i] = m.Type
	}
	return out
}

// msgsTo returns the messages of msgs addressed to id with type t.
func msgsOf(msgs []pb.Message, t pb.MessageType, to uint64) []pb.Message {
	var out []pb.Message
	for _, m := range msgs {
		if m.Type == t && m.To == to {
			out = append(out, m)
		}
	}
	return out
}

// electLeader elects peer 1 in a fresh network of nodes and returns the
// network.
func electLeader(t testing.TB, nodes ...*testNode) *network {
	t.Helper()
	nw := newNetwork(nodes...)
	nw.flush()
	nw.campaign(nodes[0].raft.id)
	require.Equal(t, StateLeader, nodes[0].raft.state, "got state %v, want leader", nodes[0].raft.state)
	return nw
}

// stepAndCollect steps m into n, runs its Ready cycles, and returns the
// messages it sends.
func (n *testNode) stepAndCollect(m pb.Message) []pb.Message {
	if err := n.Step(m); err != nil {
		panic(fmt.Sprintf("stepping %v: %v", m.Type, err))
	}
	return n.process()
}
