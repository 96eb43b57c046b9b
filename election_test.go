package raft

import (
	"math/rand/v2"
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestElectionOutcomeDependsOnReachableQuorum(t *testing.T) {
	for _, tc := range []struct {
		name  string
		size  int
		up    []uint64 // peers present in the network; 1 campaigns
		state StateType
		pre   bool
	}{
		{"three of three", 3, []uint64{1, 2, 3}, StateLeader, false},
		{"two of three", 3, []uint64{1, 2}, StateLeader, false},
		{"one of three", 3, []uint64{1}, StateCandidate, false},
		{"three of five", 5, []uint64{1, 3, 5}, StateLeader, false},
		{"two of four", 4, []uint64{1, 4}, StateCandidate, false},
		{"pre-vote three of five", 5, []uint64{1, 2, 3}, StateLeader, true},
		{"pre-vote one of three stays pre-candidate", 3, []uint64{1}, StatePreCandidate, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []testOption
			if tc.pre {
				opts = append(opts, withPreVote())
			}
			all := newTestCluster(t, tc.size, opts...)
			var up []*testNode
			for _, id := range tc.up {
				up = append(up, all[id-1])
			}
			nw := newNetwork(up...)
			nw.campaign(1)
			got := all[0].raft.state
			assert.Equal(t, tc.state, got, "got state %v, want %v", got, tc.state)
			wantTerm := uint64(1)
			if tc.state == StatePreCandidate {
				wantTerm = 0
			}
			assert.Equal(t, wantTerm, all[0].raft.term, "got term %d, want %d", all[0].raft.term, wantTerm)
		})
	}
}

func TestRandomizedElectionTimeout(t *testing.T) {
	t.Run("drawn from [ElectionTick, 2*ElectionTick) and not constant", func(t *testing.T) {
		r := newTestNode(t, 1, newConfStorage([]uint64{1})).raft
		seen := map[int]bool{}
		for range 1000 {
			r.timer.restart(r.cfg.electionTimeout)
			v := r.timer.timeout
			require.True(t, v >= 10 && v < 20, "got timeout %d, want within [10, 20)", v)
			seen[v] = true
		}
		assert.Equal(t, 10, len(seen), "got %d distinct timeouts, want all 10 values", len(seen))
	})
	t.Run("deterministic per seed", func(t *testing.T) {
		draw := func(seed uint64) []int {
			r := newTestNode(t, 1, newConfStorage([]uint64{1})).raft
			r.seedRand(seed)
			out := make([]int, 20)
			for i := range out {
				r.timer.restart(r.cfg.electionTimeout)
				out[i] = r.timer.timeout
			}
			return out
		}
		assert.Equal(t, draw(7), draw(7), "got different sequences for the same seed")
		assert.NotEqual(t, draw(7), draw(8), "got the same sequence for different seeds")
	})
	t.Run("peers of a test cluster, seeded by ID, draw differently", func(t *testing.T) {
		nodes := newTestCluster(t, 3)
		var seqs [3][]int
		for i, n := range nodes {
			for range 20 {
				n.raft.timer.restart(n.raft.cfg.electionTimeout)
				seqs[i] = append(seqs[i], n.raft.timer.timeout)
			}
		}
		assert.NotEqual(t, seqs[0], seqs[1], "got the same timeouts for peers 1 and 2")
	})
	t.Run("same ID in two groups draws independently by default", func(t *testing.T) {
		// Multi-raft hosts number the replicas of every group 1, 2, 3; with
		// a shared sequence their elections would fire together.
		draw := func() []int {
			c := newTestConfig(1, newConfStorage([]uint64{1, 2, 3}))
			c.RandomSource = nil
			rn, err := NewRawNode(c)
			require.NoError(t, err)
			out := make([]int, 32)
			for i := range out {
				rn.raft.timer.restart(rn.raft.cfg.electionTimeout)
				out[i] = rn.raft.timer.timeout
			}
			return out
		}
		a, b := draw(), draw()
		assert.NotEqual(t, a, b, "got the same 32 timeouts %v for two peers with ID 1", a)
	})
	t.Run("a seeded RandomSource makes the draws reproducible", func(t *testing.T) {
		draw := func() []int {
			c := newTestConfig(1, newConfStorage([]uint64{1, 2, 3}))
			c.RandomSource = rand.NewPCG(42, 43)
			rn, err := NewRawNode(c)
			require.NoError(t, err)
			out := make([]int, 32)
			for i := range out {
				rn.raft.timer.restart(rn.raft.cfg.electionTimeout)
				out[i] = rn.raft.timer.timeout
			}
			return out
		}
		assert.Equal(t, draw(), draw(), "got different timeouts from two equally seeded sources")
	})
	t.Run("a follower campaigns exactly when its timeout elapses", func(t *testing.T) {
		n := newTestNode(t, 1, newConfStorage([]uint64{1, 2, 3}))
		n.raft.setRandomizedElectionTimeout(13)
		n.tickN(12)
		assert.Equal(t, StateFollower, n.raft.state, "got %v after 12 ticks, want follower", n.raft.state)
		n.tickN(1)
		assert.Equal(t, StateCandidate, n.raft.state, "got %v after 13 ticks, want candidate", n.raft.state)
	})
}

