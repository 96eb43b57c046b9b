package raft_test

// Paper tests for section 5.3, log replication.

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// makeEntries returns entries at first, first+1, ... with the given terms and
// the data withLog would give them.
func makeEntries(first uint64, terms ...uint64) []pb.Entry {
	ents := make([]pb.Entry, len(terms))
	for i, term := range terms {
		index := first + uint64(i)
		ents[i] = pb.Entry{Index: index, Term: term, Data: entryData(index, term)}
	}
	return ents
}

// describeLog renders entries as "index@term:data", so that two logs compare
// equal only if they hold the same entries.
func describeLog(ents []pb.Entry) []string {
	out := make([]string, len(ents))
	for i, e := range ents {
		out[i] = fmt.Sprintf("%d@%d:%s", e.Index, e.Term, e.Data)
	}
	return out
}

// appFrom2 is an AppendEntries from server 2 leading term 3, with prevLogIndex
// and prevLogTerm (prev.Index, prev.Term) and the given entries.
func appFrom2(prevIndex, prevTerm uint64, ents []pb.Entry) pb.Message {
	return pb.Message{Type: pb.MsgApp, From: 2, Term: 3, Index: prevIndex, LogTerm: prevTerm, Entries: ents, Commit: bootIndex}
}

// TestPaper5_3_LeaderAppendsAndReplicatesProposal checks section 5.3: "The
// leader appends the command to its log as a new entry, then issues
// AppendEntries RPCs in parallel to each of the other servers to replicate
// the entry."
func TestPaper5_3_LeaderAppendsAndReplicatesProposal(t *testing.T) {
	n := newBootNode(t, 1, []uint64{1, 2, 3})
	becomeStableLeader(t, n) // term 2, log [2@2]
	require.NoError(t, n.Propose([]byte("x")))
	rd := n.HandleReady()
	want := "3@2:x"
	assert.Equal(t, []string{want}, describeLog(rd.Entries), "entries to persist")
	msgs := append(rd.Messages, n.Process()...)
	for _, id := range []uint64{2, 3} {
		t.Run(fmt.Sprintf("to %d", id), func(t *testing.T) {
			var carried []string
			for _, m := range ofType(msgs, pb.MsgApp) {
				if m.To == id && m.Term == 2 {
					carried = append(carried, describeLog(m.Entries)...)
					assert.Equal(t, "2@2", fmt.Sprintf("%d@%d", m.Index, m.LogTerm), "entry preceding the new ones")
				}
			}
			assert.Equal(t, []string{want}, carried, "entries sent")
		})
	}
}

// TestPaper5_3_LeaderCommitsOnceReplicatedOnMajority checks section 5.3: "A
// log entry is committed once the leader that created the entry has
// replicated it on a majority of the servers [...] The leader [...] applies
// the entry to its state machine". With five servers the leader and one
// follower are not enough; the leader and two followers are.
func TestPaper5_3_LeaderCommitsOnceReplicatedOnMajority(t *testing.T) {
	n := newBootNode(t, 1, []uint64{1, 2, 3, 4, 5})
	becomeStableLeader(t, n)
	require.NoError(t, n.Propose([]byte("x")))
	n.Process()
	applied := len(n.Applied())

	ackFrom(t, n, 3, 2)
	n.Process()
	assert.Equal(t, uint64(2), n.BasicStatus().Commit, "commit with 2 of 5 replicas")
	assert.Empty(t, describeLog(n.Applied()[applied:]), "applied with 2 of 5 replicas")

	ackFrom(t, n, 3, 3)
	n.Process()
	assert.Equal(t, uint64(3), n.BasicStatus().Commit, "commit with 3 of 5 replicas")
	assert.Equal(t, []string{"3@2:x"}, describeLog(n.Applied()[applied:]), "applied with 3 of 5 replicas")
}

// TestPaper5_3_CommitIncludesPrecedingEntries checks section 5.3: committing
// an entry "also commits all preceding entries in the leader's log", which
// are applied in log order.
func TestPaper5_3_CommitIncludesPrecedingEntries(t *testing.T) {
	n := newBootNode(t, 1, []uint64{1, 2, 3, 4, 5})
	becomeStableLeader(t, n)
	for _, d := range []string{"a", "b", "c"} {
		require.NoError(t, n.Propose([]byte(d)))
	}
	n.Process()
	applied := len(n.Applied())
	ackFrom(t, n, 5, 2, 3)
	n.Process()
	assert.Equal(t, []string{"3@2:a", "4@2:b", "5@2:c"}, describeLog(n.Applied()[applied:]), "applied")
}

