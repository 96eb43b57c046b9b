package raft

import (
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests check the pre-vote of thesis 9.6: a pre-candidate asks for
// the next term without taking it, and "a server would only grant a
// pre-vote if it had not received heartbeats from a valid leader for at
// least a baseline election timeout". The rule holds with and without
// CheckQuorum; only the lease on real votes (thesis 4.2.3) depends on
// CheckQuorum.

// preVoteModes are the configurations the pre-vote rule must hold in.
var preVoteModes = []struct {
	name string
	opts []testOption
}{
	{"PreVote", []testOption{withPreVote()}},
	{"PreVote and CheckQuorum", []testOption{withPreVote(), withCheckQuorum()}},
}

// upToDatePreVote is a pre-vote from peer from for term 2 whose log is as up
// to date as that of a peer of leaderWithFollowers.
func upToDatePreVote(from, to uint64, last entryID) pb.Message {
	return pb.Message{From: from, To: to, Type: pb.MsgPreVote, Term: 2, LogTerm: last.term, Index: last.index}
}

func TestPreVote(t *testing.T) {
	t.Run("a pre-candidate keeps its term and asks for the next", func(t *testing.T) {
		n := newTestNode(t, 1, newConfStorage([]uint64{1, 2, 3}), withPreVote())
		require.NoError(t, n.Campaign())
		assert.Equal(t, StatePreCandidate, n.raft.state, "got %v, want pre-candidate", n.raft.state)
		assert.Equal(t, uint64(0), n.raft.term, "got term %d, want 0", n.raft.term)
		assert.Equal(t, None, n.raft.vote, "got vote %d, want none", n.raft.vote)
		msgs := n.process()
		for _, m := range msgs {
			assert.Equal(t, pb.MsgPreVote, m.Type, "got %v, want MsgPreVote", m.Type)
			assert.Equal(t, uint64(1), m.Term, "got term %d, want 1", m.Term)
		}
		assert.Len(t, msgs, 2, "msgs: got %d, want 2", len(msgs))
	})
	t.Run("winning the pre-vote starts the real election", func(t *testing.T) {
		nodes := newTestCluster(t, 3, withPreVote())
		nw := newNetwork(nodes...)
		nw.campaign(1)
		assert.Equal(t, StateLeader, nodes[0].raft.state, "got %v, want leader", nodes[0].raft.state)
		assert.Equal(t, uint64(1), nodes[0].raft.term, "got term %d, want 1", nodes[0].raft.term)
	})
	t.Run("a pre-vote does not change the voter's term or vote", func(t *testing.T) {
		n := newTestNode(t, 2, newConfStorage([]uint64{1, 2, 3}), withPreVote())
		require.NoError(t, n.raft.Step(pb.Message{From: 1, To: 2, Type: pb.MsgPreVote, Term: 5}))
		assert.Equal(t, uint64(0), n.raft.term, "got term %d, want 0", n.raft.term)
		assert.Equal(t, None, n.raft.vote, "got vote %d, want none", n.raft.vote)
		msgs := sentMessages(n.raft)
		require.Len(t, msgs, 1, "msgs: got %d, want 1", len(msgs))
		resp := msgs[0]
		assert.False(t, resp.Reject, "got the pre-vote rejected")
		assert.Equal(t, uint64(5), resp.Term, "got response term %d, want the request's 5", resp.Term)
	})
	t.Run("a pre-vote is refused to a log that is not up to date", func(t *testing.T) {
		s := newConfStorage([]uint64{1, 2, 3})
		require.NoError(t, s.Append([]pb.Entry{{Index: 1, Term: 1}}))
		require.NoError(t, s.SetHardState(pb.HardState{Term: 1}))
		n := newTestNode(t, 2, s, withPreVote())
		require.NoError(t, n.raft.Step(pb.Message{From: 1, To: 2, Type: pb.MsgPreVote, Term: 2}))
		msgs := sentMessages(n.raft)
		require.Len(t, msgs, 1, "msgs: got %d, want 1", len(msgs))
		assert.True(t, msgs[0].Reject, "got the pre-vote granted to an empty log")
	})
	t.Run("with CheckQuorum a pre-vote is refused while the leader is fresh", func(t *testing.T) {
		nodes := newTestCluster(t, 3, withPreVote(), withCheckQuorum())
		nw := electLeader(t, nodes...)
		nw.isolate(1)
		// 3 has just heard from leader 1; 2 campaigns.
		nw.campaign(2)
		assert.Equal(t, StatePreCandidate, nodes[1].raft.state, "got %v for 2, want pre-candidate (no pre-vote granted)", nodes[1].raft.state)
		assert.Equal(t, uint64(1), nodes[1].raft.term, "got term %d for 2, want 1", nodes[1].raft.term)
		assert.Equal(t, uint64(1), nodes[2].raft.term, "got term %d for 3, want 1", nodes[2].raft.term)
		// Once 3's lease on leader 1 runs out, 2 can win.
		for range 20 {
			nw.tick()
		}
		leaders := 0
		for _, n := range nodes[1:] {
			if n.raft.state == StateLeader {
				leaders++
			}
		}
		assert.Equal(t, 1, leaders, "got %d leaders among 2 and 3, want 1", leaders)
	})
	t.Run("a lower-term pre-vote is rejected with our term", func(t *testing.T) {
		s := newConfStorage([]uint64{1, 2, 3})
		require.NoError(t, s.SetHardState(pb.HardState{Term: 4}))
		n := newTestNode(t, 2, s, withPreVote())
		require.NoError(t, n.raft.Step(pb.Message{From: 1, To: 2, Type: pb.MsgPreVote, Term: 3}))
		msgs := sentMessages(n.raft)
		require.Len(t, msgs, 1, "msgs: got %d, want 1", len(msgs))
		resp := msgs[0]
		assert.True(t, resp.Reject, "got the pre-vote granted")
		assert.Equal(t, uint64(4), resp.Term, "got term %d, want 4", resp.Term)
	})
	t.Run("a partitioned pre-candidate does not inflate its term", func(t *testing.T) {
		nodes := newTestCluster(t, 3, withPreVote())
		nw := electLeader(t, nodes...)
		nw.isolate(3)
		for range 50 {
			nw.tick()
		}
		assert.Equal(t, uint64(1), nodes[2].raft.term, "got term %d for isolated 3, want 1", nodes[2].raft.term)
		nw.heal()
		nw.propose(1, "x")
		assert.Equal(t, StateLeader, nodes[0].raft.state, "got %v for 1 after the partition healed, want leader", nodes[0].raft.state)
		assert.Equal(t, []string{"x"}, nodes[2].appliedData(), "got %v applied on 3, want [x]", nodes[2].appliedData())
	})
}

func TestPreVoteRefusedWhileLeaderHeardFromRecently(t *testing.T) {
	for _, mode := range preVoteModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Run("a follower that just heard from its leader rejects, keeping its term", func(t *testing.T) {
				nodes, _ := leaderWithFollowers(t, 3, mode.opts...)
				r := nodes[1].raft
				require.NoError(t, r.Step(upToDatePreVote(3, 2, r.log.lastEntryID())))
				msgs := sentMessages(r)
				require.Len(t, msgs, 1, "msgs: got %d, want 1", len(msgs))
				assert.Equal(t, pb.MsgPreVoteResp, msgs[0].Type, "got %v, want MsgPreVoteResp", msgs[0].Type)
				assert.True(t, msgs[0].Reject, "got the pre-vote granted, want it rejected")
				assert.Equal(t, uint64(1), msgs[0].Term, "got response term %d, want our 1", msgs[0].Term)
				assert.Equal(t, uint64(1), r.term, "got term %d, want 1", r.term)
				assert.Equal(t, uint64(1), r.lead, "got lead %d, want 1", r.lead)
			})
			t.Run("the leader rejects", func(t *testing.T) {
				nodes, _ := leaderWithFollowers(t, 3, mode.opts...)
				r := nodes[0].raft
				require.NoError(t, r.Step(upToDatePreVote(3, 1, r.log.lastEntryID())))
				msgs := msgsOf(sentMessages(r), pb.MsgPreVoteResp, 3)
				require.Len(t, msgs, 1, "msgs: got %d, want 1", len(msgs))
				assert.True(t, msgs[0].Reject, "got the pre-vote granted, want it rejected")
				assert.Equal(t, StateLeader, r.state, "got %v, want leader", r.state)
				assert.Equal(t, uint64(1), r.term, "got term %d, want 1", r.term)
			})
			t.Run("one tick before the election timeout a follower still rejects", func(t *testing.T) {
				nodes, _ := leaderWithFollowers(t, 3, mode.opts...)
				r := nodes[1].raft
				r.setRandomizedElectionTimeout(2 * r.cfg.electionTimeout)
				for range r.cfg.electionTimeout - 1 {
					r.tick()
				}
				require.NoError(t, r.Step(upToDatePreVote(3, 2, r.log.lastEntryID())))
				msgs := sentMessages(r)
				require.Len(t, msgs, 1, "msgs: got %d, want 1", len(msgs))
				assert.True(t, msgs[0].Reject, "got the pre-vote granted, want it rejected")
			})
			t.Run("after an election timeout without the leader a follower grants", func(t *testing.T) {
				nodes, _ := leaderWithFollowers(t, 3, mode.opts...)
				r := nodes[1].raft
				// NB: the follower must not campaign itself meanwhile.
				r.setRandomizedElectionTimeout(2 * r.cfg.electionTimeout)
				for range r.cfg.electionTimeout {
					r.tick()
				}
				require.NoError(t, r.Step(upToDatePreVote(3, 2, r.log.lastEntryID())))
				msgs := sentMessages(r)
				require.Len(t, msgs, 1, "msgs: got %d, want 1", len(msgs))
				assert.False(t, msgs[0].Reject, "got the pre-vote rejected, want it granted")
				assert.Equal(t, uint64(2), msgs[0].Term, "got response term %d, want the request's 2", msgs[0].Term)
				assert.Equal(t, uint64(1), r.term, "got term %d, want 1", r.term)
			})
			t.Run("after ForgetLeader a follower grants at once", func(t *testing.T) {
				nodes, _ := leaderWithFollowers(t, 3, mode.opts...)
				r := nodes[1].raft
				require.NoError(t, nodes[1].ForgetLeader())
				require.NoError(t, r.Step(upToDatePreVote(3, 2, r.log.lastEntryID())))
				msgs := sentMessages(r)
				require.Len(t, msgs, 1, "msgs: got %d, want 1", len(msgs))
				assert.False(t, msgs[0].Reject, "got the pre-vote rejected, want it granted")
			})
			t.Run("the transfer context bypasses the rule", func(t *testing.T) {
				nodes, _ := leaderWithFollowers(t, 3, mode.opts...)
				r := nodes[1].raft
				m := upToDatePreVote(3, 2, r.log.lastEntryID())
				m.Context = []byte(campaignTransfer)
				require.NoError(t, r.Step(m))
				msgs := sentMessages(r)
				require.Len(t, msgs, 1, "msgs: got %d, want 1", len(msgs))
				assert.False(t, msgs[0].Reject, "got the pre-vote rejected, want it granted")
			})
			t.Run("a pre-candidate of the voters' term gives up on their rejections", func(t *testing.T) {
				nodes, nw := leaderWithFollowers(t, 3, mode.opts...)
				nw.campaign(3)
				n3 := nodes[2].raft
				assert.Equal(t, StateFollower, n3.state, "got %v for 3, want follower", n3.state)
				assert.Equal(t, uint64(1), n3.term, "got term %d for 3, want 1", n3.term)
				assert.Equal(t, StateLeader, nodes[0].raft.state, "got %v for 1, want leader", nodes[0].raft.state)
			})
		})
	}
}

