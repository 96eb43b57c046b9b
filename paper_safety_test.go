package raft_test

// Paper tests for section 5.4, safety: the election restriction (5.4.1),
// committing entries from previous terms (5.4.2) and the safety argument
// (5.4.3), checked as properties over a randomized run.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// TestPaper5_4_1_VoterDeniesLessUpToDateCandidate checks section 5.4.1:
// "the voter denies its vote if its own log is more up-to-date than that of
// the candidate [...] If the logs have last entries with different terms,
// then the log with the later term is more up-to-date. If the logs end with
// the same term, then whichever log is longer is more up-to-date."
func TestPaper5_4_1_VoterDeniesLessUpToDateCandidate(t *testing.T) {
	// The voter's log ends at index 3, term 2.
	for _, tt := range []struct {
		name                string
		lastIndex, lastTerm uint64
		wantGrant           bool
	}{
		{"same last entry", 3, 2, true},
		{"same last term, longer log", 4, 2, true},
		{"same last term, shorter log", 2, 2, false},
		{"later last term, shorter log", 2, 3, true},
		{"earlier last term, longer log", 5, 1, false},
		{"earlier last term, same length", 3, 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := newTestNode(t, 1, []uint64{1, 2, 3}, withLog(1, 2))
			resps := ofType(n.stepAndDrain(pb.Message{Type: pb.MsgVote, From: 2, Term: 4,
				Index: tt.lastIndex, LogTerm: tt.lastTerm}), pb.MsgVoteResp)
			require.Len(t, resps, 1, "vote responses")
			assert.Equal(t, tt.wantGrant, !resps[0].Reject, "vote granted")
		})
	}
}

// TestPaper5_4_1_CandidateMissingCommittedEntryCannotWin checks the Leader
// Completeness property as section 5.4.1 obtains it: "A candidate must
// contact a majority of the cluster in order to be elected, which means that
// every committed entry must be present in at least one of those servers",
// so a server lacking a committed entry is not elected, and the server that
// is elected holds the entry.
func TestPaper5_4_1_CandidateMissingCommittedEntryCannotWin(t *testing.T) {
	c := newCluster(t, 3)
	c.campaign(1)
	c.filter = func(m pb.Message) bool { return m.To == 3 || m.From == 3 }
	c.propose(1, []byte("x"))
	require.Contains(t, describeLog(c.node(1).applied), "3@2:x", "entries the leader applied")
	c.filter = nil

	require.False(t, c.campaignUntilLeader(3, 3),
		"server 3, lacking a committed entry: got leader at term %d, want no win", c.node(3).status().Term)
	require.True(t, c.campaignUntilLeader(2, 3), "server 2: got %v, want %v",
		c.node(2).status().RaftState, raft.StateLeader)
	for _, id := range c.ids {
		assert.Contains(t, describeLog(c.node(id).entries()), "3@2:x", "log of server %d", id)
	}
}

// previousTermLeader returns server 1 of {1, 2, 3} holding entry 2 of term 2,
// uncommitted, elected for term 3: its log is 2@2 3@3 (the empty entry of
// its term) and its followers have acknowledged nothing yet.
func previousTermLeader(t *testing.T) *testNode {
	n := newTestNode(t, 1, []uint64{1, 2, 3}, withLog(2), withHardState(2, 0, bootIndex))
	n.campaignAndWin()
	require.Equal(t, []uint64{2, 3}, n.logTerms(), "leader's log terms")
	require.Equal(t, uint64(3), n.status().Term, "leader's term")
	return n
}

// TestPaper5_4_2_NoCommitByCountingPreviousTermReplicas checks section 5.4.2:
// "Raft never commits log entries from previous terms by counting replicas.
// Only log entries from the leader's current term are committed by counting
// replicas". Here every server holds the term-2 entry, yet the term-3
// leader does not commit it.
func TestPaper5_4_2_NoCommitByCountingPreviousTermReplicas(t *testing.T) {
	n := previousTermLeader(t)
	n.ackFrom(2, 2, 3)
	n.drain()
	assert.Equal(t, uint64(bootIndex), n.status().Commit, "commit")
	assert.Empty(t, n.appliedIDs(), "applied")
}

// TestPaper5_4_2_PreviousTermEntriesCommittedIndirectly checks section
// 5.4.2: "once an entry from the current term has been committed in this
// way, then all prior entries are committed indirectly because of the Log
// Matching Property."
func TestPaper5_4_2_PreviousTermEntriesCommittedIndirectly(t *testing.T) {
	n := previousTermLeader(t)
	n.ackFrom(3, 2)
	n.drain()
	assert.Equal(t, uint64(3), n.status().Commit, "commit")
	assert.Equal(t, []string{"2@2", "3@3"}, n.appliedIDs(), "applied")
}

