package raft_test

// A small, deterministic, in-memory harness for the paper tests and the
// benchmarks. It uses only the exported API: every node is a RawNode over a
// MemoryStorage, the application loop is synchronous (a Ready is persisted,
// then its messages are sent, then its committed entries are applied), and
// messages travel through an in-process FIFO queue that a test may filter.
//
// Nothing here reads a clock or a random source: a test decides when nodes
// tick, campaign or crash. The only randomness is the core's own election
// timeout, which the tests below either observe on purpose or sidestep by
// calling Campaign.

import (
	"fmt"
	"io"
	"log"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

const (
	// testElectionTick and testHeartbeatTick are the tick counts every test
	// node uses unless an option overrides them.
	testElectionTick  = 10
	testHeartbeatTick = 1

	// bootIndex and bootTerm locate the snapshot every test node starts
	// from. It holds only the cluster membership, so a node's log begins
	// right after it, at index bootIndex+1. (MemoryStorage cannot take a
	// snapshot at index 0, hence 1.)
	bootIndex = 1
	bootTerm  = 1

	// maxStabilizeRounds bounds cluster.stabilize so that a livelock fails
	// the test instead of hanging it.
	maxStabilizeRounds = 10000
)

// discardLogger keeps test output readable: the core logs every state change.
var discardLogger = &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)}

// nodeSpec describes how newTestNode builds a node's storage and Config.
type nodeSpec struct {
	voters []uint64
	// logTerms are the terms of the entries at bootIndex+1, bootIndex+2, ...
	// Invariant: non-decreasing and >= bootTerm.
	logTerms []uint64
	// hardState is stored as is when non-zero; otherwise the node starts at
	// the last term of its log, with no vote and nothing but the boot
	// snapshot committed.
	hardState pb.HardState
	configure []func(*raft.Config)
}

// nodeOption adjusts a nodeSpec.
type nodeOption func(*nodeSpec)

// withLog gives the node a log holding entries of the given terms after the
// boot snapshot. Entry i carries data "i@term", so two logs holding the same
// (index, term) hold the same entry, as the Log Matching Property demands.
func withLog(terms ...uint64) nodeOption {
	return func(s *nodeSpec) { s.logTerms = terms }
}

// withHardState sets the node's persisted term, vote and commit index.
func withHardState(term, vote, commit uint64) nodeOption {
	return func(s *nodeSpec) { s.hardState = pb.HardState{Term: term, Vote: vote, Commit: commit} }
}

// withConfig lets a test change the Config before the RawNode is created.
func withConfig(f func(*raft.Config)) nodeOption {
	return func(s *nodeSpec) { s.configure = append(s.configure, f) }
}

// entryData is the payload withLog stores at (index, term).
func entryData(index, term uint64) []byte {
	return []byte(fmt.Sprintf("%d@%d", index, term))
}

// testNode is one RawNode together with the storage and state machine the
// synchronous application loop maintains for it.
type testNode struct {
	t       testing.TB
	id      uint64
	cfg     raft.Config
	rn      *raft.RawNode
	storage *raft.MemoryStorage

	// recordApplied makes handleReady keep applied entries; benchmarks turn
	// it off so memory stays flat.
	recordApplied bool
	// applied lists, in order, every committed entry the node handed to its
	// state machine. Invariant: applied[i].Index == applied[i-1].Index+1.
	applied []pb.Entry
	// readCount counts the read states handed out, recorded or not.
	readCount int
	// appliedIndex is the index of the last applied entry, restored into
	// Config.Applied when the node restarts.
	appliedIndex uint64
}

