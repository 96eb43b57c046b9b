package raft

// The cluster harness of the Go tests, the only one: the tests of this
// package use it directly, and those of package raft_test (the paper tests
// and the benchmarks) use it under the exported names of export_test.go.
// The datadriven scenarios of testdata/ run on rafttest's InteractionEnv
// instead, which prints the story of a run; this harness is for tests that
// assert on state. Two single-peer drivers with narrower jobs stay with
// their tests: nodeHarness (node_test.go) drives a Node through its
// channels, fuzzNode (fuzz_step_test.go) a RawNode from fuzz input.
//
// A testNode is one peer: a RawNode over a MemoryStorage, driven by the
// Ready loop of a careful application - persist, apply (configuration
// changes included), Advance; or, under AsyncStorageWrites, append and
// apply threads that do their work at once and in order - and a record of
// what it applied. A network connects peers: it delivers messages one at a
// time, in the order they were sent, runs the recipient's Ready loop after
// each delivery, and can drop messages by filter, cut links, and crash and
// restart peers.
//
// Why it lives in package raft: most tests here look into the core
// (testNode embeds *RawNode, and through it the raft state), which a
// harness in package raft_test could not reach. export_test.go hands the
// same two types to package raft_test as TestNode and TestNetwork; every
// name there forwards to one defined here, and what it lets a test do is
// what an application can do with the exported API - step, tick, campaign,
// propose, handle Ready, read its MemoryStorage - so the paper tests still
// exercise only that API.
//
// Nothing here reads a clock. The only randomness is each peer's election
// timeout, drawn from a source seeded by its ID (newTestConfig), so a run
// is the same every time.

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
	"github.com/stretchr/testify/require"
)

// testOption adjusts the Config of a test peer. It is an alias so that
// package raft_test can pass a func(*raft.Config).
type testOption = func(*Config)

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

// storageWithLog returns a storage for voters holding entries of the given
// terms at indexes 1, 2, ..., with HardState term set to the last term.
func storageWithLog(t *testing.T, voters []uint64, terms ...uint64) *MemoryStorage {
	s := newConfStorage(voters)
	ents := make([]pb.Entry, len(terms))
	for i, term := range terms {
		ents[i] = pb.Entry{Index: uint64(i + 1), Term: term}
	}
	require.NoError(t, s.Append(ents))
	if len(terms) > 0 {
		require.NoError(t, s.SetHardState(pb.HardState{Term: terms[len(terms)-1]}))
	}
	return s
}

// The election and heartbeat timeouts of test peers, in ticks.
const (
	testElectionTick  = 10
	testHeartbeatTick = 1
)