func TestSplitVoteResolvedByRandomizedTimeouts(t *testing.T) {
	nodes := newTestCluster(t, 4)
	nw := newNetwork(nodes...)
	// 1 and 3 campaign at once; 2 hears from 1 first and 4 from 3 first.
	require.NoError(t, nodes[0].raft.Step(pb.Message{Type: pb.MsgHup}))
	require.NoError(t, nodes[2].raft.Step(pb.Message{Type: pb.MsgHup}))
	from1, from3 := nodes[0].process(), nodes[2].process()
	var queue []pb.Message
	queue = append(queue, msgsOf(from1, pb.MsgVote, 2)...)
	queue = append(queue, msgsOf(from3, pb.MsgVote, 4)...)
	queue = append(queue, msgsOf(from1, pb.MsgVote, 3)...)
	queue = append(queue, msgsOf(from1, pb.MsgVote, 4)...)
	queue = append(queue, msgsOf(from3, pb.MsgVote, 1)...)
	queue = append(queue, msgsOf(from3, pb.MsgVote, 2)...)
	nw.send(queue...)
	for _, n := range nodes {
		assert.Equal(t, StateFollower, n.raft.state, "peer %d: got %v after a split vote, want follower", n.raft.id, n.raft.state)
		assert.Equal(t, uint64(1), n.raft.term, "peer %d: got term %d, want 1", n.raft.id, n.raft.term)
	}
	// The peer whose timeout elapses first wins the next term.
	for _, n := range nodes {
		n.raft.setRandomizedElectionTimeout(19)
	}
	nodes[3].raft.setRandomizedElectionTimeout(11)
	for range 11 {
		nw.tick()
	}
	assert.Equal(t, StateLeader, nodes[3].raft.state, "got %v for peer 4, want leader", nodes[3].raft.state)
	assert.Equal(t, uint64(2), nodes[3].raft.term, "got term %d, want 2", nodes[3].raft.term)
}