// newTestNode creates node id of a cluster whose voters are spec.voters
// (default: id alone). The node starts from the boot snapshot followed by
// the entries withLog asks for.
func newTestNode(t testing.TB, id uint64, voters []uint64, opts ...nodeOption) *testNode {
	t.Helper()
	spec := nodeSpec{voters: voters}
	if len(spec.voters) == 0 {
		spec.voters = []uint64{id}
	}
	for _, o := range opts {
		o(&spec)
	}
	storage := raft.NewMemoryStorage()
	snap := pb.Snapshot{Metadata: pb.SnapshotMetadata{
		Index:     bootIndex,
		Term:      bootTerm,
		ConfState: pb.ConfState{Voters: slices.Clone(spec.voters)},
	}}
	require.NoError(t, storage.ApplySnapshot(snap))
	ents := make([]pb.Entry, len(spec.logTerms))
	lastTerm := uint64(bootTerm)
	for i, term := range spec.logTerms {
		index := uint64(bootIndex + 1 + i)
		ents[i] = pb.Entry{Index: index, Term: term, Data: entryData(index, term)}
		lastTerm = term
	}
	require.NoError(t, storage.Append(ents))
	hs := spec.hardState
	if raft.IsEmptyHardState(hs) {
		hs = pb.HardState{Term: lastTerm, Commit: bootIndex}
	}
	require.NoError(t, storage.SetHardState(hs))

	cfg := raft.Config{
		ID:              id,
		ElectionTick:    testElectionTick,
		HeartbeatTick:   testHeartbeatTick,
		Storage:         storage,
		MaxSizePerMsg:   math.MaxUint64,
		MaxInflightMsgs: 256,
		Logger:          discardLogger,
		RandomSource:    rand.NewPCG(id, id^0x9e3779b97f4a7c15),
	}
	for _, f := range spec.configure {
		f(&cfg)
	}
	n := &testNode{t: t, id: id, cfg: cfg, storage: storage, recordApplied: true, appliedIndex: bootIndex}
	n.start()
	return n
}

// start creates the RawNode over the node's storage, as a process does when
// it (re)starts: only what the storage holds survives.
func (n *testNode) start() {
	cfg := n.cfg
	cfg.Applied = n.appliedIndex
	rn, err := raft.NewRawNode(&cfg)
	if err != nil {
		n.t.Fatalf("node %d: NewRawNode: %v", n.id, err)
	}
	n.rn = rn
}

// handleReady runs one iteration of the synchronous application loop and
// returns the Ready it handled: persist snapshot, entries and HardState, then
// apply committed entries, then Advance. The caller sends rd.Messages.
func (n *testNode) handleReady() raft.Ready {
	rd := n.rn.Ready()
	if !raft.IsEmptySnap(rd.Snapshot) {
		n.check(n.storage.ApplySnapshot(rd.Snapshot))
		n.appliedIndex = rd.Snapshot.Metadata.Index
	}
	if len(rd.Entries) > 0 {
		n.check(n.storage.Append(rd.Entries))
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		n.check(n.storage.SetHardState(rd.HardState))
	}
	if k := len(rd.CommittedEntries); k > 0 {
		if first := rd.CommittedEntries[0].Index; first != n.appliedIndex+1 {
			n.t.Fatalf("node %d: applying index %d after %d: got a gap, want consecutive entries", n.id, first, n.appliedIndex)
		}
		n.appliedIndex = rd.CommittedEntries[k-1].Index
	}
	n.readCount += len(rd.ReadStates)
	if n.recordApplied {
		n.applied = append(n.applied, rd.CommittedEntries...)
	}
	n.rn.Advance(rd)
	return rd
}

// drain handles Readies until none is left and returns their messages in
// the order the node emitted them.
func (n *testNode) drain() []pb.Message {
	var msgs []pb.Message
	for n.rn.HasReady() {
		msgs = append(msgs, n.handleReady().Messages...)
	}
	return msgs
}

// step delivers m to the node and fails the test if the node refuses it.
func (n *testNode) step(m pb.Message) {
	n.t.Helper()
	if m.To == 0 {
		m.To = n.id
	}
	if err := n.rn.Step(m); err != nil {
		n.t.Fatalf("node %d: Step(%s): %v", n.id, raft.DescribeMessage(m, nil), err)
	}
}

// stepAndDrain delivers m and returns the messages the node sends in reply.
func (n *testNode) stepAndDrain(m pb.Message) []pb.Message {
	n.t.Helper()
	n.step(m)
	return n.drain()
}