// TestPaper5_4_2_NewLeaderAppendsEntryOfItsTerm checks how the leader gets an
// entry of its term to commit: "Raft handles this by having each leader
// commit a blank no-op entry into the log at the start of its term" (section
// 8, needed by the rule of section 5.4.2). The entry commits once a majority
// stores it, which also tells the leader what is committed.
func TestPaper5_4_2_NewLeaderAppendsEntryOfItsTerm(t *testing.T) {
	n := newTestNode(t, 1, []uint64{1, 2, 3}, withLog(1, 1))
	n.campaignAndWin()
	ents := n.entries()
	require.Equal(t, "4@2:", describeLog(ents[len(ents)-1:])[0], "last entry (index@term:data)")
	n.ackFrom(4, 2)
	n.drain()
	assert.Equal(t, []string{"2@1", "3@1", "4@2"}, n.appliedIDs(), "applied")
}

// figure8Prefix plays steps (a) to (c) of Figure 8 of the paper on five
// servers whose messages carry one entry each; index 2 here is index 2
// there, and every new leader's empty entry stands in for the figure's
// client entries:
//
//	(a) S1 leads term 2 and appends 2@2, which reaches no one.
//	(b) S1 crashes; S5 is elected for term 3 by S2, S3 and S4 and appends
//	    2@3, which reaches no one; S5 crashes.
//	(c) S1 restarts and is elected for term 4; it appends 3@4 and
//	    replicates 2@2 to S2 and S3. 3@4 reaches S2 and S3 as well only if
//	    replicateOwnTerm is set.
func figure8Prefix(t *testing.T, replicateOwnTerm bool) *cluster {
	c := newCluster(t, 5, withConfig(func(c *raft.Config) { c.MaxSizePerMsg = 1 }))
	c.filter = func(m pb.Message) bool { return m.Type == pb.MsgApp }
	c.campaign(1) // (a)
	c.crash(1)    // (b)
	c.campaign(5)
	require.Equal(t, raft.StateLeader, c.node(5).status().RaftState, "(b) S5's state")
	require.Equal(t, uint64(3), c.node(5).status().Term, "(b) S5's term")
	c.crash(5)
	c.restart(1) // (c)
	c.filter = func(m pb.Message) bool {
		if m.Type != pb.MsgApp || len(m.Entries) == 0 || replicateOwnTerm {
			return false
		}
		// S2 and S3 accept 2@2 but not 3@4; S4 gets nothing.
		return m.To == 4 || c.node(m.To).lastIndex() >= 2
	}
	require.True(t, c.campaignUntilLeader(1, 3), "(c) S1: got %v, want %v",
		c.node(1).status().RaftState, raft.StateLeader)
	want := map[uint64][]uint64{1: {2, 4}, 2: {2}, 3: {2}, 4: {}, 5: {3}}
	if replicateOwnTerm {
		want = map[uint64][]uint64{1: {2, 4}, 2: {2, 4}, 3: {2, 4}, 4: {2, 4}, 5: {3}}
	}
	for id, terms := range want {
		require.Equal(t, terms, c.node(id).logTerms(), "(c) S%d's log terms", id)
	}
	require.Equal(t, uint64(4), c.node(1).status().Term, "(c) S1's term")
	return c
}

// TestPaper5_4_2_Figure8 checks the scenario of Figure 8: "a log entry that
// is stored on a majority of servers [...] could still be overwritten by a
// future leader" when it is from a previous term, which is why the leader
// of term 4 must not commit 2@2 by counting its replicas; whereas once the
// leader commits an entry of its own term, "S5 cannot win an election" and
// the committed entries stay.
func TestPaper5_4_2_Figure8(t *testing.T) {
	t.Run("(d) previous-term entry on a majority is overwritten", func(t *testing.T) {
		c := figure8Prefix(t, false)
		require.Equal(t, uint64(bootIndex), c.node(1).status().Commit, "(c) S1's commit with 2@2 on S1, S2 and S3")
		c.crash(1)
		c.restart(5)
		c.filter = nil
		require.True(t, c.campaignUntilLeader(5, 3), "(d) S5: got %v, want %v",
			c.node(5).status().RaftState, raft.StateLeader)
		c.restart(1)
		c.tick(5)
		c.stabilize()
		for _, id := range c.ids {
			assert.Equal(t, []uint64{3, 5}, c.node(id).logTerms(), "S%d's log terms", id)
			assert.Equal(t, []string{"2@3", "3@5"}, c.node(id).appliedIDs(), "S%d's applied entries", id)
		}
	})
	t.Run("(e) entry of the leader's term on a majority is committed", func(t *testing.T) {
		c := figure8Prefix(t, true)
		require.Equal(t, uint64(3), c.node(1).status().Commit, "(c) S1's commit")
		c.crash(1)
		c.restart(5)
		require.False(t, c.campaignUntilLeader(5, 3),
			"(e) S5 without the committed entries: got leader at term %d, want no win", c.node(5).status().Term)
		for _, id := range []uint64{2, 3, 4} {
			assert.Equal(t, []uint64{2, 4}, c.node(id).logTerms(), "S%d's log terms", id)
		}
	})
}

// safetyChecker accumulates what a randomized run has observed and checks
// the properties of Figure 3 that section 5.4.3 argues for.
type safetyChecker struct {
	t *testing.T
	c *cluster
	// appliedAt maps an index to the first entry any server applied there.
	appliedAt map[uint64]string
	// seen counts, per server, the applied entries already checked.
	seen     map[uint64]int
	leaderOf map[uint64]uint64 // term -> leader
}

