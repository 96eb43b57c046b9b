package raft_test

// Paper tests: one test per rule of section 5 of the Raft paper ("In Search
// of an Understandable Consensus Algorithm (Extended Version)", Ongaro and
// Ousterhout, 2014). Each test is named TestPaper<section>_<rule> and its
// doc comment quotes or paraphrases the sentence it checks. They drive
// peers through the exported API only, on the harness of harness_test.go
// (exported to this package by export_test.go): a single peer is fed
// hand-built messages when a rule concerns one server's reaction, and a
// TestNetwork is used when a rule concerns several.
//
// Where the library deliberately refines the paper (a rejected candidate
// returns to follower; a new leader appends an empty entry, section 8), the
// test says so.
//
// This file holds the fixtures every paper test starts from and covers
// section 5.1; the others are in paper_*_test.go.

import (
	"fmt"
	"io"
	"log"
	"maps"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

const (
	// testElectionTick and testHeartbeatTick are the tick counts every test
	// peer uses unless an option overrides them.
	testElectionTick  = raft.TestElectionTick
	testHeartbeatTick = raft.TestHeartbeatTick

	// bootIndex and bootTerm locate the snapshot every paper-test peer
	// starts from. It holds only the cluster membership, so a peer's log
	// begins right after it, at index bootIndex+1. (MemoryStorage cannot
	// take a snapshot at index 0, hence 1.)
	bootIndex = 1
	bootTerm  = 1
)

// discardLogger keeps test output readable: the core logs every state change.
var discardLogger = &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)}

// nodeSpec describes how newBootNode builds a peer's storage and Config.
type nodeSpec struct {
	// logTerms are the terms of the entries at bootIndex+1, bootIndex+2, ...
	// Invariant: non-decreasing and >= bootTerm.
	logTerms []uint64
	// hardState is stored as is when non-zero; otherwise the peer starts at
	// the last term of its log, with no vote and nothing but the boot
	// snapshot committed.
	hardState pb.HardState
	configure []func(*raft.Config)
}

// nodeOption adjusts a nodeSpec.
type nodeOption func(*nodeSpec)

// withLog gives the peer a log holding entries of the given terms after the
// boot snapshot. Entry i carries data "i@term", so two logs holding the same
// (index, term) hold the same entry, as the Log Matching Property demands.
func withLog(terms ...uint64) nodeOption {
	return func(s *nodeSpec) { s.logTerms = terms }
}

// withHardState sets the peer's persisted term, vote and commit index.
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

