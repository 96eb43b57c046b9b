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
			n := newBootNode(t, 1, []uint64{1, 2, 3}, withLog(1, 2))
			resps := ofType(stepAndProcess(t, n, pb.Message{Type: pb.MsgVote, From: 2, Term: 4,
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
	c := newBootNetwork(t, 3)
	c.Campaign(1)
	c.SetFilter(func(m pb.Message) bool { return m.To != 3 && m.From != 3 })
	propose(t, c, 1, "x")
	require.Contains(t, describeLog(c.Node(1).Applied()), "3@2:x", "entries the leader applied")
	c.SetFilter(nil)

	require.False(t, campaignUntilLeader(c, 3, 3),
		"server 3, lacking a committed entry: got leader at term %d, want no win", c.Node(3).BasicStatus().Term)
	require.True(t, campaignUntilLeader(c, 2, 3), "server 2: got %v, want %v",
		c.Node(2).BasicStatus().RaftState, raft.StateLeader)
	for _, id := range c.IDs() {
		assert.Contains(t, describeLog(entries(t, c.Node(id))), "3@2:x", "log of server %d", id)
	}
}

// previousTermLeader returns server 1 of {1, 2, 3} holding entry 2 of term 2,
// uncommitted, elected for term 3: its log is 2@2 3@3 (the empty entry of
// its term) and its followers have acknowledged nothing yet.
func previousTermLeader(t *testing.T) *raft.TestNode {
	n := newBootNode(t, 1, []uint64{1, 2, 3}, withLog(2), withHardState(2, 0, bootIndex))
	campaignAndWin(t, n)
	require.Equal(t, []uint64{2, 3}, logTerms(t, n), "leader's log terms")
	require.Equal(t, uint64(3), n.BasicStatus().Term, "leader's term")
	return n
}

// TestPaper5_4_2_NoCommitByCountingPreviousTermReplicas checks section 5.4.2:
// "Raft never commits log entries from previous terms by counting replicas.
// Only log entries from the leader's current term are committed by counting
// replicas". Here every server holds the term-2 entry, yet the term-3
// leader does not commit it.
func TestPaper5_4_2_NoCommitByCountingPreviousTermReplicas(t *testing.T) {
	n := previousTermLeader(t)
	ackFrom(t, n, 2, 2, 3)
	n.Process()
	assert.Equal(t, uint64(bootIndex), n.BasicStatus().Commit, "commit")
	assert.Empty(t, appliedIDs(n), "applied")
}

// TestPaper5_4_2_PreviousTermEntriesCommittedIndirectly checks section
// 5.4.2: "once an entry from the current term has been committed in this
// way, then all prior entries are committed indirectly because of the Log
// Matching Property."
func TestPaper5_4_2_PreviousTermEntriesCommittedIndirectly(t *testing.T) {
	n := previousTermLeader(t)
	ackFrom(t, n, 3, 2)
	n.Process()
	assert.Equal(t, uint64(3), n.BasicStatus().Commit, "commit")
	assert.Equal(t, []string{"2@2", "3@3"}, appliedIDs(n), "applied")
}

// TestPaper5_4_2_NewLeaderAppendsEntryOfItsTerm checks how the leader gets an
// entry of its term to commit: "Raft handles this by having each leader
// commit a blank no-op entry into the log at the start of its term" (section
// 8, needed by the rule of section 5.4.2). The entry commits once a majority
// stores it, which also tells the leader what is committed.
func TestPaper5_4_2_NewLeaderAppendsEntryOfItsTerm(t *testing.T) {
	n := newBootNode(t, 1, []uint64{1, 2, 3}, withLog(1, 1))
	campaignAndWin(t, n)
	ents := entries(t, n)
	require.Equal(t, "4@2:", describeLog(ents[len(ents)-1:])[0], "last entry (index@term:data)")
	ackFrom(t, n, 4, 2)
	n.Process()
	assert.Equal(t, []string{"2@1", "3@1", "4@2"}, appliedIDs(n), "applied")
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
func figure8Prefix(t *testing.T, replicateOwnTerm bool) *raft.TestNetwork {
	c := newBootNetwork(t, 5, withConfig(func(c *raft.Config) { c.MaxSizePerMsg = 1 }))
	c.SetFilter(func(m pb.Message) bool { return m.Type != pb.MsgApp })
	c.Campaign(1) // (a)
	c.Crash(1)    // (b)
	c.Campaign(5)
	require.Equal(t, raft.StateLeader, c.Node(5).BasicStatus().RaftState, "(b) S5's state")
	require.Equal(t, uint64(3), c.Node(5).BasicStatus().Term, "(b) S5's term")
	c.Crash(5)
	c.Restart(1) // (c)
	c.SetFilter(func(m pb.Message) bool {
		if m.Type != pb.MsgApp || len(m.Entries) == 0 || replicateOwnTerm {
			return true
		}
		// S2 and S3 accept 2@2 but not 3@4; S4 gets nothing.
		return m.To != 4 && lastIndex(t, c.Node(m.To)) < 2
	})
	require.True(t, campaignUntilLeader(c, 1, 3), "(c) S1: got %v, want %v",
		c.Node(1).BasicStatus().RaftState, raft.StateLeader)
	want := map[uint64][]uint64{1: {2, 4}, 2: {2}, 3: {2}, 4: {}, 5: {3}}
	if replicateOwnTerm {
		want = map[uint64][]uint64{1: {2, 4}, 2: {2, 4}, 3: {2, 4}, 4: {2, 4}, 5: {3}}
	}
	for id, terms := range want {
		require.Equal(t, terms, logTerms(t, c.Node(id)), "(c) S%d's log terms", id)
	}
	require.Equal(t, uint64(4), c.Node(1).BasicStatus().Term, "(c) S1's term")
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
		require.Equal(t, uint64(bootIndex), c.Node(1).BasicStatus().Commit, "(c) S1's commit with 2@2 on S1, S2 and S3")
		c.Crash(1)
		c.Restart(5)
		c.SetFilter(nil)
		require.True(t, campaignUntilLeader(c, 5, 3), "(d) S5: got %v, want %v",
			c.Node(5).BasicStatus().RaftState, raft.StateLeader)
		c.Restart(1)
		c.TickPeers(5)
		for _, id := range c.IDs() {
			assert.Equal(t, []uint64{3, 5}, logTerms(t, c.Node(id)), "S%d's log terms", id)
			assert.Equal(t, []string{"2@3", "3@5"}, appliedIDs(c.Node(id)), "S%d's applied entries", id)
		}
	})
	t.Run("(e) entry of the leader's term on a majority is committed", func(t *testing.T) {
		c := figure8Prefix(t, true)
		require.Equal(t, uint64(3), c.Node(1).BasicStatus().Commit, "(c) S1's commit")
		c.Crash(1)
		c.Restart(5)
		require.False(t, campaignUntilLeader(c, 5, 3),
			"(e) S5 without the committed entries: got leader at term %d, want no win", c.Node(5).BasicStatus().Term)
		for _, id := range []uint64{2, 3, 4} {
			assert.Equal(t, []uint64{2, 4}, logTerms(t, c.Node(id)), "S%d's log terms", id)
		}
	})
}

// safetyChecker accumulates what a randomized run has observed and checks
// the properties of Figure 3 that section 5.4.3 argues for.
type safetyChecker struct {
	t *testing.T
	c *raft.TestNetwork
	// appliedAt maps an index to the first entry any server applied there.
	appliedAt map[uint64]string
	// seen counts, per server, the applied entries already checked.
	seen     map[uint64]int
	leaderOf map[uint64]uint64 // term -> leader
}

func (s *safetyChecker) check(step int) {
	s.t.Helper()
	maxTerm := uint64(0)
	for _, id := range s.c.IDs() {
		hs, _, _ := s.c.Node(id).Storage().InitialState()
		maxTerm = max(maxTerm, hs.Term, s.c.Node(id).BasicStatus().Term)
	}
	for _, id := range s.c.IDs() {
		n := s.c.Node(id)
		// State Machine Safety: one entry per index, whoever applies it.
		for _, e := range n.Applied()[s.seen[id]:] {
			desc := describeLog([]pb.Entry{e})[0]
			if prev, ok := s.appliedAt[e.Index]; ok && prev != desc {
				s.t.Fatalf("step %d: S%d applied %s where %s was applied", step, id, desc, prev)
			}
			s.appliedAt[e.Index] = desc
		}
		s.seen[id] = len(n.Applied())
		// Log Matching: logs agreeing at some (index, term) agree up to it.
		for _, other := range s.c.IDs() {
			if other > id {
				checkLogMatching(s.t, step, n, s.c.Node(other))
			}
		}
	}
	for _, id := range s.c.Leaders() {
		// Election Safety.
		term := s.c.Node(id).BasicStatus().Term
		if prev, ok := s.leaderOf[term]; ok && prev != id {
			s.t.Fatalf("step %d: term %d has leaders S%d and S%d", step, term, prev, id)
		}
		s.leaderOf[term] = id
		// Leader Completeness: a leader of the newest term holds every
		// committed entry (all of them were committed in terms up to its own).
		if term == maxTerm {
			log := describeLog(entries(s.t, s.c.Node(id)))
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
func checkLogMatching(t *testing.T, step int, a, b *raft.TestNode) {
	t.Helper()
	la, lb := entries(t, a), entries(t, b)
	k := min(len(la), len(lb)) - 1
	for k >= 0 && la[k].Term != lb[k].Term {
		k--
	}
	for i := 0; i <= k; i++ {
		if la[i].Term != lb[i].Term || string(la[i].Data) != string(lb[i].Data) {
			t.Fatalf("step %d: S%d and S%d agree at %d@%d but differ at index %d: %v vs %v", step, a.ID(), b.ID(),
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
			c := newBootNetwork(t, 5, withConfig(func(c *raft.Config) { c.MaxSizePerMsg = 512 }))
			dropPercent := 0
			c.SetFilter(func(pb.Message) bool { return rng.IntN(100) >= dropPercent })
			s := &safetyChecker{t: t, c: c, appliedAt: map[uint64]string{}, seen: map[uint64]int{}, leaderOf: map[uint64]uint64{}}
			live := func() []uint64 {
				return slices.DeleteFunc(slices.Clone(c.IDs()), func(id uint64) bool { return c.IsDown(id) })
			}
			for step := range 400 {
				switch r := rng.IntN(100); {
				case r < 45:
					ids := live()
					id := ids[rng.IntN(len(ids))]
					if err := c.Node(id).Propose(fmt.Appendf(nil, "p%d", step)); err != nil && err != raft.ErrProposalDropped {
						t.Fatalf("step %d: S%d: Propose: %v", step, id, err)
					}
				case r < 55:
					ids := live()
					require.NoError(t, c.Node(ids[rng.IntN(len(ids))]).Campaign())
				case r < 60:
					if ids := live(); len(ids) > 3 {
						c.Crash(ids[rng.IntN(len(ids))])
					}
				case r < 70:
					for _, id := range c.IDs() {
						if c.IsDown(id) {
							c.Restart(id)
							break
						}
					}
				case r < 78:
					dropPercent = 10 * rng.IntN(4)
				default:
					c.TickPeers(c.Leaders()...)
				}
				c.Flush()
				s.check(step)
			}
			assert.GreaterOrEqual(t, len(s.appliedAt), 40, "applied indexes: got %d, want enough to show something", len(s.appliedAt))
			assert.GreaterOrEqual(t, len(s.leaderOf), 5, "terms with a leader: got %d, want enough to show something", len(s.leaderOf))
		})
	}
}