// TestPaper5_3_LeaderSendsCommitIndex checks section 5.3: "The leader keeps
// track of the highest index it knows to be committed, and it includes that
// index in future AppendEntries RPCs (including heartbeats) so that the
// other servers eventually find out."
func TestPaper5_3_LeaderSendsCommitIndex(t *testing.T) {
	setup := func(t *testing.T) *raft.TestNode {
		n := newBootNode(t, 1, []uint64{1, 2, 3})
		becomeStableLeader(t, n)
		require.NoError(t, n.Propose([]byte("x")))
		n.Process()
		ackFrom(t, n, 3, 2, 3)
		n.Process()
		require.Equal(t, uint64(3), n.BasicStatus().Commit, "commit")
		return n
	}
	check := func(t *testing.T, msgs []pb.Message, typ pb.MessageType) {
		got := make(map[uint64]uint64)
		for _, m := range ofType(msgs, typ) {
			got[m.To] = m.Commit
		}
		assert.Equal(t, map[uint64]uint64{2: 3, 3: 3}, got, "commit index carried per follower")
	}
	t.Run("in appends", func(t *testing.T) {
		n := setup(t)
		require.NoError(t, n.Propose([]byte("y")))
		check(t, n.Process(), pb.MsgApp)
	})
	t.Run("in heartbeats", func(t *testing.T) {
		n := setup(t)
		for range testHeartbeatTick {
			n.Tick()
		}
		check(t, n.Process(), pb.MsgHeartbeat)
	})
}

// TestPaper5_3_FollowerAppliesCommittedEntries checks section 5.3: "Once a
// follower learns that a log entry is committed, it applies the entry to its
// local state machine (in log order)." It learns it from the leader's commit
// index, which Figure 2 caps at the last new entry: "If leaderCommit >
// commitIndex, set commitIndex = min(leaderCommit, index of last new entry)".
func TestPaper5_3_FollowerAppliesCommittedEntries(t *testing.T) {
	t.Run("in log order as the commit index advances", func(t *testing.T) {
		n := newBootNode(t, 1, []uint64{1, 2, 3})
		app := appFrom2(bootIndex, bootTerm, makeEntries(2, 3, 3, 3))
		app.Commit = 2
		stepAndProcess(t, n, app)
		assert.Equal(t, []string{"2@3:2@3"}, describeLog(n.Applied()), "applied after commit 2")
		stepAndProcess(t, n, pb.Message{Type: pb.MsgHeartbeat, From: 2, Term: 3, Commit: 4})
		assert.Equal(t, []string{"2@3:2@3", "3@3:3@3", "4@3:4@3"}, describeLog(n.Applied()), "applied after commit 4")
	})
	t.Run("commit capped at the last new entry", func(t *testing.T) {
		n := newBootNode(t, 1, []uint64{1, 2, 3}, withLog(1, 1, 1))
		// The follower's entries 3 and 4 are not known to match the leader's.
		app := appFrom2(bootIndex, bootTerm, makeEntries(2, 1))
		app.Commit = 4
		stepAndProcess(t, n, app)
		assert.Equal(t, uint64(2), n.BasicStatus().Commit, "commit")
	})
}

// TestPaper5_3_ConsistencyCheckRejectsMismatchedPrevEntry checks section
// 5.3: "When sending an AppendEntries RPC, the leader includes the index and
// term of the entry in its log that immediately precedes the new entries. If
// the follower does not find an entry in its log with the same index and
// term, then it refuses the new entries."
func TestPaper5_3_ConsistencyCheckRejectsMismatchedPrevEntry(t *testing.T) {
	// The follower's log: 2@1 3@2 after the boot entry 1@1.
	for _, tt := range []struct {
		name                string
		prevIndex, prevTerm uint64
		ents                []pb.Entry
		wantReject          bool
		wantIndex           uint64 // rejected prevIndex, or last new index
		wantLog             []uint64
	}{
		{"prev matches the last entry", 3, 2, makeEntries(4, 3), false, 4, []uint64{1, 2, 3}},
		{"prev matches an earlier entry", 2, 1, makeEntries(3, 3), false, 3, []uint64{1, 3}},
		{"prev has another term", 3, 1, makeEntries(4, 3), true, 3, []uint64{1, 2}},
		{"prev is past the log", 5, 3, makeEntries(6, 3), true, 5, []uint64{1, 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := newBootNode(t, 1, []uint64{1, 2, 3}, withLog(1, 2))
			resps := ofType(stepAndProcess(t, n, appFrom2(tt.prevIndex, tt.prevTerm, tt.ents)), pb.MsgAppResp)
			require.Len(t, resps, 1, "responses")
			r := resps[0]
			assert.Equal(t, tt.wantReject, r.Reject, "rejected")
			assert.Equal(t, tt.wantIndex, r.Index, "index in the response")
			assert.Equal(t, "to 2 at term 3", fmt.Sprintf("to %d at term %d", r.To, r.Term), "response")
			assert.Equal(t, tt.wantLog, logTerms(t, n), "log terms")
		})
	}
}