// newBootNode creates peer id of a cluster whose voters are voters
// (default: id alone). Its storage holds the boot snapshot followed by the
// entries withLog asks for.
func newBootNode(t testing.TB, id uint64, voters []uint64, opts ...nodeOption) *raft.TestNode {
	t.Helper()
	if len(voters) == 0 {
		voters = []uint64{id}
	}
	var spec nodeSpec
	for _, o := range opts {
		o(&spec)
	}
	storage := raft.NewMemoryStorage()
	snap := pb.Snapshot{Metadata: pb.SnapshotMetadata{
		Index:     bootIndex,
		Term:      bootTerm,
		ConfState: pb.ConfState{Voters: slices.Clone(voters)},
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
	return raft.NewTestNode(t, id, storage, spec.configure...)
}

// newBootNetwork connects size voters with IDs 1..size, all built with
// opts.
func newBootNetwork(t testing.TB, size int, opts ...nodeOption) *raft.TestNetwork {
	t.Helper()
	voters := make([]uint64, size)
	for i := range voters {
		voters[i] = uint64(i + 1)
	}
	nodes := make([]*raft.TestNode, size)
	for i, id := range voters {
		nodes[i] = newBootNode(t, id, voters, opts...)
	}
	return raft.NewTestNetwork(nodes...)
}

// step delivers m to n, addressed to n unless m says otherwise, and fails
// the test if n refuses it.
func step(t testing.TB, n *raft.TestNode, m pb.Message) {
	t.Helper()
	if m.To == 0 {
		m.To = n.ID()
	}
	if err := n.Step(m); err != nil {
		t.Fatalf("peer %d: Step(%s): %v", n.ID(), raft.DescribeMessage(m, nil), err)
	}
}

// stepAndProcess delivers m and returns the messages n sends in reply.
func stepAndProcess(t testing.TB, n *raft.TestNode, m pb.Message) []pb.Message {
	t.Helper()
	step(t, n, m)
	return n.Process()
}

// campaignAndWin makes n campaign and hands it a granted (pre-)vote from
// every other voter, then processes its Readies. n ends up leader of the
// next term, with its empty entry appended and every follower in probe
// state.
func campaignAndWin(t testing.TB, n *raft.TestNode) {
	t.Helper()
	require.NoError(t, n.Campaign())
	n.Process()
	// Under PreVote the peer first collects pre-votes for the next term,
	// then votes in it.
	for range 2 {
		st := n.BasicStatus()
		grant := pb.Message{Type: pb.MsgVoteResp, Term: st.Term}
		switch st.RaftState {
		case raft.StatePreCandidate:
			grant = pb.Message{Type: pb.MsgPreVoteResp, Term: st.Term + 1}
		case raft.StateLeader:
			return
		}
		for _, id := range followers(n) {
			if n.BasicStatus().RaftState == st.RaftState {
				grant.From = id
				step(t, n, grant)
			}
		}
		n.Process()
	}
	if got := n.BasicStatus().RaftState; got != raft.StateLeader {
		t.Fatalf("peer %d after winning the votes: got %v, want %v", n.ID(), got, raft.StateLeader)
	}
}

// becomeStableLeader is campaignAndWin followed by every follower
// acknowledging the leader's whole log, so that all followers are in
// replicate state and the leader's empty entry is committed.
func becomeStableLeader(t testing.TB, n *raft.TestNode) {
	t.Helper()
	campaignAndWin(t, n)
	ackFrom(t, n, lastIndex(t, n), followers(n)...)
	n.Process()
}

// ackFrom steps into leader n a successful MsgAppResp for index from each
// follower.
func ackFrom(t testing.TB, n *raft.TestNode, index uint64, followers ...uint64) {
	t.Helper()
	term := n.BasicStatus().Term
	for _, id := range followers {
		step(t, n, pb.Message{Type: pb.MsgAppResp, From: id, Term: term, Index: index})
	}
}

// hardState returns n's persisted HardState: what survives a crash.
func hardState(t testing.TB, n *raft.TestNode) pb.HardState {
	t.Helper()
	hs, _, err := n.Storage().InitialState()
	require.NoError(t, err)
	return hs
}

// followers returns n's voters other than n, in increasing order.
func followers(n *raft.TestNode) []uint64 {
	voters := slices.Sorted(maps.Keys(n.Status().Config.Voters.IDs()))
	return slices.DeleteFunc(voters, func(id uint64) bool { return id == n.ID() })
}

// lastIndex returns the index of n's last persisted entry.
func lastIndex(t testing.TB, n *raft.TestNode) uint64 {
	t.Helper()
	last, err := n.Storage().LastIndex()
	require.NoError(t, err)
	return last
}

// entries returns n's persisted log after its snapshot.
func entries(t testing.TB, n *raft.TestNode) []pb.Entry {
	t.Helper()
	first, err := n.Storage().FirstIndex()
	require.NoError(t, err)
	last := lastIndex(t, n)
	if last < first {
		return nil
	}
	ents, err := n.Storage().Entries(first, last+1, math.MaxUint64)
	require.NoError(t, err)
	return ents
}

// logTerms returns the terms of n's persisted entries after the boot
// snapshot: entry bootIndex+1 first.
func logTerms(t testing.TB, n *raft.TestNode) []uint64 { return termsOf(entries(t, n)) }

// appliedIDs renders n's applied entries as "index@term".
func appliedIDs(n *raft.TestNode) []string { return idsOf(n.Applied()) }

// propose proposes data at peer id and delivers what results.
func propose(t testing.TB, c *raft.TestNetwork, id uint64, data string) {
	t.Helper()
	require.NoError(t, c.Node(id).Propose([]byte(data)))
	c.Flush()
}

// campaignUntilLeader makes peer id campaign, at most attempts times, until
// it wins, and reports whether it did.
func campaignUntilLeader(c *raft.TestNetwork, id uint64, attempts int) bool {
	for range attempts {
		c.Campaign(id)
		if c.Node(id).BasicStatus().RaftState == raft.StateLeader {
			return true
		}
	}
	return false
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

// nodeInRole returns node 1 of the voters {1, 2, 3} in the given role at
// term 2. The leader has appended its empty entry at index bootIndex+1.
func nodeInRole(t *testing.T, role raft.StateType, opts ...nodeOption) *raft.TestNode {
	t.Helper()
	voters := []uint64{1, 2, 3}
	switch role {
	case raft.StateFollower:
		return newBootNode(t, 1, voters, append(opts, withHardState(2, 0, bootIndex))...)
	case raft.StateCandidate:
		n := newBootNode(t, 1, voters, opts...)
		require.NoError(t, n.Campaign())
		n.Process()
		return n
	case raft.StateLeader:
		n := newBootNode(t, 1, voters, opts...)
		campaignAndWin(t, n)
		return n
	}
	t.Fatalf("nodeInRole: unsupported role %v", role)
	return nil
}

var testRoles = []raft.StateType{raft.StateFollower, raft.StateCandidate, raft.StateLeader}

// TestPaper5_1_UpdateTermFromHigherTermMessage checks section 5.1: "If one
// server's current term is smaller than the other's, then it updates its
// current term to the larger value. If a candidate or leader discovers that
// its term is out of date, it immediately reverts to follower state."
func TestPaper5_1_UpdateTermFromHigherTermMessage(t *testing.T) {
	msgs := []struct {
		name     string
		msg      pb.Message
		wantLead uint64
	}{
		{"append", pb.Message{Type: pb.MsgApp, From: 2, Term: 5, Index: bootIndex, LogTerm: bootTerm}, 2},
		{"heartbeat", pb.Message{Type: pb.MsgHeartbeat, From: 2, Term: 5}, 2},
		// NB: a vote request reveals a newer term but no leader.
		{"vote request", pb.Message{Type: pb.MsgVote, From: 2, Term: 5, Index: 100, LogTerm: 4}, raft.None},
	}
	for _, role := range testRoles {
		for _, tt := range msgs {
			t.Run(role.String()+"/"+tt.name, func(t *testing.T) {
				n := nodeInRole(t, role)
				stepAndProcess(t, n, tt.msg)
				st := n.BasicStatus()
				assert.Equal(t, tt.msg.Term, st.Term, "term")
				assert.Equal(t, raft.StateFollower, st.RaftState, "state")
				assert.Equal(t, tt.wantLead, st.Lead, "leader")
				assert.Equal(t, tt.msg.Term, hardState(t, n).Term, "persisted term")
			})
		}
	}
}

// TestPaper5_1_RejectStaleTermRequest checks section 5.1: "If a server
// receives a request with a stale term number, it rejects the request." The
// node keeps its term, role, log, commit index and vote.
func TestPaper5_1_RejectStaleTermRequest(t *testing.T) {
	const staleTerm = 1 // every role below is at term 2
	reqs := []struct {
		name string
		msg  pb.Message
	}{
		{"append", pb.Message{Type: pb.MsgApp, From: 2, Term: staleTerm, Index: bootIndex, LogTerm: bootTerm,
			Entries: []pb.Entry{{Index: bootIndex + 1, Term: staleTerm}}, Commit: bootIndex + 1}},
		{"heartbeat", pb.Message{Type: pb.MsgHeartbeat, From: 2, Term: staleTerm, Commit: bootIndex + 1}},
		{"vote request", pb.Message{Type: pb.MsgVote, From: 2, Term: staleTerm, Index: 100, LogTerm: staleTerm}},
	}
	for _, role := range testRoles {
		for _, tt := range reqs {
			t.Run(role.String()+"/"+tt.name, func(t *testing.T) {
				n := nodeInRole(t, role)
				before := n.BasicStatus()
				beforeLog := logTerms(t, n)
				replies := stepAndProcess(t, n, tt.msg)
				after := n.BasicStatus()
				assert.Equal(t, before.RaftState, after.RaftState, "state")
				assert.Equal(t, before.HardState, after.HardState, "term, vote and commit")
				assert.Equal(t, beforeLog, logTerms(t, n), "log terms")
				for _, m := range ofType(replies, pb.MsgVoteResp) {
					assert.True(t, m.Reject, "got a granted vote for a stale candidate: %s, want none",
						raft.DescribeMessage(m, nil))
				}
			})
		}
	}
}

// TestPaper5_1_StaleSenderLearnsCurrentTerm checks section 5.1: "Current
// terms are exchanged whenever servers communicate". A server that drops a
// stale leader's append still answers it with its own term (under
// CheckQuorum or PreVote, where a stale leader could otherwise never learn
// it), and the stale leader then steps down.
func TestPaper5_1_StaleSenderLearnsCurrentTerm(t *testing.T) {
	for _, opt := range []struct {
		name string
		set  func(*raft.Config)
	}{
		{"check quorum", func(c *raft.Config) { c.CheckQuorum = true }},
		{"pre-vote", func(c *raft.Config) { c.PreVote = true }},
	} {
		t.Run(opt.name, func(t *testing.T) {
			stale := nodeInRole(t, raft.StateLeader, withConfig(opt.set))
			staleApp := pb.Message{Type: pb.MsgApp, From: 1, To: 2, Term: stale.BasicStatus().Term,
				Index: bootIndex, LogTerm: bootTerm}
			current := newBootNode(t, 2, []uint64{1, 2, 3}, withHardState(5, 0, bootIndex), withConfig(opt.set))
			replies := ofType(stepAndProcess(t, current, staleApp), pb.MsgAppResp)
			require.Len(t, replies, 1, "replies to the stale leader")
			require.Equal(t, uint64(5), replies[0].Term, "term of the reply")
			stepAndProcess(t, stale, replies[0])
			st := stale.BasicStatus()
			assert.Equal(t, raft.StateFollower, st.RaftState, "stale leader's state")
			assert.Equal(t, uint64(5), st.Term, "stale leader's term")
		})
	}
}