// campaignAndWin makes the node campaign and hands it a granted (pre-)vote
// from every other voter, then drains it. The node ends up leader of the
// next term, with its empty entry appended and every follower in probe
// state.
func (n *testNode) campaignAndWin() {
	n.t.Helper()
	require.NoError(n.t, n.rn.Campaign())
	n.drain()
	// Under PreVote the node first collects pre-votes for the next term,
	// then votes in it.
	for range 2 {
		st := n.status()
		grant := pb.Message{Type: pb.MsgVoteResp, Term: st.Term}
		switch st.RaftState {
		case raft.StatePreCandidate:
			grant = pb.Message{Type: pb.MsgPreVoteResp, Term: st.Term + 1}
		case raft.StateLeader:
			return
		}
		for _, id := range n.followers() {
			if n.status().RaftState == st.RaftState {
				grant.From = id
				n.step(grant)
			}
		}
		n.drain()
	}
	if got := n.status().RaftState; got != raft.StateLeader {
		n.t.Fatalf("node %d after winning the votes: got %v, want %v", n.id, got, raft.StateLeader)
	}
}

// becomeStableLeader is campaignAndWin followed by every follower
// acknowledging the leader's whole log, so that all followers are in
// replicate state and the leader's empty entry is committed.
func (n *testNode) becomeStableLeader() {
	n.t.Helper()
	n.campaignAndWin()
	n.ackFrom(n.lastIndex(), n.followers()...)
	n.drain()
}

// ackFrom steps a successful MsgAppResp for index from each follower.
func (n *testNode) ackFrom(index uint64, followers ...uint64) {
	n.t.Helper()
	term := n.status().Term
	for _, id := range followers {
		n.step(pb.Message{Type: pb.MsgAppResp, From: id, Term: term, Index: index})
	}
}

func (n *testNode) status() raft.BasicStatus { return n.rn.BasicStatus() }

// hardState returns the persisted HardState: what survives a crash.
func (n *testNode) hardState() pb.HardState {
	hs, _, err := n.storage.InitialState()
	n.check(err)
	return hs
}

// voters returns the node's voters in increasing order.
func (n *testNode) voters() []uint64 {
	return slices.Sorted(maps.Keys(n.rn.Status().Config.Voters.IDs()))
}

// followers returns the voters other than the node itself.
func (n *testNode) followers() []uint64 {
	return slices.DeleteFunc(n.voters(), func(id uint64) bool { return id == n.id })
}

// lastIndex returns the index of the last persisted entry.
func (n *testNode) lastIndex() uint64 {
	last, err := n.storage.LastIndex()
	n.check(err)
	return last
}

// entries returns the persisted log after the boot snapshot.
func (n *testNode) entries() []pb.Entry {
	first, err := n.storage.FirstIndex()
	n.check(err)
	last := n.lastIndex()
	if last < first {
		return nil
	}
	ents, err := n.storage.Entries(first, last+1, math.MaxUint64)
	n.check(err)
	return ents
}

// logTerms returns the terms of the persisted entries after the boot
// snapshot: entry bootIndex+1 first.
func (n *testNode) logTerms() []uint64 { return termsOf(n.entries()) }

// appliedIDs renders the applied entries as "index@term".
func (n *testNode) appliedIDs() []string { return idsOf(n.applied) }

func (n *testNode) check(err error) {
	if err != nil {
		n.t.Fatalf("node %d: %v", n.id, err)
	}
}

// termsOf returns the term of each entry.
func termsOf(ents []pb.Entry) []uint64 {
	terms := make([]uint64, len(ents))
	for i, e := range ents {
		terms[i] = e.Term
	}
	return terms
}

// idsOf renders each entry as "index@term".
func idsOf(ents []pb.Entry) []string {
	ids := make([]string, len(ents))
	for i, e := range ents {
		ids[i] = fmt.Sprintf("%d@%d", e.Index, e.Term)
	}
	return ids
}