// newTestConfig returns the configuration used by test peers: the timeouts
// above, unbounded messages, 256 inflight messages, a logger that discards,
// and a random source seeded by the ID.
func newTestConfig(id uint64, s Storage, opts ...testOption) *Config {
	c := &Config{
		ID:              id,
		ElectionTick:    testElectionTick,
		HeartbeatTick:   testHeartbeatTick,
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
	// cfg is the Config the peer was built with; restart builds a new
	// RawNode from it. Zero for a testNode built as a literal, which then
	// cannot restart.
	cfg Config

	// appliedIndex is the index of the last entry applied (or of the last
	// snapshot persisted). Invariant: every batch of committed entries
	// starts at appliedIndex+1. It starts at the index the RawNode was
	// created with (zero for a testNode built as a literal).
	appliedIndex uint64
	// readCount counts the ReadStates handed out, recorded or not.
	readCount int
	// forgetApplied makes the Ready loop keep the counts above but not
	// applied and readStates, so that a long benchmark stays flat in
	// memory.
	forgetApplied bool
	// applied are the committed entries the harness applied, in order.
	applied []pb.Entry
	// readStates are the ReadStates handed out so far.
	readStates []ReadState
}

// newTestNode returns peer id over s, configured by newTestConfig and opts.
func newTestNode(t testing.TB, id uint64, s *MemoryStorage, opts ...testOption) *testNode {
	t.Helper()
	cfg := newTestConfig(id, s, opts...)
	rn, err := NewRawNode(cfg)
	require.NoError(t, err)
	return &testNode{RawNode: rn, storage: s, cfg: *cfg, appliedIndex: rn.raft.log.applied()}
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

// restart replaces the peer's RawNode with a new one over its storage, as
// a process does when it restarts: only what the storage holds survives,
// and the application tells the new RawNode what it had applied.
func (n *testNode) restart() {
	cfg := n.cfg
	cfg.Applied = n.appliedIndex
	rn, err := NewRawNode(&cfg)
	if err != nil {
		panic(fmt.Sprintf("restarting peer %x: %v", cfg.ID, err))
	}
	n.RawNode = rn
}

// process runs Ready cycles until there is nothing left to do (what a peer
// acknowledges to itself on Advance can produce more work), and returns the
// messages to send.
func (n *testNode) process() []pb.Message {
	return n.appendReadyMessages(nil)
}

// appendReadyMessages is process appending to msgs.
func (n *testNode) appendReadyMessages(msgs []pb.Message) []pb.Message {
	for n.HasReady() {
		if n.raft.cfg.asyncStorageWrites {
			msgs = n.processAsyncOnce(msgs)
		} else {
			msgs = append(msgs, n.processOnce().Messages...)
		}
	}
	return msgs
}

// processAsyncOnce handles one Ready with AsyncStorageWrites: the storage
// work is done at once and in order, as by perfectly prompt local threads.
// It appends the messages for other peers to out.
func (n *testNode) processAsyncOnce(out []pb.Message) []pb.Message {
	rd := n.Ready()
	n.recordReadStates(rd.ReadStates)
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
// Advance. It returns the Ready, whose messages are the caller's to send.
func (n *testNode) processOnce() Ready {
	rd := n.Ready()
	n.persist(rd)
	n.apply(rd.CommittedEntries)
	n.recordReadStates(rd.ReadStates)
	n.Advance(rd)
	return rd
}

func (n *testNode) persist(rd Ready) {
	if !IsEmptySnap(rd.Snapshot) {
		if err := n.storage.ApplySnapshot(rd.Snapshot); err != nil {
			panic(fmt.Sprintf("applying snapshot %v: %v", rd.Snapshot.Metadata, err))
		}
		n.appliedIndex = rd.Snapshot.Metadata.Index
	}
	if err := n.storage.Append(rd.Entries); err != nil {
		panic(fmt.Sprintf("appending %d entries: %v", len(rd.Entries), err))
	}
	if !IsEmptyHardState(rd.HardState) {
		_ = n.storage.SetHardState(rd.HardState)
	}
}

// apply applies committed entries: it records them and applies the
// configuration changes among them. It panics if they do not follow what
// was applied before, which the Ready contract rules out.
func (n *testNode) apply(ents []pb.Entry) {
	if len(ents) == 0 {
		return
	}
	if first := ents[0].Index; first != n.appliedIndex+1 {
		panic(fmt.Sprintf("peer %x: got entries from %d to apply after %d, want consecutive entries", n.raft.id, first, n.appliedIndex))
	}
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
	}
	n.appliedIndex = ents[len(ents)-1].Index
	if !n.forgetApplied {
		n.applied = append(n.applied, ents...)
	}
}

func (n *testNode) recordReadStates(rs []ReadState) {
	n.readCount += len(rs)
	if !n.forgetApplied {
		n.readStates = append(n.readStates, rs...)
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

// stepAndCollect steps m into n, runs its Ready cycles, and returns the
// messages it sends.
func (n *testNode) stepAndCollect(m pb.Message) []pb.Message {
	if err := n.Step(m); err != nil {
		panic(fmt.Sprintf("stepping %v: %v", m.Type, err))
	}
	return n.process()
}

// receive steps a message that came over the network. A local message
// (MsgHup, MsgBeat, ...) stands for an event a test injects and goes to
// the core, as Tick and Campaign send theirs; any other goes through
// RawNode.Step, as an application's would. What a peer may refuse in a
// running cluster - a proposal without a leader, a response from a peer
// removed since - is dropped; any other error is a broken test.
func (n *testNode) receive(m pb.Message) {
	var err error
	if IsLocalMsg(m.Type) {
		err = n.raft.Step(m)
	} else {
		err = n.Step(m)
	}
	if err != nil && !errors.Is(err, ErrProposalDropped) && !errors.Is(err, ErrStepPeerNotFound) {
		panic(fmt.Sprintf("peer %x: stepping %s: %v", n.raft.id, DescribeMessage(m, nil), err))
	}
}

// maxDeliveries bounds one call of network.send, so that a livelock fails
// the test instead of hanging it.
const maxDeliveries = 1 << 20

// network delivers messages between test peers.
type network struct {
	nodes map[uint64]*testNode
	// filter, if set, sees every message first, in delivery order, and
	// drops those it returns false for.
	filter func(pb.Message) bool
	// cut holds the dropped directed links.
	cut map[[2]uint64]bool
	// down holds the crashed peers: they handle no Ready, and messages to
	// them are lost.
	down map[uint64]bool
	// recordDelivered makes send keep every message it delivers, in order,
	// in delivered.
	recordDelivered bool
	delivered       []pb.Message
	// queue and idBuf are the buffers of send and flush, kept between
	// calls so that delivery allocates little once warm. Nil while in use.
	queue []pb.Message
	idBuf []uint64
}

func newNetwork(nodes ...*testNode) *network {
	nw := &network{
		nodes: make(map[uint64]*testNode),
		cut:   make(map[[2]uint64]bool),
		down:  make(map[uint64]bool),
	}
	for _, n := range nodes {
		nw.nodes[n.raft.id] = n
	}
	return nw
}

// send delivers msgs, and every message they cause, until none is left.
// A message is dropped if the filter refuses it, its link is cut, or its
// recipient is missing or down.
func (nw *network) send(msgs ...pb.Message) {
	nw.deliver(append(nw.takeQueue(), msgs...))
}

// flush processes every live peer's Ready, in the order of their IDs, and
// delivers the results of each before the next. The network is quiet
// afterwards: every peer that received a message has processed it.
func (nw *network) flush() {
	// NB: the buffers are taken, not borrowed, so that a flush or send from
	// inside the filter gets buffers of its own.
	ids := nw.sortedIDs(nw.idBuf[:0])
	nw.idBuf = nil
	for _, id := range ids {
		if !nw.down[id] {
			nw.deliver(nw.nodes[id].appendReadyMessages(nw.takeQueue()))
		}
	}
	nw.idBuf = ids
}

// takeQueue returns the delivery buffer, emptied; nw.queue stays nil until
// deliver hands the buffer back.
func (nw *network) takeQueue() []pb.Message {
	q := nw.queue[:0]
	nw.queue = nil
	return q
}

// deliver delivers the messages of queue in order, appending to it what
// each recipient sends in turn, until it is exhausted; then keeps it as
// the delivery buffer.
func (nw *network) deliver(queue []pb.Message) {
	for i := 0; i < len(queue); i++ {
		if i == maxDeliveries {
			panic(fmt.Sprintf("network still busy after %d deliveries", i))
		}
		m := queue[i]
		if nw.filter != nil && !nw.filter(m) {
			continue
		}
		n := nw.nodes[m.To]
		if n == nil || nw.cut[[2]uint64{m.From, m.To}] || nw.down[m.To] {
			continue
		}
		if nw.recordDelivered {
			nw.delivered = append(nw.delivered, m)
		}
		n.receive(m)
		queue = n.appendReadyMessages(queue)
	}
	clear(queue)
	nw.queue = queue[:0]
}

// ids returns the IDs of the peers, in increasing order.
func (nw *network) ids() []uint64 { return nw.sortedIDs(nil) }

// sortedIDs appends the IDs of the peers to buf, in increasing order.
func (nw *network) sortedIDs(buf []uint64) []uint64 {
	for id := range nw.nodes {
		buf = append(buf, id)
	}
	slices.Sort(buf)
	return buf
}

// campaign makes peer id start an election and runs it to completion.
func (nw *network) campaign(id uint64) {
	nw.send(pb.Message{From: id, To: id, Type: pb.MsgHup})
}

// propose proposes data at peer id and runs replication to completion.
func (nw *network) propose(id uint64, data string) {
	nw.send(pb.Message{From: id, To: id, Type: pb.MsgProp, Entries: []pb.Entry{{Data: []byte(data)}}})
}

// proposeConfChange proposes cc at peer id and runs the network to quiet.
func (nw *network) proposeConfChange(t *testing.T, id uint64, cc pb.ConfChangeI) {
	t.Helper()
	require.NoError(t, nw.nodes[id].ProposeConfChange(cc))
	nw.send(nw.nodes[id].process()...)
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

// heal restores every link and removes the filter. Crashed peers stay
// down.
func (nw *network) heal() {
	clear(nw.cut)
	nw.filter = nil
}

// tick ticks every live peer once and delivers what results.
func (nw *network) tick() { nw.tickPeers(nw.ids()...) }

// tickPeers ticks the given peers (those alive) once each, in the order
// given, and delivers what results.
func (nw *network) tickPeers(ids ...uint64) {
	for _, id := range ids {
		if !nw.down[id] {
			nw.nodes[id].Tick()
		}
	}
	nw.flush()
}

// crash stops peer id: the Ready it has not handled and the messages on
// their way to it are lost; its storage survives.
func (nw *network) crash(id uint64) { nw.down[id] = true }

// restart brings peer id back with a new RawNode over its storage.
func (nw *network) restart(id uint64) {
	nw.nodes[id].restart()
	delete(nw.down, id)
}

// leaders returns the live peers that believe they lead, in increasing
// order.
func (nw *network) leaders() []uint64 {
	var ids []uint64
	for _, id := range nw.ids() {
		if !nw.down[id] && nw.nodes[id].raft.state == StateLeader {
			ids = append(ids, id)
		}
	}
	return ids
}

// afterAppendMsgs returns the messages r queued to leave once its writes
// are durable, its own append acknowledgement included, without taking
// them.
func afterAppendMsgs(r *raft) []pb.Message {
	msgs := slices.Clone(r.out.afterAppend)
	if r.out.ownAck.index != 0 {
		msgs = append(msgs, r.out.ownAck.message(r.id))
	}
	return msgs
}

// msgTypes returns the types of msgs, for compact assertions.
func msgTypes(msgs []pb.Message) []pb.MessageType {
	out := make([]pb.MessageType, len(msgs))
	for i, m := range msgs {
		out[i] = m.Type
	}
	return out
}

// msgsOf returns the messages of msgs addressed to id with type t.
func msgsOf(msgs []pb.Message, t pb.MessageType, to uint64) []pb.Message {
	var out []pb.Message
	for _, m := range msgs {
		if m.Type == t && m.To == to {
			out = append(out, m)
		}
	}
	return out
}

// confStateOf returns the configuration peer n is in.
func confStateOf(n *testNode) pb.ConfState { return confState(n.raft.conf.config()) }

// confState returns cfg as the ConfState recorded in snapshots, as
// tracker.ProgressTracker makes it: what membership.confState must match.
func confState(cfg tracker.Config) pb.ConfState {
	trk := tracker.ProgressTracker{Config: cfg}
	return trk.ConfState()
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

// leaderWithFollowers elects 1 in a cluster of n, returns the nodes and the
// network, with opts applied to every peer.
func leaderWithFollowers(t *testing.T, n int, opts ...testOption) ([]*testNode, *network) {
	nodes := newTestCluster(t, n, opts...)
	nw := electLeader(t, nodes...)
	return nodes, nw
}
