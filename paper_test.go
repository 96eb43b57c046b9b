package raft_test

// Paper tests: one test per rule of section 5 of the Raft paper ("In Search
// of an Understandable Consensus Algorithm (Extended Version)", Ongaro and
// Ousterhout, 2014). Each test is named TestPaper<section>_<rule> and its
// doc comment quotes or paraphrases the sentence it checks. They drive
// RawNodes through the exported API only: a single node is fed hand-built
// messages when a rule concerns one server's reaction, and the in-memory
// cluster of cluster_test.go is used when a rule concerns several.
//
// Where the library deliberately refines the paper (a rejected candidate
// returns to follower; a new leader appends an empty entry, section 8), the
// test says so.
//
// This file covers section 5.1; the others are in paper_*_test.go.

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// nodeInRole returns node 1 of the voters {1, 2, 3} in the given role at
// term 2. The leader has appended its empty entry at index bootIndex+1.
func nodeInRole(t *testing.T, role raft.StateType, opts ...nodeOption) *testNode {
	t.Helper()
	voters := []uint64{1, 2, 3}
	switch role {
	case raft.StateFollower:
		return newTestNode(t, 1, voters, append(opts, withHardState(2, 0, bootIndex))...)
	case raft.StateCandidate:
		n := newTestNode(t, 1, voters, opts...)
		require.NoError(t, n.rn.Campaign())
		n.drain()
		return n
	case raft.StateLeader:
		n := newTestNode(t, 1, voters, opts...)
		n.campaignAndWin()
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
				n.stepAndDrain(tt.msg)
				st := n.status()
				assert.Equal(t, tt.msg.Term, st.Term, "term")
				assert.Equal(t, raft.StateFollower, st.RaftState, "state")
				assert.Equal(t, tt.wantLead, st.Lead, "leader")
				assert.Equal(t, tt.msg.Term, n.hardState().Term, "persisted term")
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
				before := n.status()
				beforeLog := n.logTerms()
				replies := n.stepAndDrain(tt.msg)
				after := n.status()
				assert.Equal(t, before.RaftState, after.RaftState, "state")
				assert.Equal(t, before.HardState, after.HardState, "term, vote and commit")
				assert.Equal(t, beforeLog, n.logTerms(), "log terms")
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
			staleApp := pb.Message{Type: pb.MsgApp, From: 1, To: 2, Term: stale.status().Term,
				Index: bootIndex, LogTerm: bootTerm}
			current := newTestNode(t, 2, []uint64{1, 2, 3}, withHardState(5, 0, bootIndex), withConfig(opt.set))
			replies := ofType(current.stepAndDrain(staleApp), pb.MsgAppResp)
			require.Len(t, replies, 1, "replies to the stale leader")
			require.Equal(t, uint64(5), replies[0].Term, "term of the reply")
			stale.stepAndDrain(replies[0])
			st := stale.status()
			assert.Equal(t, raft.StateFollower, st.RaftState, "stale leader's state")
			assert.Equal(t, uint64(5), st.Term, "stale leader's term")
		})
	}
}
