package raft_test

// Paper tests for section 5.5 (follower and candidate crashes) and section
// 5.6 (timing and availability).

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// TestPaper5_5_LeaderRetriesUntilCrashedFollowerRecovers checks section
// 5.5: "If a follower or candidate crashes, then future RequestVote and
// AppendEntries RPCs sent to it will fail. Raft handles these failures by
// retrying indefinitely; if the crashed server restarts, then the RPC will
// complete successfully." No new proposal is needed for the restarted
// follower to catch up: the leader's periodic messages suffice.
func TestPaper5_5_LeaderRetriesUntilCrashedFollowerRecovers(t *testing.T) {
	c := newBootNetwork(t, 3)
	c.Campaign(1)
	c.Crash(3)
	sentTo3 := 0
	c.SetFilter(func(m pb.Message) bool {
		if m.To == 3 {
			sentTo3++
		}
		return true
	})
	propose(t, c, 1, "a")
	propose(t, c, 1, "b")
	t.Run("keeps sending while the follower is down", func(t *testing.T) {
		for interval := range 5 {
			before := sentTo3
			for range testHeartbeatTick {
				c.TickPeers(1)
			}
			assert.Greater(t, sentTo3, before,
				"messages to the crashed follower in heartbeat interval %d: got none, want some", interval)
		}
	})
	t.Run("restarted follower catches up", func(t *testing.T) {
		require.Equal(t, []uint64{2}, logTerms(t, c.Node(3)), "crashed follower's log terms")
		c.Restart(3)
		want := describeLog(entries(t, c.Node(1)))
		for interval := 0; interval < 5 && !slices.Equal(describeLog(entries(t, c.Node(3))), want); interval++ {
			for range testHeartbeatTick {
				c.TickPeers(1)
			}
		}
		assert.Equal(t, want, describeLog(entries(t, c.Node(3))), "follower's log after 5 heartbeat intervals")
		assert.Equal(t, []string{"2@2:", "3@2:a", "4@2:b"}, describeLog(c.Node(3).Applied()), "follower's applied entries")
	})
}

// TestPaper5_5_AppendEntriesIsIdempotent checks section 5.5: "Raft RPCs are
// idempotent [...] if a follower receives an AppendEntries request that
// includes log entries already present in its log, it ignores those entries
// in the new request." A repeated or late request neither rewrites nor
// truncates the log, and is acknowledged.
func TestPaper5_5_AppendEntriesIsIdempotent(t *testing.T) {
	for _, tt := range []struct {
		name  string
		again pb.Message
	}{
		{"same request twice", appFrom2(bootIndex, bootTerm, makeEntries(2, 3, 3))},
		{"older request after a newer one", appFrom2(bootIndex, bootTerm, makeEntries(2, 3))},
		{"request with nothing new", appFrom2(2, 3, makeEntries(3, 3))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := newBootNode(t, 1, []uint64{1, 2, 3})
			stepAndProcess(t, n, appFrom2(bootIndex, bootTerm, makeEntries(2, 3, 3)))
			before := describeLog(entries(t, n))
			step(t, n, tt.again)
			var resps []pb.Message
			for n.HasReady() {
				rd := n.HandleReady()
				assert.Empty(t, describeLog(rd.Entries), "entries to persist again")
				resps = append(resps, ofType(rd.Messages, pb.MsgAppResp)...)
			}
			assert.Equal(t, before, describeLog(entries(t, n)), "log")
			require.Len(t, resps, 1, "responses")
			assert.False(t, resps[0].Reject, "response rejects: got %v, want an acknowledgement", resps[0])
		})
	}
}