func TestVoteGranting(t *testing.T) {
	// The voter's log: entries of terms 1, 1, 2 (last entry (2, 3)).
	newVoter := func(t *testing.T) *raft {
		s := newConfStorage([]uint64{1, 2, 3})
		require.NoError(t, s.Append([]pb.Entry{{Index: 1, Term: 1}, {Index: 2, Term: 1}, {Index: 3, Term: 2}}))
		require.NoError(t, s.SetHardState(pb.HardState{Term: 2}))
		return newTestNode(t, 1, s).raft
	}
	vote := func(r *raft, from, term, logTerm, index uint64) pb.Message {
		require.NoError(t, r.Step(pb.Message{From: from, To: 1, Type: pb.MsgVote, Term: term, LogTerm: logTerm, Index: index}))
		msgs := sentMessages(r)
		require.Len(t, msgs, 1, "msgs: got %d, want 1", len(msgs))
		return msgs[0]
	}
	for _, tc := range []struct {
		name           string
		logTerm, index uint64
		granted        bool
	}{
		{"higher last term, shorter log", 3, 1, true},
		{"same last term, same index", 2, 3, true},
		{"same last term, longer log", 2, 4, true},
		{"same last term, shorter log", 2, 2, false},
		{"lower last term, longer log", 1, 5, false},
	} {
		t.Run("paper 5.4.1: "+tc.name, func(t *testing.T) {
			r := newVoter(t)
			resp := vote(r, 2, 3, tc.logTerm, tc.index)
			assert.Equal(t, pb.MsgVoteResp, resp.Type, "got %v, want MsgVoteResp", resp.Type)
			assert.Equal(t, !tc.granted, resp.Reject, "got reject %v, want %v", resp.Reject, !tc.granted)
		})
	}
	t.Run("at most one vote per term", func(t *testing.T) {
		r := newVoter(t)
		assert.False(t, vote(r, 2, 3, 2, 3).Reject, "got the first vote rejected")
		assert.True(t, vote(r, 3, 3, 2, 3).Reject, "got a second candidate's vote granted in the same term")
		assert.False(t, vote(r, 2, 3, 2, 3).Reject, "got a repeated request of the same candidate rejected")
		assert.Equal(t, uint64(2), r.vote, "got vote %d, want 2", r.vote)
	})
	t.Run("vote responses wait for the vote to be persisted", func(t *testing.T) {
		s := storageWithLog(t, []uint64{1, 2, 3}, 1, 1, 2)
		n := newTestNode(t, 1, s, withAsyncWrites())
		require.NoError(t, n.Step(pb.Message{From: 2, To: 1, Type: pb.MsgVote, Term: 3, LogTerm: 2, Index: 3}))
		appends, _, others := storageWork(n.Ready().Messages)
		assert.Empty(t, others, "got %v sent before persisting", msgTypes(others))
		require.Len(t, appends, 1, "appends: got %d, want 1", len(appends))
		assert.Equal(t, uint64(2), appends[0].Vote, "got vote %d persisted, want 2", appends[0].Vote)
		require.Len(t, appends[0].Responses, 1, "got responses %v", msgTypes(appends[0].Responses))
		assert.Equal(t, pb.MsgVoteResp, appends[0].Responses[0].Type, "got %v after the append, want the vote", appends[0].Responses[0].Type)
	})
}

func TestLearners(t *testing.T) {
	t.Run("a learner never campaigns", func(t *testing.T) {
		n := newTestNode(t, 2, newConfStorage([]uint64{1}, 2))
		n.tickN(100)
		assert.Equal(t, StateFollower, n.raft.state, "got %v, want follower", n.raft.state)
		require.NoError(t, n.Campaign())
		assert.Equal(t, StateFollower, n.raft.state, "got %v after Campaign, want follower", n.raft.state)
		assert.Equal(t, uint64(0), n.raft.term, "got term %d, want 0", n.raft.term)
	})
	t.Run("a learner's vote does not count", func(t *testing.T) {
		n := newTestNode(t, 1, newConfStorage([]uint64{1, 2, 3}, 4))
		nw := newNetwork(n)
		nw.campaign(1)
		require.Equal(t, StateCandidate, n.raft.state, "n.raft.state: got %v, want StateCandidate", n.raft.state)
		nw.send(pb.Message{From: 4, To: 1, Type: pb.MsgVoteResp, Term: 1})
		assert.Equal(t, StateCandidate, n.raft.state, "got %v after a learner's vote, want candidate", n.raft.state)
		nw.send(pb.Message{From: 2, To: 1, Type: pb.MsgVoteResp, Term: 1})
		assert.Equal(t, StateLeader, n.raft.state, "got %v after a voter's vote, want leader", n.raft.state)
	})
}