// TestPaper5_3_FollowerDeletesConflictingEntries checks section 5.3 and
// Figure 2: "If an existing entry conflicts with a new one (same index but
// different terms), delete the existing entry and all that follow it [...]
// Append any new entries not already in the log."
func TestPaper5_3_FollowerDeletesConflictingEntries(t *testing.T) {
	// The follower's log: 2@1 3@2 4@2 after the boot entry 1@1.
	for _, tt := range []struct {
		name                string
		prevIndex, prevTerm uint64
		ents                []pb.Entry
		wantLog             []uint64
	}{
		{"conflict at the first new entry", 2, 1, makeEntries(3, 3, 3), []uint64{1, 3, 3}},
		{"conflict after a matching entry", 2, 1, makeEntries(3, 2, 3, 3), []uint64{1, 2, 3, 3}},
		{"conflict at the last entry", 3, 2, makeEntries(4, 3), []uint64{1, 2, 3}},
		{"no conflict, only new entries", 4, 2, makeEntries(5, 3, 3), []uint64{1, 2, 2, 3, 3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := newBootNode(t, 1, []uint64{1, 2, 3}, withLog(1, 2, 2))
			stepAndProcess(t, n, appFrom2(tt.prevIndex, tt.prevTerm, tt.ents))
			assert.Equal(t, tt.wantLog, logTerms(t, n), "log terms")
			// Every entry the leader sent is now in the log, data included.
			assert.Subset(t, describeLog(entries(t, n)), describeLog(tt.ents), "entries sent by the leader")
		})
	}
}

// TestPaper5_3_LeaderNeverOverwritesItsLog checks the Leader Append-Only
// property of section 5.3 (Figure 3): "a leader never overwrites or deletes
// entries in its own log". Neither a follower's rejection nor a conflicting
// append claiming the leader's own term changes it.
func TestPaper5_3_LeaderNeverOverwritesItsLog(t *testing.T) {
	for _, tt := range []struct {
		name string
		msg  pb.Message
	}{
		{"rejection with a hint", pb.Message{Type: pb.MsgAppResp, From: 2, Term: 2, Index: 3, Reject: true,
			RejectHint: bootIndex, LogTerm: bootTerm}},
		{"append of the leader's term", pb.Message{Type: pb.MsgApp, From: 2, Term: 2, Index: bootIndex,
			LogTerm: bootTerm, Entries: makeEntries(2, 2), Commit: 2}},
		{"append of an earlier term", pb.Message{Type: pb.MsgApp, From: 2, Term: 1, Index: bootIndex,
			LogTerm: bootTerm, Entries: makeEntries(2, 1), Commit: 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Log 2@1 3@1, then the term-2 leader's empty entry 4@2.
			n := newBootNode(t, 1, []uint64{1, 2, 3}, withLog(1, 1))
			campaignAndWin(t, n)
			before := describeLog(entries(t, n))
			stepAndProcess(t, n, tt.msg)
			assert.Equal(t, before, describeLog(entries(t, n)), "leader's log")
			assert.Equal(t, raft.StateLeader, n.BasicStatus().RaftState, "state")
		})
	}
}

