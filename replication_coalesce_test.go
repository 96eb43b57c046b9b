package raft

import (
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fillWindows elects 1 among three voters that allow three appends in flight
// and one entry per append, sends each follower three one-entry appends
// (one per Ready), and then appends `queued` more entries that no window has
// room for. It returns the leader and the appends sent to follower 2.
func fillWindows(t *testing.T, queued int) (*testNode, []pb.Message) {
	nodes, _ := leaderWithFollowers(t, 3, withConfig(func(c *Config) {
		c.MaxInflightMsgs = 3
		c.MaxSizePerMsg = 1
	}))
	leader := nodes[0]
	var sent []pb.Message
	for range 3 {
		require.NoError(t, leader.Propose([]byte("in flight")))
		sent = append(sent, msgsOf(leader.process(), pb.MsgApp, 2)...)
	}
	require.Len(t, sent, 3, "appends sent to 2 while filling its window")
	for range queued {
		require.NoError(t, leader.Propose([]byte("queued")))
	}
	assert.Empty(t, msgsOf(leader.process(), pb.MsgApp, 2), "got an append to 2 past its full window")
	for _, id := range []uint64{2, 3} {
		pr := leader.raft.leading.repl.get(id)
		require.Equal(t, tracker.StateReplicate, pr.State, "state of %d", id)
		require.True(t, pr.IsPaused(), "got the window of %d open, want it full", id)
	}
	return leader, sent
}

// TestProposalsShareOneAppendPerFollowerPerReady checks that proposals
// stepped between two Readies are sent to each follower in one append.
func TestProposalsShareOneAppendPerFollowerPerReady(t *testing.T) {
	nodes := newTestCluster(t, 3)
	electLeader(t, nodes...)
	leader := nodes[0]
	for i := range 10 {
		require.NoError(t, leader.Propose([]byte{byte(i)}))
	}
	rd := leader.Ready()
	assert.Len(t, rd.Entries, 10, "got %d entries to persist, want 10", len(rd.Entries))
	for _, to := range []uint64{2, 3} {
		apps := msgsOf(rd.Messages, pb.MsgApp, to)
		require.Len(t, apps, 1, "got %d MsgApp to %d, want 1", len(apps), to)
		assert.Len(t, apps[0].Entries, 10, "got %d entries to %d, want 10", len(apps[0].Entries), to)
	}
	assert.Len(t, rd.Messages, 2, "got %v, want only the two appends", msgTypes(rd.Messages))
	leader.Advance(rd)
}

// TestLeaderSelfAcknowledgementsAreMerged checks that the leader's own
// acknowledgements of proposals appended between two Readies are merged
// into one, for the last index.
func TestLeaderSelfAcknowledgementsAreMerged(t *testing.T) {
	nodes := newTestCluster(t, 3)
	electLeader(t, nodes...)
	r := nodes[0].raft
	for range 5 {
		require.NoError(t, nodes[0].Propose([]byte("x")))
	}
	acks := afterAppendMsgs(r)
	require.Len(t, acks, 1, "got %d pending self acknowledgements, want 1", len(acks))
	assert.Equal(t, r.log.lastIndex(), acks[0].Index, "got ack of %d, want the last index %d",
		acks[0].Index, r.log.lastIndex())
}

// TestAcknowledgementsShareOneAppendPerFollowerPerReady checks that
// acknowledgements stepped between two Readies do not each trigger appends:
// the leader sends each follower, once the Ready is built, one append with
// everything flow control lets through and the latest commit index, and more
// than one only when MaxSizePerMsg or the inflight window require it.
func TestAcknowledgementsShareOneAppendPerFollowerPerReady(t *testing.T) {
	for _, tc := range []struct {
		name   string
		queued int
		// want is the number of appends per follower: one per queued entry
		// (MaxSizePerMsg allows one entry per append) up to the window of
		// three, or a single one carrying only the commit index.
		want int
	}{
		{name: "commit index only", queued: 0, want: 1},
		{name: "one queued entry", queued: 1, want: 1},
		{name: "queued entries split by MaxSizePerMsg", queued: 2, want: 2},
		{name: "queued entries beyond the window", queued: 5, want: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leader, sent := fillWindows(t, tc.queued)
			for _, from := range []uint64{2, 3} {
				for _, m := range sent {
					ack := pb.Message{From: from, To: 1, Type: pb.MsgAppResp, Term: m.Term, Index: m.Entries[0].Index}
					require.NoError(t, leader.Step(ack))
				}
			}
			committed := leader.raft.log.committed()
			wantCommit := sent[len(sent)-1].Entries[0].Index
			require.Equal(t, wantCommit, committed, "got commit %d after the acknowledgements, want %d", committed, wantCommit)

			rd := leader.Ready()
			for _, to := range []uint64{2, 3} {
				apps := msgsOf(rd.Messages, pb.MsgApp, to)
				assert.Len(t, apps, tc.want, "got %d appends to %d in one Ready, want %d", len(apps), to, tc.want)
				entries := 0
				for _, m := range apps {
					entries += len(m.Entries)
					assert.Equal(t, committed, m.Commit, "got an append to %d with commit %d, want %d", to, m.Commit, committed)
				}
				wantEntries := min(tc.queued, 3)
				assert.Equal(t, wantEntries, entries, "got %d entries sent to %d, want %d", entries, to, wantEntries)
			}
			leader.Advance(rd)
		})
	}
}