func TestJointConfigurationElection(t *testing.T) {
	joint := func() *MemoryStorage {
		s := NewMemoryStorage()
		s.snapshot.Metadata.ConfState = pb.ConfState{Voters: []uint64{1, 2, 3}, VotersOutgoing: []uint64{1, 4, 5}}
		return s
	}
	for _, tc := range []struct {
		name    string
		granted []uint64
		want    StateType
	}{
		{"a majority of the incoming half only", []uint64{2, 3}, StateCandidate},
		{"a majority of the outgoing half only", []uint64{4, 5}, StateCandidate},
		{"a majority of both halves", []uint64{2, 4}, StateLeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNode(t, 1, joint())
			nw := newNetwork(n)
			nw.campaign(1)
			for _, id := range tc.granted {
				nw.send(pb.Message{From: id, To: 1, Type: pb.MsgVoteResp, Term: 1})
			}
			assert.Equal(t, tc.want, n.raft.state, "got %v, want %v", n.raft.state, tc.want)
		})
	}
}

func TestCandidateLosesToRejections(t *testing.T) {
	n := newTestNode(t, 1, newConfStorage([]uint64{1, 2, 3}))
	nw := newNetwork(n)
	nw.campaign(1)
	nw.send(pb.Message{From: 2, To: 1, Type: pb.MsgVoteResp, Term: 1, Reject: true})
	assert.Equal(t, StateCandidate, n.raft.state, "got %v after one rejection, want candidate", n.raft.state)
	nw.send(pb.Message{From: 3, To: 1, Type: pb.MsgVoteResp, Term: 1, Reject: true})
	assert.Equal(t, StateFollower, n.raft.state, "got %v after a quorum of rejections, want follower", n.raft.state)
	assert.Equal(t, uint64(1), n.raft.term, "got term %d, want 1", n.raft.term)
}

func TestCandidateStepsDownOnLeaderOfItsTerm(t *testing.T) {
	for _, typ := range []pb.MessageType{pb.MsgApp, pb.MsgHeartbeat} {
		t.Run(typ.String(), func(t *testing.T) {
			n := newTestNode(t, 1, newConfStorage([]uint64{1, 2, 3}))
			nw := newNetwork(n)
			nw.campaign(1)
			require.Equal(t, StateCandidate, n.raft.state, "n.raft.state: got %v, want StateCandidate", n.raft.state)
			nw.send(pb.Message{From: 2, To: 1, Type: typ, Term: 1})
			assert.Equal(t, StateFollower, n.raft.state, "got %v, want follower", n.raft.state)
			assert.Equal(t, uint64(2), n.raft.lead, "got lead %d, want 2", n.raft.lead)
		})
	}
}

func TestCheckQuorum(t *testing.T) {
	t.Run("a leader that loses its quorum steps down", func(t *testing.T) {
		nodes := newTestCluster(t, 3, withCheckQuorum())
		nw := electLeader(t, nodes...)
		nw.isolate(1)
		for range 10 {
			nw.tick()
		}
		// NB: a whole election timeout without a response.
		for range 10 {
			nodes[0].Tick()
		}
		nodes[0].process()
		assert.Equal(t, StateFollower, nodes[0].raft.state, "got %v, want follower", nodes[0].raft.state)
	})
	t.Run("a leader that hears from a quorum stays", func(t *testing.T) {
		nodes := newTestCluster(t, 3, withCheckQuorum())
		nw := electLeader(t, nodes...)
		nw.isolate(3)
		for range 50 {
			nw.tick()
		}
		assert.Equal(t, StateLeader, nodes[0].raft.state, "got %v, want leader", nodes[0].raft.state)
	})
	t.Run("a follower in its leader's lease ignores a higher-term vote", func(t *testing.T) {
		nodes := newTestCluster(t, 3, withCheckQuorum())
		nw := electLeader(t, nodes...)
		nw.isolate(1)
		n2 := nodes[1]
		require.NoError(t, n2.raft.Step(pb.Message{From: 3, To: 2, Type: pb.MsgVote, Term: 5, LogTerm: 1, Index: 10}))
		assert.Equal(t, uint64(1), n2.raft.term, "got term %d, want 1", n2.raft.term)
		assert.Empty(t, sentMessages(n2.raft), "got a vote response, want none")
	})
	t.Run("the transfer context bypasses the lease", func(t *testing.T) {
		nodes := newTestCluster(t, 3, withCheckQuorum())
		electLeader(t, nodes...)
		n2 := nodes[1]
		require.NoError(t, n2.raft.Step(pb.Message{From: 3, To: 2, Type: pb.MsgVote, Term: 5, LogTerm: 1, Index: 10,
			Context: []byte(campaignTransfer)}))
		assert.Equal(t, uint64(5), n2.raft.term, "got term %d, want 5", n2.raft.term)
		assert.Equal(t, uint64(3), n2.raft.vote, "got vote %d, want 3", n2.raft.vote)
	})
	t.Run("a rejoining peer with a higher term gets the cluster to converge", func(t *testing.T) {
		nodes := newTestCluster(t, 3, withCheckQuorum())
		nw := electLeader(t, nodes...)
		nw.isolate(3)
		for range 40 {
			nw.tick()
		}
		require.Greater(t, nodes[2].raft.term, uint64(2), "isolated 3 should have campaigned")
		nw.heal()
		for range 40 {
			nw.tick()
		}
		nw.propose(1, "x")
		nw.propose(2, "x")
		nw.propose(3, "x")
		var leaders int
		for _, n := range nodes {
			if n.raft.state == StateLeader {
				leaders++
			}
			assert.Equal(t, nodes[0].raft.term, n.raft.term, "peer %d: got term %d, want the common %d", n.raft.id, n.raft.term, nodes[0].raft.term)
		}
		assert.Equal(t, 1, leaders, "got %d leaders, want 1", leaders)
	})
}

