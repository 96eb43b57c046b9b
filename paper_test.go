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
	"slices"
	"testing"

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
		n := newTestNode(t, 1, voters, append(opts, withHardState(2, 0, bootIndex))...)
		return n
	case raft.StateCandidate:
		n := newTestNode(t, 1, voters, opts...)
		mustNoErr(t, n.rn.Campaign())
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
				if st.Term != tt.msg.Term {
					t.Errorf("term: got %d, want %d", st.Term, tt.msg.Term)
				}
				if st.RaftState != raft.StateFollower {
					t.Errorf("state: got %v, want %v", st.RaftState, raft.StateFollower)
				}
				if st.Lead != tt.wantLead {
					t.Errorf("leader: got %d, want %d", st.Lead, tt.wantLead)
				}
				if hs, _, _ := n.storage.InitialState(); hs.Term != tt.msg.Term {
					t.Errorf("persisted term: got %d, want %d", hs.Term, tt.msg.Term)
				}
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
				if after.Term != before.Term || after.RaftState != before.RaftState {
					t.Errorf("term and state: got %d %v, want %d %v", after.Term, after.RaftState, before.Term, before.RaftState)
				}
				if after.Vote != before.Vote || after.Commit != before.Commit {
					t.Errorf("vote and commit: got %d %d, want %d %d", after.Vote, after.Commit, before.Vote, before.Commit)
				}
				if got := n.logTerms(); !slices.Equal(got, beforeLog) {
					t.Errorf("log terms: got %v, want %v", got, beforeLog)
				}
				for _, m := range replies {
					if m.Type == pb.MsgVoteResp && !m.Reject {
						t.Errorf("got a granted vote for a stale candidate: %s", raft.DescribeMessage(m, nil))
					}
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
			if len(replies) != 1 || replies[0].Term != 5 {
				t.Fatalf("replies to the stale leader: got %v, want one MsgAppResp at term 5", replies)
			}
			stale.stepAndDrain(replies[0])
			if st := stale.status(); st.RaftState != raft.StateFollower || st.Term != 5 {
				t.Errorf("stale leader: got %v at term %d, want %v at term 5", st.RaftState, st.Term, raft.StateFollower)
			}
		})
	}
}