// TestPaper5_5_StatePersistedBeforeResponding checks the rule of Figure 2
// that section 5.5 relies on to survive crashes: persistent state is
// "updated on stable storage before responding to RPCs". When a response
// leaves in a Ready, the application has already persisted, from that Ready
// or an earlier one, the vote or the entries it vouches for.
func TestPaper5_5_StatePersistedBeforeResponding(t *testing.T) {
	for _, tt := range []struct {
		name  string
		req   pb.Message
		check func(t *testing.T, n *raft.TestNode, resp pb.Message)
	}{
		{"vote", pb.Message{Type: pb.MsgVote, From: 2, Term: 2, Index: bootIndex, LogTerm: bootTerm},
			func(t *testing.T, n *raft.TestNode, resp pb.Message) {
				if resp.Type != pb.MsgVoteResp || resp.Reject {
					return
				}
				hs := hardState(t, n)
				assert.Equal(t, uint64(2), hs.Vote, "vote persisted when granting it")
				assert.Equal(t, uint64(2), hs.Term, "term persisted when granting the vote")
			}},
		{"append", appFrom2(bootIndex, bootTerm, makeEntries(2, 3, 3)),
			func(t *testing.T, n *raft.TestNode, resp pb.Message) {
				if resp.Type != pb.MsgAppResp || resp.Reject {
					return
				}
				assert.GreaterOrEqual(t, lastIndex(t, n), resp.Index,
					"last index persisted when acknowledging %d: got %d, want at least that", resp.Index, lastIndex(t, n))
				assert.Equal(t, uint64(3), hardState(t, n).Term, "term persisted when acknowledging")
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := newBootNode(t, 1, []uint64{1, 2, 3})
			step(t, n, tt.req)
			responded := false
			for n.HasReady() {
				prev := hardState(t, n)
				rd := n.HandleReady() // persists, so this is what a crash would leave
				durable := len(rd.Entries) > 0 || (!raft.IsEmptyHardState(rd.HardState) &&
					(rd.HardState.Term != prev.Term || rd.HardState.Vote != prev.Vote))
				assert.True(t, !durable || rd.MustSync,
					"MustSync for a Ready with %d entries and HardState %v after %v: got false, want true",
					len(rd.Entries), rd.HardState, prev)
				for _, m := range rd.Messages {
					if m.To == 2 {
						responded = true
						tt.check(t, n, m)
					}
				}
			}
			assert.True(t, responded, "got no response to %s, want one", raft.DescribeMessage(tt.req, nil))
		})
	}
}

// TestPaper5_5_RestartedServerKeepsItsVote checks that a crash loses nothing
// of what section 5.5's retries rely on: a server restarted after granting a
// vote still holds its term and vote (Figure 2, persistent state), so it
// cannot vote twice in that term.
func TestPaper5_5_RestartedServerKeepsItsVote(t *testing.T) {
	n := newBootNode(t, 1, []uint64{1, 2, 3})
	vote := func(from uint64) []pb.Message {
		return ofType(stepAndProcess(t, n, pb.Message{Type: pb.MsgVote, From: from, Term: 2, Index: bootIndex, LogTerm: bootTerm}), pb.MsgVoteResp)
	}
	resps := vote(2)
	require.Len(t, resps, 1, "responses to 2")
	require.False(t, resps[0].Reject, "vote for 2 rejected: got %v, want granted", resps[0])
	n.Restart()
	assert.Equal(t, uint64(2), n.BasicStatus().Term, "term after the restart")
	assert.Equal(t, uint64(2), n.BasicStatus().Vote, "vote after the restart")
	resps = vote(3)
	require.Len(t, resps, 1, "responses to 3")
	assert.True(t, resps[0].Reject, "vote for 3 after the restart: got %v, want a rejection", resps[0])
}

// TestPaper5_6_ElectionTimeoutMustExceedHeartbeatInterval checks the timing
// requirement of section 5.6, "broadcastTime ≪ electionTimeout ≪ MTBF", as
// far as configuration can: the election timeout must be longer than the
// heartbeat interval, and NewRawNode refuses a Config where it is not.
func TestPaper5_6_ElectionTimeoutMustExceedHeartbeatInterval(t *testing.T) {
	for _, tt := range []struct {
		name                    string
		electionTick, heartbeat int
		wantErr                 bool
	}{
		{"election timeout ten heartbeats", 10, 1, false},
		{"election timeout just longer", 2, 1, false},
		{"election timeout equal to the heartbeat", 5, 5, true},
		{"election timeout shorter than the heartbeat", 3, 5, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			storage := raft.NewMemoryStorage()
			_, err := raft.NewRawNode(&raft.Config{ID: 1, ElectionTick: tt.electionTick, HeartbeatTick: tt.heartbeat,
				Storage: storage, MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 16, Logger: discardLogger})
			if tt.wantErr {
				assert.Error(t, err, "NewRawNode")
			} else {
				assert.NoError(t, err, "NewRawNode")
			}
		})
	}
}

// TestPaper5_6_SteadyLeaderUnderHeartbeats checks the availability goal of
// section 5.6: with heartbeats well within the election timeout, "the
// system will be able to elect and maintain a steady leader". Every server
// ticks; no election follows the first one.
func TestPaper5_6_SteadyLeaderUnderHeartbeats(t *testing.T) {
	c := newBootNetwork(t, 5)
	c.Campaign(1)
	for tick := range 30 * testElectionTick {
		c.TickPeers(c.IDs()...)
		for _, id := range c.IDs() {
			st := c.Node(id).BasicStatus()
			require.Equal(t, "leader 1 at term 2", fmt.Sprintf("leader %d at term %d", st.Lead, st.Term),
				"server %d after %d ticks", id, tick+1)
		}
	}
}