func TestPreVotePartitionedPeerCannotDisruptHealthyCluster(t *testing.T) {
	for _, mode := range preVoteModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Run("a peer rejoining with an up-to-date log", func(t *testing.T) {
				nodes, nw := leaderWithFollowers(t, 3, mode.opts...)
				nw.isolate(3)
				for range 30 {
					nw.tick()
				}
				require.Equal(t, StatePreCandidate, nodes[2].raft.state, "isolated 3 should be pre-campaigning")
				nw.heal()
				// 3 times out again just as the partition heals.
				nw.campaign(3)
				for _, n := range nodes {
					assert.Equal(t, uint64(1), n.raft.term, "peer %d: got term %d, want 1", n.raft.id, n.raft.term)
				}
				assert.Equal(t, StateLeader, nodes[0].raft.state, "got %v for 1, want leader", nodes[0].raft.state)
				nw.propose(1, "x")
				assert.Equal(t, []string{"x"}, nodes[2].appliedData(), "got %v applied on 3, want [x]", nodes[2].appliedData())
			})
			t.Run("a peer cut off from the leader alone", func(t *testing.T) {
				// An asymmetric partition: 3 no longer hears from 1, but 2
				// hears from both.
				nodes, nw := leaderWithFollowers(t, 3, mode.opts...)
				nw.cutLink(1, 3)
				for range 50 {
					nw.tick()
				}
				for _, n := range nodes {
					assert.Equal(t, uint64(1), n.raft.term, "peer %d: got term %d, want 1", n.raft.id, n.raft.term)
				}
				assert.Equal(t, StateLeader, nodes[0].raft.state, "got %v for 1, want leader", nodes[0].raft.state)
				assert.Equal(t, uint64(1), nodes[1].raft.lead, "got lead %d for 2, want 1", nodes[1].raft.lead)
			})
			t.Run("a cluster whose leader died elects a new one", func(t *testing.T) {
				nodes, nw := leaderWithFollowers(t, 3, mode.opts...)
				nw.isolate(1)
				for range 30 {
					nw.tick()
				}
				var leaders []uint64
				for _, n := range nodes[1:] {
					if n.raft.state == StateLeader {
						leaders = append(leaders, n.raft.id)
					}
				}
				require.Len(t, leaders, 1, "got leaders %v among 2 and 3, want one", leaders)
				for _, n := range nodes[1:] {
					assert.Equal(t, uint64(2), n.raft.term, "peer %d: got term %d, want 2", n.raft.id, n.raft.term)
					assert.Equal(t, leaders[0], n.raft.lead, "peer %d: got lead %d, want %d", n.raft.id, n.raft.lead, leaders[0])
				}
			})
		})
	}
}