func TestCampaignRefusedWithUnappliedConfChange(t *testing.T) {
	s := newConfStorage([]uint64{1, 2})
	cc := pb.ConfChange{Type: pb.ConfChangeAddNode, NodeID: 3}
	data, err := cc.Marshal()
	require.NoError(t, err)
	require.NoError(t, s.Append([]pb.Entry{{Index: 1, Term: 1, Type: pb.EntryConfChange, Data: data}}))
	require.NoError(t, s.SetHardState(pb.HardState{Term: 1, Commit: 1}))
	n := newTestNode(t, 1, s)
	require.NoError(t, n.Campaign())
	assert.Equal(t, StateFollower, n.raft.state, "got %v with an unapplied conf change, want follower", n.raft.state)
	n.process() // applies the change
	require.NoError(t, n.Campaign())
	assert.Equal(t, StateCandidate, n.raft.state, "got %v once applied, want candidate", n.raft.state)
}

// TestGrantingAVoteRestartsTheElectionTimer checks the rule for
// followers of the paper's figure 2: a follower converts to candidate only
// if its election timeout elapses "without receiving AppendEntries RPC from
// current leader or granting vote to candidate". The vote here is of the
// follower's own term, so no term change resets the timer on the side.
func TestGrantingAVoteRestartsTheElectionTimer(t *testing.T) {
	s := newConfStorage([]uint64{1, 2, 3})
	require.NoError(t, s.SetHardState(pb.HardState{Term: 5}))
	n := newTestNode(t, 2, s)
	r := n.raft
	r.setRandomizedElectionTimeout(r.cfg.electionTimeout)
	for range r.cfg.electionTimeout - 1 {
		n.Tick()
	}
	require.Equal(t, StateFollower, r.state, "got %v one tick before the timeout, want follower", r.state)

	require.NoError(t, n.Step(pb.Message{From: 3, To: 2, Type: pb.MsgVote, Term: 5}))
	require.Equal(t, uint64(3), r.vote, "got vote %x, want the vote granted to 3", r.vote)
	resps := msgsOf(n.process(), pb.MsgVoteResp, 3)
	require.Len(t, resps, 1, "got %d vote responses, want 1", len(resps))
	require.False(t, resps[0].Reject, "got a rejection, want the vote granted")

	t.Run("the tick that would have timed out does not", func(t *testing.T) {
		n.Tick()
		assert.Equal(t, StateFollower, r.state, "got %v, want follower", r.state)
		assert.Equal(t, uint64(5), r.term, "got term %d, want 5", r.term)
	})
	t.Run("a full timeout after the vote does", func(t *testing.T) {
		for range r.cfg.electionTimeout - 1 {
			n.Tick()
		}
		assert.Equal(t, StateCandidate, r.state, "got %v, want candidate", r.state)
	})
}