func (s *safetyChecker) check(step int) {
	s.t.Helper()
	maxTerm := uint64(0)
	for _, id := range s.c.ids {
		hs, _, _ := s.c.node(id).storage.InitialState()
		maxTerm = max(maxTerm, hs.Term, s.c.node(id).status().Term)
	}
	for _, id := range s.c.ids {
		n := s.c.node(id)
		// State Machine Safety: one entry per index, whoever applies it.
		for _, e := range n.applied[s.seen[id]:] {
			desc := describeLog([]pb.Entry{e})[0]
			if prev, ok := s.appliedAt[e.Index]; ok && prev != desc {
				s.t.Fatalf("step %d: S%d applied %s where %s was applied", step, id, desc, prev)
			}
			s.appliedAt[e.Index] = desc
		}
		s.seen[id] = len(n.applied)
		// Log Matching: logs agreeing at some (index, term) agree up to it.
		for _, other := range s.c.ids {
			if other > id {
				checkLogMatching(s.t, step, n, s.c.node(other))
			}
		}
	}
	for _, id := range s.c.leaders() {
		// Election Safety.
		term := s.c.node(id).status().Term
		if prev, ok := s.leaderOf[term]; ok && prev != id {
			s.t.Fatalf("step %d: term %d has leaders S%d and S%d", step, term, prev, id)
		}
		s.leaderOf[term] = id
		// Leader Completeness: a leader of the newest term holds every
		// committed entry (all of them were committed in terms up to its own).
		if term == maxTerm {
			log := describeLog(s.c.node(id).entries())
			for _, e := range s.appliedAt {
				if !slices.Contains(log, e) {
					s.t.Fatalf("step %d: leader S%d of term %d lacks applied entry %s", step, id, term, e)
				}
			}
		}
	}
}

// checkLogMatching finds the last index at which a and b hold entries of the
// same term and checks that their logs are identical up to there.
func checkLogMatching(t *testing.T, step int, a, b *testNode) {
	t.Helper()
	la, lb := a.entries(), b.entries()
	k := min(len(la), len(lb)) - 1
	for k >= 0 && la[k].Term != lb[k].Term {
		k--
	}
	for i := 0; i <= k; i++ {
		if la[i].Term != lb[i].Term || string(la[i].Data) != string(lb[i].Data) {
			t.Fatalf("step %d: S%d and S%d agree at %d@%d but differ at index %d: %v vs %v", step, a.id, b.id,
				la[k].Index, la[k].Term, la[i].Index, describeLog(la[i:i+1]), describeLog(lb[i:i+1]))
		}
	}
}

// TestPaper5_4_3_SafetyUnderRandomFailures checks the guarantees of Figure 3
// that section 5.4.3 proves (Election Safety, Log Matching, Leader
// Completeness and State Machine Safety: "if a server has applied a log
// entry at a given index to its state machine, no other server will ever
// apply a different log entry for the same index") over a seeded random run
// of proposals, elections, crashes, restarts and lost messages on five
// servers. Followers never tick, so elections happen only when the run asks
// for them and the run is reproducible.
func TestPaper5_4_3_SafetyUnderRandomFailures(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 53))
			c := newCluster(t, 5, withConfig(func(c *raft.Config) { c.MaxSizePerMsg = 512 }))
			dropPercent := 0
			c.filter = func(pb.Message) bool { return rng.IntN(100) < dropPercent }
			s := &safetyChecker{t: t, c: c, appliedAt: map[uint64]string{}, seen: map[uint64]int{}, leaderOf: map[uint64]uint64{}}
			live := func() []uint64 {
				return slices.DeleteFunc(slices.Clone(c.ids), func(id uint64) bool { return c.down[id] })
			}
			for step := range 400 {
				switch r := rng.IntN(100); {
				case r < 45:
					ids := live()
					id := ids[rng.IntN(len(ids))]
					if err := c.node(id).rn.Propose(fmt.Appendf(nil, "p%d", step)); err != nil && err != raft.ErrProposalDropped {
						t.Fatalf("step %d: S%d: Propose: %v", step, id, err)
					}
				case r < 55:
					ids := live()
					require.NoError(t, c.node(ids[rng.IntN(len(ids))]).rn.Campaign())
				case r < 60:
					if ids := live(); len(ids) > 3 {
						c.crash(ids[rng.IntN(len(ids))])
					}
				case r < 70:
					for _, id := range c.ids {
						if c.down[id] {
							c.restart(id)
							break
						}
					}
				case r < 78:
					dropPercent = 10 * rng.IntN(4)
				default:
					c.tick(c.leaders()...)
				}
				c.stabilize()
				s.check(step)
			}
			assert.GreaterOrEqual(t, len(s.appliedAt), 40, "applied indexes: got %d, want enough to show something", len(s.appliedAt))
			assert.GreaterOrEqual(t, len(s.leaderOf), 5, "terms with a leader: got %d, want enough to show something", len(s.leaderOf))
		})
	}
}