// TestHeartbeatResponsesShareOneProbe checks that a probing follower whose
// heartbeat responses arrive several at a time (one per read round, say) is
// sent one probe, and that an empty probe to a follower that has everything
// is outstanding alone, like any other probe.
func TestHeartbeatResponsesShareOneProbe(t *testing.T) {
	nodes, _ := leaderWithFollowers(t, 2)
	leader := nodes[0]
	leader.ReportUnreachable(2)
	pr := leader.raft.leading.repl.get(2)
	require.Equal(t, tracker.StateProbe, pr.State, "pr.State: got %v, want StateProbe", pr.State)
	require.Equal(t, leader.raft.log.lastIndex(), pr.Match, "follower 2 has everything")
	hbResp := pb.Message{From: 2, To: 1, Type: pb.MsgHeartbeatResp, Term: leader.raft.term}
	for range 3 {
		require.NoError(t, leader.Step(hbResp))
	}
	apps := msgsOf(leader.process(), pb.MsgApp, 2)
	require.Len(t, apps, 1, "got %d probes to 2, want 1", len(apps))
	assert.Empty(t, apps[0].Entries, "got entries in the probe of a follower that has everything")
	pr = leader.raft.leading.repl.get(2)
	assert.True(t, pr.IsPaused(), "got probing unpaused with an empty probe outstanding")

	// The empty probe's acknowledgement moves the follower to replicate.
	ack := pb.Message{From: 2, To: 1, Type: pb.MsgAppResp, Term: leader.raft.term, Index: apps[0].Index}
	require.NoError(t, leader.Step(ack))
	pr = leader.raft.leading.repl.get(2)
	assert.Equal(t, tracker.StateReplicate, pr.State, "got %v after the probe's acknowledgement, want replicate", pr.State)
	assert.Empty(t, msgsOf(leader.process(), pb.MsgApp, 2), "got an append to a follower that has everything")
}

// TestRejectionsShareOneProbe checks that a follower answering several
// pipelined appends with rejections is probed once per Ready, from the
// point its first rejection's hint leads to.
func TestRejectionsShareOneProbe(t *testing.T) {
	nodes, _ := leaderWithFollowers(t, 2, withConfig(func(c *Config) { c.MaxSizePerMsg = 1 }))
	leader := nodes[0]
	first := leader.raft.log.lastIndex()
	for range 3 {
		require.NoError(t, leader.Propose([]byte("lost")))
	}
	apps := msgsOf(leader.process(), pb.MsgApp, 2)
	require.Len(t, apps, 3, "apps: got %d, want 3", len(apps))
	// All three were lost but the last; the follower rejects it, and a
	// duplicate of the rejection arrives too.
	last := apps[2]
	rej := pb.Message{From: 2, To: 1, Type: pb.MsgAppResp, Term: last.Term, Index: last.Index,
		Reject: true, RejectHint: first, LogTerm: leader.raft.term}
	require.NoError(t, leader.Step(rej))
	require.NoError(t, leader.Step(rej))
	probes := msgsOf(leader.process(), pb.MsgApp, 2)
	require.Len(t, probes, 1, "got %d probes to 2, want 1", len(probes))
	assert.Equal(t, first, probes[0].Index, "got a probe after %d, want after %d", probes[0].Index, first)
}