func TestPreCandidateCountsOnlyGrantsForItsNextTerm(t *testing.T) {
	// A pre-vote grant carries the term it was asked for. One of the
	// pre-candidate's own term answers a pre-campaign from before it reached
	// that term; the voter may have found a leader since.
	s := newConfStorage([]uint64{1, 2, 3})
	require.NoError(t, s.SetHardState(pb.HardState{Term: 2}))
	n := newTestNode(t, 1, s, withPreVote())
	require.NoError(t, n.Campaign())
	n.process() // the self-vote
	require.Equal(t, StatePreCandidate, n.raft.state, "n.raft.state: got %v, want StatePreCandidate", n.raft.state)

	require.NoError(t, n.Step(pb.Message{From: 2, To: 1, Type: pb.MsgPreVoteResp, Term: 2}))
	assert.Equal(t, StatePreCandidate, n.raft.state, "got %v after a stale grant, want pre-candidate", n.raft.state)
	assert.Equal(t, uint64(2), n.raft.term, "got term %d after a stale grant, want 2", n.raft.term)

	require.NoError(t, n.Step(pb.Message{From: 2, To: 1, Type: pb.MsgPreVoteResp, Term: 3}))
	assert.Equal(t, StateCandidate, n.raft.state, "got %v after a current grant, want candidate", n.raft.state)
	assert.Equal(t, uint64(3), n.raft.term, "got term %d after a current grant, want 3", n.raft.term)
}