// ofType returns the messages of type typ, in order.
func ofType(msgs []pb.Message, typ pb.MessageType) []pb.Message {
	var out []pb.Message
	for _, m := range msgs {
		if m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

// byRecipient counts messages per recipient.
func byRecipient(msgs []pb.Message) map[uint64]int {
	count := make(map[uint64]int)
	for _, m := range msgs {
		count[m.To]++
	}
	return count
}

// cluster connects test nodes through an in-process message queue.
type cluster struct {
	t     testing.TB
	ids   []uint64
	nodes map[uint64]*testNode
	// down holds crashed nodes: they handle no Ready, and messages to them
	// are lost.
	down map[uint64]bool
	// filter, when set, sees every message about to be delivered, in
	// delivery order, and reports whether to drop it. Messages to crashed
	// nodes are lost whatever it says.
	filter func(m pb.Message) bool

	// queue holds messages sent but not yet delivered; spare is the other
	// half of a double buffer so that delivery allocates nothing once warm.
	queue, spare []pb.Message
}

// newCluster creates size voters with IDs 1..size, all built with opts.
func newCluster(t testing.TB, size int, opts ...nodeOption) *cluster {
	t.Helper()
	voters := make([]uint64, size)
	for i := range voters {
		voters[i] = uint64(i + 1)
	}
	nodes := make([]*testNode, size)
	for i, id := range voters {
		nodes[i] = newTestNode(t, id, voters, opts...)
	}
	return newClusterOf(t, nodes...)
}

// newClusterOf connects nodes built by the caller.
func newClusterOf(t testing.TB, nodes ...*testNode) *cluster {
	c := &cluster{t: t, nodes: make(map[uint64]*testNode), down: make(map[uint64]bool)}
	for _, n := range nodes {
		c.ids = append(c.ids, n.id)
		c.nodes[n.id] = n
	}
	slices.Sort(c.ids)
	return c
}

func (c *cluster) node(id uint64) *testNode { return c.nodes[id] }

// stabilize alternates handling every live node's Readies and delivering the
// queued messages until no node has a Ready and no message is in flight.
//
// NB: it skips t.Helper, whose stack walk would weigh on the benchmarks.
func (c *cluster) stabilize() {
	for round := 0; ; round++ {
		if round == maxStabilizeRounds {
			c.t.Fatalf("cluster still busy after %d rounds", round)
		}
		busy := false
		for _, id := range c.ids {
			n := c.nodes[id]
			for !c.down[id] && n.rn.HasReady() {
				busy = true
				c.queue = append(c.queue, n.handleReady().Messages...)
			}
		}
		if !busy && len(c.queue) == 0 {
			return
		}
		c.deliver()
	}
}

// deliver steps every queued message into its recipient, unless the
// recipient is down or the filter drops it.
func (c *cluster) deliver() {
	msgs := c.queue
	c.queue = c.spare[:0]
	for i := range msgs {
		m := &msgs[i]
		if c.filter != nil && c.filter(*m) {
			continue
		}
		n, ok := c.nodes[m.To]
		if !ok || c.down[m.To] {
			continue
		}
		// A follower without a leader drops forwarded proposals; that is
		// the documented outcome, not a harness failure.
		if err := n.rn.Step(*m); err != nil && err != raft.ErrProposalDropped {
			c.t.Fatalf("node %d: Step(%s): %v", m.To, raft.DescribeMessage(*m, nil), err)
		}
	}
	clear(msgs)
	c.spare = msgs[:0]
}

// tick ticks the given nodes once each (skipping crashed ones).
func (c *cluster) tick(ids ...uint64) {
	for _, id := range ids {
		if !c.down[id] {
			c.nodes[id].rn.Tick()
		}
	}
}

// campaign makes node id campaign and lets the cluster settle.
func (c *cluster) campaign(id uint64) {
	c.t.Helper()
	require.NoError(c.t, c.nodes[id].rn.Campaign())
	c.stabilize()
}

// propose proposes data at node id and lets the cluster settle.
func (c *cluster) propose(id uint64, data []byte) {
	c.t.Helper()
	require.NoError(c.t, c.nodes[id].rn.Propose(data))
	c.stabilize()
}

// crash stops node id: its RawNode and in-flight messages are lost; its
// storage survives.
func (c *cluster) crash(id uint64) { c.down[id] = true }

// restart brings node id back with a fresh RawNode over its storage.
func (c *cluster) restart(id uint64) {
	c.nodes[id].start()
	delete(c.down, id)
}

// campaignUntilLeader makes node id campaign, at most attempts times, until
// it wins, and reports whether it did.
func (c *cluster) campaignUntilLeader(id uint64, attempts int) bool {
	c.t.Helper()
	for range attempts {
		c.campaign(id)
		if c.nodes[id].status().RaftState == raft.StateLeader {
			return true
		}
	}
	return false
}

// leaders returns the live nodes that believe they are leader.
func (c *cluster) leaders() []uint64 {
	var ids []uint64
	for _, id := range c.ids {
		if !c.down[id] && c.nodes[id].status().RaftState == raft.StateLeader {
			ids = append(ids, id)
		}
	}
	return ids
}