// figure7 holds the follower logs of Figure 7 of the paper, as terms of the
// entries from index 2 on (index 1, term 1, is the boot entry). The leader,
// elected for term 8, holds 1 1 1 4 4 5 5 6 6 6.
var figure7 = []struct {
	name     string
	follower []uint64
	// conflictTerms is the number of distinct terms among the follower's
	// entries that the leader's log does not hold, at least 1 when the
	// follower merely lacks entries: the paper's bound on the rejections.
	conflictTerms int
}{
	{"(a) missing an entry", []uint64{1, 1, 4, 4, 5, 5, 6, 6}, 1},
	{"(b) missing entries of several terms", []uint64{1, 1, 4}, 1},
	{"(c) an extra entry of the leader's terms", []uint64{1, 1, 4, 4, 5, 5, 6, 6, 6, 6}, 1},
	{"(d) extra entries of a later term", []uint64{1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}, 1},
	{"(e) missing and extra entries", []uint64{1, 1, 4, 4, 4, 4}, 1},
	{"(f) entries of terms the leader never saw", []uint64{1, 1, 2, 2, 2, 3, 3, 3, 3, 3}, 2},
}

var figure7Leader = []uint64{1, 1, 4, 4, 5, 5, 6, 6, 6}

// figure7Run elects server 1 (holding the Figure 7 leader's log) for term 8
// with the vote of server 3 (holding the same log) and lets it repair server
// 2, which holds the given log. It returns the cluster and every AppendEntries
// exchange between servers 1 and 2, in delivery order.
func figure7Run(t *testing.T, follower []uint64) (*raft.TestNetwork, []pb.Message) {
	voters := []uint64{1, 2, 3}
	c := raft.NewTestNetwork(
		newBootNode(t, 1, voters, withLog(figure7Leader...), withHardState(7, 0, bootIndex)),
		newBootNode(t, 2, voters, withLog(follower...)),
		newBootNode(t, 3, voters, withLog(figure7Leader...), withHardState(7, 0, bootIndex)),
	)
	var exchange []pb.Message
	c.SetFilter(func(m pb.Message) bool {
		if (m.Type == pb.MsgApp || m.Type == pb.MsgAppResp) && (m.From == 2 || m.To == 2) {
			exchange = append(exchange, m)
		}
		return true
	})
	c.Campaign(1)
	require.Equal(t, raft.StateLeader, c.Node(1).BasicStatus().RaftState, "server 1's state")
	require.Equal(t, uint64(8), c.Node(1).BasicStatus().Term, "server 1's term")
	return c, exchange
}

// TestPaper5_3_LeaderBringsFollowerLogsIntoConsistency checks section 5.3:
// "the leader handles inconsistencies by forcing the followers' logs to
// duplicate its own [...] Once AppendEntries succeeds, the follower's log
// is consistent with the leader's", for each follower of Figure 7, while the
// leader's log only grows by its own new entry.
func TestPaper5_3_LeaderBringsFollowerLogsIntoConsistency(t *testing.T) {
	want := append(slices.Clone(figure7Leader), 8)
	for _, tt := range figure7 {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := figure7Run(t, tt.follower)
			for _, id := range c.IDs() {
				assert.Equal(t, want, logTerms(t, c.Node(id)), "log terms of server %d", id)
			}
			assert.Equal(t, describeLog(entries(t, c.Node(1))), describeLog(entries(t, c.Node(2))), "follower's entries")
		})
	}
}

// TestPaper5_3_LeaderBacksUpNextIndexAfterRejection checks section 5.3:
// "After a rejection, the leader decrements nextIndex and retries the
// AppendEntries RPC", and the optimization the section describes: with the
// term of the conflicting entry in the rejection, "one AppendEntries RPC
// will be required for each term with conflicting entries, rather than one
// RPC per entry." Each retry probes an earlier entry than the rejected one,
// and the number of rejections stays within the number of conflicting terms.
func TestPaper5_3_LeaderBacksUpNextIndexAfterRejection(t *testing.T) {
	for _, tt := range figure7 {
		t.Run(tt.name, func(t *testing.T) {
			_, exchange := figure7Run(t, tt.follower)
			rejections := 0
			var rejected *pb.Message
			for i, m := range exchange {
				switch {
				case m.Type == pb.MsgAppResp && m.Reject:
					rejections++
					rejected = &exchange[i]
				case m.Type == pb.MsgApp && rejected != nil:
					assert.Less(t, m.Index, rejected.Index,
						"retry after a rejection of prev index %d: got prev index %d, want less", rejected.Index, m.Index)
					rejected = nil
				}
			}
			assert.LessOrEqual(t, rejections, tt.conflictTerms,
				"rejections: got %d, want at most %d", rejections, tt.conflictTerms)
		})
	}
}
