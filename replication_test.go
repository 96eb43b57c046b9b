package raft

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/quorate/raft/quorum"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewLeaderCommitsOnlyItsOwnTermByCounting(t *testing.T) {
	// Paper 5.4.2: entries of earlier terms are committed only indirectly,
	// once an entry of the leader's term is.
	r := newTestNode(t, 1, storageWithLog(t, []uint64{1, 2, 3}, 1, 1)).raft
	r.becomeCandidate()
	r.becomeLeader()
	require.Equal(t, uint64(3), r.log.lastIndex(), "the new leader appends an empty entry")
	e, err := r.log.slice(3, 4, noLimit)
	require.NoError(t, err)
	assert.Equal(t, pb.Entry{Index: 3, Term: 2}, e[0], "got %v, want the empty entry of term 2", e[0])

	require.NoError(t, r.Step(pb.Message{From: 2, To: 1, Type: pb.MsgAppResp, Term: 2, Index: 2}))
	assert.Equal(t, uint64(0), r.log.committed(), "got commit %d on a quorum of term-1 entries, want 0", r.log.committed())

	require.NoError(t, r.Step(pb.Message{From: 1, To: 1, Type: pb.MsgAppResp, Term: 2, Index: 3}))
	require.NoError(t, r.Step(pb.Message{From: 2, To: 1, Type: pb.MsgAppResp, Term: 2, Index: 3}))
	assert.Equal(t, uint64(3), r.log.committed(), "got commit %d, want 3", r.log.committed())
}

func TestFlowControl(t *testing.T) {
	t.Run("probe: one append outstanding", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 2)
		leader := nodes[0]
		leader.ReportUnreachable(2)
		pr := leader.raft.leading.repl.get(2)
		require.Equal(t, tracker.StateProbe, pr.State, "pr.State: got %v, want StateProbe", pr.State)
		require.NoError(t, leader.Propose([]byte("a")))
		assert.Len(t, msgsOf(leader.process(), pb.MsgApp, 2), 1, "got no probe")
		require.NoError(t, leader.Propose([]byte("b")))
		assert.Empty(t, msgsOf(leader.process(), pb.MsgApp, 2), "got a second append while probing")
		// A heartbeat response lifts the pause.
		require.NoError(t, leader.Step(pb.Message{From: 2, To: 1, Type: pb.MsgHeartbeatResp, Term: 1}))
		apps := msgsOf(leader.process(), pb.MsgApp, 2)
		require.Len(t, apps, 1, "got no append after the heartbeat response")
		assert.Len(t, apps[0].Entries, 2, "got %d entries, want both proposals", len(apps[0].Entries))
	})
	t.Run("replicate: bounded by MaxInflightMsgs", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 2, withConfig(func(c *Config) {
			c.MaxInflightMsgs = 3
			c.MaxSizePerMsg = 1 // one entry per message
		}))
		leader := nodes[0]
		require.Equal(t, tracker.StateReplicate, leader.raft.leading.repl.get(2).State, "state of 2: got %v, want StateReplicate", leader.raft.leading.repl.get(2).State)
		for range 10 {
			require.NoError(t, leader.Propose([]byte("x")))
		}
		apps := msgsOf(leader.process(), pb.MsgApp, 2)
		require.Len(t, apps, 3, "got %d appends in flight, want 3", len(apps))
		// Acknowledging the first frees one slot.
		require.NoError(t, leader.Step(pb.Message{From: 2, To: 1, Type: pb.MsgAppResp, Term: 1, Index: apps[0].Entries[0].Index}))
		assert.Len(t, msgsOf(leader.process(), pb.MsgApp, 2), 1, "got no append after a slot freed")
	})
	for _, tc := range []struct {
		name     string
		maxBytes uint64
		want     int
	}{
		{"replicate: bounded by MaxInflightBytes (2.5 entries)", 250, 3},
		{"replicate: bounded by MaxInflightBytes (2 entries)", 200, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes, _ := leaderWithFollowers(t, 2, withConfig(func(c *Config) {
				c.MaxSizePerMsg = 1
				c.MaxInflightBytes = tc.maxBytes
			}))
			leader := nodes[0]
			for range 10 {
				require.NoError(t, leader.Propose(bytes.Repeat([]byte("x"), 100)))
			}
			apps := msgsOf(leader.process(), pb.MsgApp, 2)
			assert.Len(t, apps, tc.want, "got %d appends in flight, want %d", len(apps), tc.want)
		})
	}
	t.Run("MaxSizePerMsg splits appends", func(t *testing.T) {
		probe := pb.Entry{Data: bytes.Repeat([]byte("x"), 100)}
		nodes, _ := leaderWithFollowers(t, 2, withConfig(func(c *Config) {
			c.MaxSizePerMsg = uint64(2 * probe.Size())
		}))
		leader := nodes[0]
		for range 6 {
			require.NoError(t, leader.Propose(probe.Data))
		}
		for _, m := range msgsOf(leader.process(), pb.MsgApp, 2) {
			assert.LessOrEqual(t, len(m.Entries), 2, "got %d entries in one append, want <= 2", len(m.Entries))
		}
	})
	t.Run("snapshot: paused until reported", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 2)
		leader := nodes[0]
		leader.raft.leading.repl.peer(2).becomeSnapshot(10)
		require.NoError(t, leader.Propose([]byte("x")))
		assert.Empty(t, msgsOf(leader.process(), pb.MsgApp, 2), "got an append in snapshot state")
		leader.ReportSnapshot(2, SnapshotFailure)
		pr := leader.raft.leading.repl.get(2)
		assert.Equal(t, tracker.StateProbe, pr.State, "got %v after a failed snapshot, want probe", pr.State)
		assert.Equal(t, uint64(0), pr.PendingSnapshot, "got pending snapshot %d, want 0", pr.PendingSnapshot)
		assert.True(t, pr.MsgAppFlowPaused, "got probing unpaused right after the failure")
	})
	t.Run("unreachable: replicate falls back to probe", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 2)
		leader := nodes[0]
		require.Equal(t, tracker.StateReplicate, leader.raft.leading.repl.get(2).State, "state of 2: got %v, want StateReplicate", leader.raft.leading.repl.get(2).State)
		leader.ReportUnreachable(2)
		assert.Equal(t, tracker.StateProbe, leader.raft.leading.repl.get(2).State, "got %v, want probe", leader.raft.leading.repl.get(2).State)
	})
}

// TestEmptyProbeIsTheOneAppendOutstanding pins down the probe rule of
// flow control (thesis 3.5) for the case TestFlowControl does not reach: a probe that carries no entries, because the follower already
// has them all. It is as much a probe as one with entries, so until the
// follower answers it (or a heartbeat response shows it alive) nothing else
// goes to that follower, not even the next proposal.
func TestEmptyProbeIsTheOneAppendOutstanding(t *testing.T) {
	nodes, _ := leaderWithFollowers(t, 3)
	leader := nodes[0]
	term := leader.raft.term

	// Follower 3 has everything; reporting it unreachable puts it back in
	// probe state with nothing left to send.
	leader.ReportUnreachable(3)
	pr := leader.raft.leading.repl.get(3)
	require.Equal(t, tracker.StateProbe, pr.State, "got %v, want probe after ReportUnreachable", pr.State)
	require.Greater(t, pr.Next, leader.raft.log.lastIndex(), "follower 3 should be missing nothing")

	t.Run("a heartbeat response draws an empty probe", func(t *testing.T) {
		require.NoError(t, leader.Step(pb.Message{From: 3, To: 1, Type: pb.MsgHeartbeatResp, Term: term}))
		apps := msgsOf(leader.process(), pb.MsgApp, 3)
		require.Len(t, apps, 1, "got %d appends to 3, want one probe", len(apps))
		assert.Empty(t, apps[0].Entries, "got %d entries in the probe, want none", len(apps[0].Entries))
	})

	t.Run("while it is unanswered a proposal goes to the other followers only", func(t *testing.T) {
		require.NoError(t, leader.Propose([]byte("a")))
		msgs := leader.process()
		assert.Len(t, msgsOf(msgs, pb.MsgApp, 2), 1, "got %d appends to 2, want 1", len(msgsOf(msgs, pb.MsgApp, 2)))
		got := msgsOf(msgs, pb.MsgApp, 3)
		assert.Empty(t, got, "got %v to 3, want nothing while its probe is outstanding", got)
	})

	t.Run("the answer to the probe resumes replication", func(t *testing.T) {
		require.NoError(t, leader.Step(pb.Message{From: 3, To: 1, Type: pb.MsgAppResp, Term: term, Index: pr.Next - 1}))
		apps := msgsOf(leader.process(), pb.MsgApp, 3)
		require.Len(t, apps, 1, "got %d appends to 3, want 1", len(apps))
		assert.Len(t, apps[0].Entries, 1, "got %d entries, want the proposal", len(apps[0].Entries))
		pr := leader.raft.leading.repl.get(3)
		assert.Equal(t, tracker.StateReplicate, pr.State, "got %v, want replicate", pr.State)
	})
}

func TestRejectHintFindsDivergenceInOneRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name          string
		leader, other []uint64 // terms of the logs
	}{
		{"follower log is a prefix", []uint64{1, 1, 1, 4, 4, 5, 5, 6, 6, 6}, []uint64{1, 1, 1}},
		{"follower has a longer divergent tail", []uint64{1, 1, 1, 4, 4, 5, 5, 6, 6, 6}, []uint64{1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}},
		{"follower has a divergent tail of a later term", []uint64{1, 1, 1, 4, 4, 5, 5, 6, 6, 6}, []uint64{1, 1, 1, 4, 4, 4, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n1 := newTestNode(t, 1, storageWithLog(t, []uint64{1, 2, 3}, tc.leader...))
			n2 := newTestNode(t, 2, storageWithLog(t, []uint64{1, 2, 3}, tc.other...))
			n3 := newTestNode(t, 3, storageWithLog(t, []uint64{1, 2, 3}, tc.leader...))
			nw := newNetwork(n1, n2, n3)
			nw.recordDelivered = true
			nw.campaign(1)
			require.Equal(t, StateLeader, n1.raft.state, "n1.raft.state: got %v, want StateLeader", n1.raft.state)
			rejections := 0
			for _, m := range nw.delivered {
				if m.Type == pb.MsgAppResp && m.Reject && m.From == 2 {
					rejections++
				}
			}
			assert.Equal(t, 1, rejections, "got %d rejections from 2, want 1", rejections)
			assert.Equal(t, n1.raft.log.lastEntryID(), n2.raft.log.lastEntryID(), "got follower log ending at %v, want %v",
				n2.raft.log.lastEntryID(), n1.raft.log.lastEntryID())
		})
	}
}

func TestFollowerRejectsNonMatchingAppend(t *testing.T) {
	r := termPeer(t)
	require.NoError(t, r.Step(pb.Message{From: 2, To: 1, Type: pb.MsgApp, Term: 5, LogTerm: 5, Index: 3,
		Entries: []pb.Entry{{Index: 4, Term: 5}}}))
	msgs := sentMessages(r)
	require.Len(t, msgs, 1, "msgs: got %d, want 1", len(msgs))
	assert.True(t, msgs[0].Reject, "got the append accepted")
	assert.Equal(t, uint64(1), msgs[0].RejectHint, "got hint %d, want our last index 1", msgs[0].RejectHint)
	assert.Equal(t, uint64(5), msgs[0].LogTerm, "got hint term %d, want 5", msgs[0].LogTerm)
}

func TestFollowerIgnoresMalformedAppend(t *testing.T) {
	r := termPeer(t)
	// Entries that do not follow Index.
	require.NoError(t, r.Step(pb.Message{From: 2, To: 1, Type: pb.MsgApp, Term: 5, LogTerm: 5, Index: 1,
		Entries: []pb.Entry{{Index: 5, Term: 5}}}))
	assert.Empty(t, sentMessages(r), "got a response to a malformed append")
	assert.Equal(t, uint64(1), r.log.lastIndex(), "got last index %d, want 1", r.log.lastIndex())
}

func TestCommitIndexCatchUp(t *testing.T) {
	t.Run("a follower that missed the entries", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		nw.filter = func(m pb.Message) bool { return !(m.Type == pb.MsgApp && m.To == 3) }
		nw.propose(1, "x")
		require.Empty(t, nodes[2].appliedData(), "nodes[2].appliedData(): got %v, want none", nodes[2].appliedData())
		nw.filter = nil
		nw.send(pb.Message{From: 1, To: 1, Type: pb.MsgBeat})
		assert.Equal(t, []string{"x"}, nodes[2].appliedData(), "got %v applied on 3 after a heartbeat, want [x]", nodes[2].appliedData())
	})
	t.Run("a follower that missed only the commit index", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		seenEntries := false
		nw.filter = func(m pb.Message) bool {
			if m.Type != pb.MsgApp || m.To != 3 {
				return true
			}
			if len(m.Entries) > 0 && !seenEntries {
				seenEntries = true
				return true
			}
			return false
		}
		nw.propose(1, "x")
		require.Equal(t, nodes[0].raft.log.lastIndex(), nodes[2].raft.log.lastIndex(), "3 should have the entry")
		require.Empty(t, nodes[2].appliedData(), "3 should not know the entry is committed")
		nw.filter = nil
		nw.send(pb.Message{From: 1, To: 1, Type: pb.MsgBeat})
		assert.Equal(t, []string{"x"}, nodes[2].appliedData(), "got %v applied on 3 after a heartbeat, want [x]", nodes[2].appliedData())
	})
	t.Run("the heartbeat never carries more than the follower's match", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		nw.isolate(3)
		nw.propose(1, "x")
		r := nodes[0].raft
		require.NoError(t, r.Step(pb.Message{From: 1, To: 1, Type: pb.MsgBeat}))
		for _, m := range msgsOf(sentMessages(r), pb.MsgHeartbeat, 3) {
			assert.Equal(t, r.leading.repl.get(3).Match, m.Commit, "got commit %d, want the match %d", m.Commit, r.leading.repl.get(3).Match)
		}
	})
}

func TestSnapshotToLaggingFollower(t *testing.T) {
	nodes, nw := leaderWithFollowers(t, 3)
	nw.isolate(3)
	for _, d := range []string{"a", "b", "c"} {
		nw.propose(1, d)
	}
	leader := nodes[0]
	applied := leader.raft.log.applied()
	cs := confState(leader.raft.conf.config())
	_, err := leader.storage.CreateSnapshot(applied, &cs, []byte("state"))
	require.NoError(t, err)
	require.NoError(t, leader.storage.Compact(applied))
	nw.heal()
	nw.recordDelivered = true
	nw.send(pb.Message{From: 1, To: 1, Type: pb.MsgBeat})
	var snaps int
	for _, m := range nw.delivered {
		if m.Type == pb.MsgSnap && m.To == 3 {
			snaps++
		}
	}
	assert.Equal(t, 1, snaps, "got %d snapshots sent to 3, want 1", snaps)
	follower := nodes[2]
	snap, err := follower.storage.Snapshot()
	require.NoError(t, err)
	assert.Equal(t, applied, snap.Metadata.Index, "got snapshot index %d on 3, want %d", snap.Metadata.Index, applied)
	assert.Equal(t, "state", string(snap.Data), "got snapshot data %q, want state", snap.Data)
	pr := leader.raft.leading.repl.get(3)
	assert.Equal(t, tracker.StateReplicate, pr.State, "got %v, want replicate after the snapshot", pr.State)
	nw.propose(1, "d")
	assert.Equal(t, []string{"d"}, follower.appliedData(), "got %v applied on 3, want [d]", follower.appliedData())
	assert.Equal(t, leader.raft.log.committed(), follower.raft.log.committed(), "follower's commit: got %d, want the leader's %d", follower.raft.log.committed(), leader.raft.log.committed())
}

func TestSnapshotNotSentToInactivePeer(t *testing.T) {
	nodes, nw := leaderWithFollowers(t, 3)
	nw.isolate(3)
	nw.propose(1, "a")
	leader := nodes[0]
	applied := leader.raft.log.applied()
	_, err := leader.storage.CreateSnapshot(applied, nil, nil)
	require.NoError(t, err)
	require.NoError(t, leader.storage.Compact(applied))
	pr := leader.raft.leading.repl.peer(3)
	pr.active = false
	pr.becomeProbe()
	leader.raft.sendAppend(pr, true, leader.raft.log.lastIndex(), leader.raft.log.committed())
	assert.Empty(t, msgsOf(sentMessages(leader.raft), pb.MsgSnap, 3), "got a snapshot sent to an inactive peer")
}

func TestFollowerRestoreSnapshot(t *testing.T) {
	snap := pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 11, Term: 11, ConfState: pb.ConfState{Voters: []uint64{1, 2, 3}}}}
	t.Run("a newer snapshot replaces the log", func(t *testing.T) {
		r := termPeer(t)
		require.NoError(t, r.Step(pb.Message{From: 2, To: 1, Type: pb.MsgSnap, Term: 5, Snapshot: &snap}))
		assert.Equal(t, uint64(11), r.log.committed(), "got commit %d, want 11", r.log.committed())
		assert.Equal(t, uint64(11), r.log.lastIndex(), "got last index %d, want 11", r.log.lastIndex())
		msgs := sentMessages(r)
		require.Len(t, msgs, 1, "msgs: got %d, want 1", len(msgs))
		assert.Equal(t, uint64(11), msgs[0].Index, "got ack of %d, want 11", msgs[0].Index)
	})
	t.Run("a snapshot not newer than the commit index is ignored", func(t *testing.T) {
		r := termPeer(t)
		old := pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 1, Term: 5, ConfState: pb.ConfState{Voters: []uint64{1, 2, 3}}}}
		require.NoError(t, r.Step(pb.Message{From: 2, To: 1, Type: pb.MsgSnap, Term: 5, Snapshot: &old}))
		assert.False(t, r.log.hasPendingSnapshot(), "got the old snapshot pending")
		msgs := sentMessages(r)
		require.Len(t, msgs, 1, "msgs: got %d, want 1", len(msgs))
		assert.Equal(t, uint64(1), msgs[0].Index, "got ack of %d, want the commit index 1", msgs[0].Index)
	})
	t.Run("a snapshot of a configuration without us is ignored", func(t *testing.T) {
		r := termPeer(t)
		other := snap
		other.Metadata.ConfState = pb.ConfState{Voters: []uint64{2, 3}}
		require.NoError(t, r.Step(pb.Message{From: 2, To: 1, Type: pb.MsgSnap, Term: 5, Snapshot: &other}))
		assert.False(t, r.log.hasPendingSnapshot(), "got the snapshot pending")
	})
	t.Run("a snapshot whose last entry we have fast-forwards the commit index", func(t *testing.T) {
		s := storageWithLog(t, []uint64{1, 2, 3}, 5, 5, 5)
		r := newTestNode(t, 1, s).raft
		r.becomeFollower(5, 2)
		mid := pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 2, Term: 5, ConfState: pb.ConfState{Voters: []uint64{1, 2, 3}}}}
		require.NoError(t, r.Step(pb.Message{From: 2, To: 1, Type: pb.MsgSnap, Term: 5, Snapshot: &mid}))
		assert.Equal(t, uint64(2), r.log.committed(), "got commit %d, want 2", r.log.committed())
		assert.Equal(t, uint64(3), r.log.lastIndex(), "got last index %d, want the log kept up to 3", r.log.lastIndex())
		assert.False(t, r.log.hasPendingSnapshot(), "got the snapshot pending")
	})
	t.Run("a peer with a pending snapshot does not campaign", func(t *testing.T) {
		r := termPeer(t)
		require.NoError(t, r.Step(pb.Message{From: 2, To: 1, Type: pb.MsgSnap, Term: 5, Snapshot: &snap}))
		require.NoError(t, r.Step(pb.Message{Type: pb.MsgHup}))
		assert.Equal(t, StateFollower, r.state, "got %v, want follower", r.state)
	})
}

func TestUncommittedSizeLimit(t *testing.T) {
	payload := func(n int) []byte { return bytes.Repeat([]byte("x"), n) }
	nodes, _ := leaderWithFollowers(t, 3, withConfig(func(c *Config) { c.MaxUncommittedEntriesSize = 1000 }))
	leader := nodes[0]
	t.Run("proposals within the limit are admitted", func(t *testing.T) {
		require.NoError(t, leader.Propose(payload(600)))
		require.NoError(t, leader.Propose(payload(400)))
	})
	t.Run("a proposal over the limit is dropped", func(t *testing.T) {
		err := leader.Propose(payload(1))
		assert.ErrorIs(t, err, ErrProposalDropped, "got %v, want ErrProposalDropped", err)
	})
	t.Run("an empty proposal is always admitted", func(t *testing.T) {
		assert.NoError(t, leader.Propose(nil))
	})
	t.Run("applied entries free the budget", func(t *testing.T) {
		nw := newNetwork(nodes...)
		nw.flush()
		require.Equal(t, entryPayloadSize(0), leader.raft.leading.repl.uncommitted, "got %d uncommitted, want 0", leader.raft.leading.repl.uncommitted)
		assert.NoError(t, leader.Propose(payload(1000)))
	})
	t.Run("a proposal larger than the limit is admitted when nothing is pending", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 3, withConfig(func(c *Config) { c.MaxUncommittedEntriesSize = 1000 }))
		assert.NoError(t, nodes[0].Propose(payload(5000)))
		err := nodes[0].Propose(payload(1))
		assert.ErrorIs(t, err, ErrProposalDropped, "got %v, want ErrProposalDropped", err)
	})
}

func TestCommittedEntriesPagedPerReady(t *testing.T) {
	entry := pb.Entry{Index: 100, Term: 100, Data: bytes.Repeat([]byte("x"), 100)}
	size := uint64(entry.Size())
	n := newTestNode(t, 1, newConfStorage([]uint64{1}), withConfig(func(c *Config) { c.MaxCommittedSizePerReady = 3 * size }))
	nw := newNetwork(n)
	nw.campaign(1)
	for range 10 {
		require.NoError(t, n.Propose(entry.Data))
	}
	var pages []int
	for n.HasReady() {
		rd := n.Ready()
		n.persist(rd)
		if len(rd.CommittedEntries) > 0 {
			pages = append(pages, len(rd.CommittedEntries))
		}
		n.apply(rd.CommittedEntries)
		n.Advance(rd)
	}
	assert.Equal(t, 10, len(n.appliedData()), "got %d applied, want 10", len(n.appliedData()))
	for _, p := range pages {
		assert.LessOrEqual(t, p, 3, "got a page of %d entries, want at most 3", p)
	}
	assert.GreaterOrEqual(t, len(pages), 4, "got %d pages, want >= 4", len(pages))
}

func TestReportSnapshot(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   SnapshotStatus
		wantNext uint64
	}{
		// A delivered snapshot is assumed applied: probing resumes after it.
		{"finished", SnapshotFinish, 11},
		// A failed one is forgotten: probing resumes after what is matched.
		{"failed", SnapshotFailure, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes, _ := leaderWithFollowers(t, 2)
			leader := nodes[0]
			leader.raft.leading.repl.peer(2).becomeSnapshot(10)
			leader.ReportSnapshot(2, tc.status)
			pr := leader.raft.leading.repl.get(2)
			assert.Equal(t, tracker.StateProbe, pr.State, "got %v, want probe", pr.State)
			assert.Equal(t, tc.wantNext, pr.Next, "got next %d, want %d", pr.Next, tc.wantNext)
			assert.True(t, pr.MsgAppFlowPaused, "got probing unpaused before a response")
		})
	}
	t.Run("ignored outside snapshot state", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 2)
		before := *nodes[0].raft.leading.repl.get(2)
		nodes[0].ReportSnapshot(2, SnapshotFinish)
		pr := nodes[0].raft.leading.repl.get(2)
		assert.Equal(t, before.State, pr.State, "got %v, want unchanged", pr.State)
		assert.Equal(t, before.MsgAppFlowPaused, pr.MsgAppFlowPaused, "pr.MsgAppFlowPaused: got %v, want %v", pr.MsgAppFlowPaused, before.MsgAppFlowPaused)
	})
}

// unavailableSnapshotStorage fails Snapshot with
// ErrSnapshotTemporarilyUnavailable while unavailable is set.
type unavailableSnapshotStorage struct {
	*MemoryStorage
	unavailable bool
}

func (s *unavailableSnapshotStorage) Snapshot() (pb.Snapshot, error) {
	if s.unavailable {
		return pb.Snapshot{}, ErrSnapshotTemporarilyUnavailable
	}
	return s.MemoryStorage.Snapshot()
}

func TestSnapshotTemporarilyUnavailable(t *testing.T) {
	ms := storageWithLog(t, []uint64{1, 2}, 1, 1, 1, 1)
	require.NoError(t, ms.SetHardState(pb.HardState{Term: 1, Commit: 4}))
	_, err := ms.CreateSnapshot(3, &pb.ConfState{Voters: []uint64{1, 2}}, nil)
	require.NoError(t, err)
	require.NoError(t, ms.Compact(3))
	s := &unavailableSnapshotStorage{MemoryStorage: ms, unavailable: true}
	rn, err := NewRawNode(newTestConfig(1, s))
	require.NoError(t, err)
	r := rn.raft
	r.becomeCandidate()
	r.becomeLeader()
	pr := r.leading.repl.peer(2)
	pr.active = true
	pr.next = 2 // compacted away
	r.sendAppend(pr, true, r.log.lastIndex(), r.log.committed())
	assert.Empty(t, msgsOf(sentMessages(r), pb.MsgSnap, 2), "got a snapshot sent while unavailable")
	assert.Equal(t, flowProbe, pr.state, "got %v, want probe", pr.state)
	s.unavailable = false
	r.sendAppend(pr, true, r.log.lastIndex(), r.log.committed())
	snaps := msgsOf(sentMessages(r), pb.MsgSnap, 2)
	require.Len(t, snaps, 1, "got no snapshot once available")
	assert.Equal(t, uint64(3), snaps[0].Snapshot.Metadata.Index, "snaps[0].Snapshot.Metadata.Index: got %v, want 3", snaps[0].Snapshot.Metadata.Index)
	assert.Equal(t, flowSnapshot, pr.state, "got %v, want snapshot", pr.state)
}

// mapMatches reads the Match of a ProgressMap, as an independent
// quorum.AckedIndexer for TestCommitIndexAgreesWithQuorum.
type mapMatches tracker.ProgressMap

func (m mapMatches) AckedIndex(id uint64) (quorum.Index, bool) {
	pr, ok := m[id]
	if !ok {
		return 0, false
	}
	return quorum.Index(pr.Match), true
}

// TestCommitIndexAgreesWithQuorum checks replication.commitIndex, which
// reads a simple majority off the sorted peers, against package quorum's
// CommittedIndex over random configurations: simple majorities of every
// size up to past maxFastQuorum, with learners, and joint configurations.
func TestCommitIndexAgreesWithQuorum(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for _, tc := range []struct {
		name            string
		voters, joint   int
		learners, cases int
	}{
		{"one voter", 1, 0, 0, 50},
		{"three voters", 3, 0, 0, 200},
		{"four voters and learners", 4, 0, 2, 200},
		{"maxFastQuorum voters", maxFastQuorum, 0, 1, 200},
		{"more voters than maxFastQuorum", maxFastQuorum + 2, 0, 0, 100},
		{"joint", 3, 3, 1, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range tc.cases {
				var voters quorum.JointConfig
				voters[0] = quorum.MajorityConfig{}
				prs := tracker.ProgressMap{}
				id := uint64(0)
				member := func(cfg quorum.MajorityConfig) {
					id++
					if cfg != nil {
						cfg[id] = struct{}{}
					}
					prs[id] = &tracker.Progress{Match: rng.Uint64N(20), Inflights: tracker.NewInflights(1, 0)}
				}
				for range tc.voters {
					member(voters[0])
				}
				if tc.joint > 0 {
					voters[1] = quorum.MajorityConfig{}
					// Overlapping: the first voter is in both halves.
					voters[1][1] = struct{}{}
					for range tc.joint - 1 {
						member(voters[1])
					}
				}
				for range tc.learners {
					member(nil)
				}
				var rp replication
				m := membershipOf(tracker.Config{Voters: voters})
				compact := m.voters()
				rp.adopt(prs, compact)
				want := uint64(voters.CommittedIndex(mapMatches(prs)))
				// own is the same, member 1 being the leader, whose progress
				// is derived.
				own := replication{self: 1, selfIn: true, selfMatch: prs[1].Match}
				own.adopt(prs, compact)
				require.True(t, own.selfIn, "got the leader's progress no longer derived")
				require.Equal(t, want, rp.commitIndex(&m, 0), "got a different commit index than quorum's for %v with %v", voters, prs)
				require.Equal(t, want, own.commitIndex(&m, 0), "got a different commit index than quorum's for %v with %v, 1 leading", voters, prs)
				// Above a floor, the index is exact; at or below, it is
				// only known not to exceed the floor.
				floor := rng.Uint64N(20)
				for name, got := range map[string]uint64{"": rp.commitIndex(&m, floor), ", 1 leading": own.commitIndex(&m, floor)} {
					if want > floor {
						require.Equal(t, want, got, "got a different commit index than quorum's above floor %d for %v with %v%s", floor, voters, prs, name)
					} else {
						require.LessOrEqual(t, got, floor, "got commit index %d, want at most floor %d, for %v with %v%s", got, floor, voters, prs, name)
					}
				}
			}
		})
	}
}

// get returns a copy of the progress of member id as the API shows it, or
// nil if id is not a member. Changing it changes nothing in rp.
func (rp *replication) get(id uint64) *tracker.Progress {
	var got *tracker.Progress
	rp.forEach(func(p peerProgress) {
		if p.id == id {
			pr := p.progress(true, windowLimits{count: 256})
			got = &pr
		}
	})
	return got
}

// TestLeaderOwnProgressDerived checks that the leader keeps no progress of
// its own in replication.peers, yet shows it, counts it in the commit
// index and in CheckQuorum, and moves it with its own acknowledgements as
// it did when it kept one; and that a report about itself keeps it as a
// follower's from then on, with what that report does to it.
func TestLeaderOwnProgressDerived(t *testing.T) {
	ownWant := func(match uint64) tracker.Progress {
		return tracker.Progress{Match: match, Next: match + 1, State: tracker.StateReplicate, RecentActive: true}
	}
	t.Run("shown as a replicating, active member", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 3)
		leader := nodes[0]
		rp := &leader.raft.leading.repl
		require.True(t, rp.selfIn, "got selfIn unset in a leader that is a voter")
		assert.Len(t, rp.peers, 2, "got %d kept progresses, want the 2 followers'", len(rp.peers))
		assert.Nil(t, rp.peer(1), "got the leader's progress kept in peers")
		last := leader.raft.log.lastIndex()
		got := leader.Status().Progress[1]
		got.Inflights = nil
		assert.Equal(t, ownWant(last), got, "Status: got %+v, want %+v", got, ownWant(last))
		var ids []uint64
		leader.WithProgress(func(id uint64, typ ProgressType, pr tracker.Progress) {
			ids = append(ids, id)
			if id == 1 {
				assert.Equal(t, ownWant(last), pr, "WithProgress: got %+v, want %+v", pr, ownWant(last))
				assert.Equal(t, ProgressTypePeer, typ, "WithProgress type: got %v, want a voter", typ)
			}
		})
		assert.Equal(t, []uint64{1, 2, 3}, ids, "WithProgress order: got %v, want 1 2 3", ids)
	})
	t.Run("moved by the leader's own acknowledgement", func(t *testing.T) {
		r := newTestNode(t, 1, newConfStorage([]uint64{1, 2, 3})).raft
		r.becomeCandidate()
		r.becomeLeader()
		last := r.log.lastIndex()
		require.NoError(t, r.Step(pb.Message{From: 2, To: 1, Type: pb.MsgAppResp, Term: r.term, Index: last}))
		assert.Equal(t, uint64(0), r.log.committed(), "got commit %d before the leader's own acknowledgement, want 0", r.log.committed())
		require.NoError(t, r.Step(pb.Message{From: 1, To: 1, Type: pb.MsgAppResp, Term: r.term, Index: last}))
		assert.Equal(t, last, r.log.committed(), "got commit %d, want %d once the leader acknowledged", r.log.committed(), last)
		assert.Equal(t, last, r.leading.repl.selfMatch, "got selfMatch %d, want %d", r.leading.repl.selfMatch, last)
		// A stale acknowledgement moves nothing.
		require.NoError(t, r.Step(pb.Message{From: 1, To: 1, Type: pb.MsgAppResp, Term: r.term, Index: last - 1}))
		assert.Equal(t, last, r.leading.repl.selfMatch, "got selfMatch %d after a stale ack, want %d", r.leading.repl.selfMatch, last)
	})
	t.Run("counted active by CheckQuorum", func(t *testing.T) {
		r := newTestNode(t, 1, newConfStorage([]uint64{1, 2, 3}), withCheckQuorum()).raft
		r.becomeCandidate()
		r.becomeLeader()
		require.NoError(t, r.Step(pb.Message{From: 2, To: 1, Type: pb.MsgHeartbeatResp, Term: r.term}))
		require.NoError(t, r.Step(pb.Message{From: 1, To: 1, Type: pb.MsgCheckQuorum}))
		assert.Equal(t, StateLeader, r.state, "got %v with itself and 2 active, want StateLeader", r.state)
		require.NoError(t, r.Step(pb.Message{From: 1, To: 1, Type: pb.MsgCheckQuorum}))
		assert.Equal(t, StateFollower, r.state, "got %v with itself alone active, want StateFollower", r.state)
	})
	t.Run("a learner leader is shown as a learner", func(t *testing.T) {
		r := newTestNode(t, 1, newConfStorage([]uint64{1, 2, 3})).raft
		r.becomeCandidate()
		r.becomeLeader()
		// Demote the leader through a joint configuration.
		r.leading.repl.adopt(tracker.ProgressMap{
			1: &tracker.Progress{IsLearner: true}, 2: &tracker.Progress{Next: 1}, 3: &tracker.Progress{Next: 1},
		}, jointVoters{{2, 3}, {1, 2, 3}})
		pr := r.leading.repl.get(1)
		require.NotNil(t, pr, "got no progress for the leader")
		assert.True(t, pr.IsLearner, "got IsLearner unset for a leader made a learner")
		assert.True(t, r.leading.repl.selfIn, "got the leader's progress no longer derived after a change it stays a member through")
	})
	t.Run("a report about the leader keeps its progress in peers", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 3)
		leader := nodes[0]
		leader.ReportUnreachable(1)
		rp := &leader.raft.leading.repl
		assert.False(t, rp.selfIn, "got selfIn still set after a report about the leader")
		require.NotNil(t, rp.peer(1), "got no progress of the leader in peers")
		pr := rp.get(1)
		assert.Equal(t, tracker.StateProbe, pr.State, "got the leader's state %v after reporting it unreachable, want StateProbe", pr.State)
		// Its next own acknowledgement gets it replicating again.
		require.NoError(t, leader.Propose([]byte("x")))
		leader.process()
		last := leader.raft.log.lastIndex()
		pr = rp.get(1)
		assert.Equal(t, tracker.StateReplicate, pr.State, "got the leader's state %v after its ack, want StateReplicate", pr.State)
		assert.Equal(t, last, pr.Match, "got the leader's match %d, want %d", pr.Match, last)
		assert.Len(t, rp.peers, 3, "got %d kept progresses, want 3", len(rp.peers))
	})
}

// TestLeaderMarksItsTermCommitted checks replication.termCommitted, on
// which maybeCommit relies to commit without looking up the term of the
// entry a quorum holds (paper 5.4.2: a leader commits by counting replicas
// only entries of its own term).
func TestLeaderMarksItsTermCommitted(t *testing.T) {
	t.Run("not before the first commit of the term", func(t *testing.T) {
		nodes, _ := leaderWithoutFirstCommit(t)
		rp := &nodes[0].raft.leading.repl
		assert.False(t, rp.termCommitted, "got termCommitted %v before any commit, want false", rp.termCommitted)
	})
	t.Run("by the first commit, and later commits follow the quorum", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3)
		leader := nodes[0].raft
		require.True(t, leader.leading.repl.termCommitted, "got termCommitted false after the leader's first commit, want true")
		// Follower 3 is cut off: follower 2 and the leader are a quorum.
		nw.cut[[2]uint64{1, 3}] = true
		for _, data := range []string{"a", "b"} {
			nw.propose(1, data)
			nw.flush()
			want := leader.log.lastIndex()
			assert.Equal(t, want, leader.log.committed(), "got commit index %d after proposing %q, want %d", leader.log.committed(), data, want)
		}
	})
}

// TestAckBelowCommitLeavesNothingToCommit pins commitMayRise to maybeCommit:
// an ack whose quorum count commitMayRise skips must be one after which
// maybeCommit, asked in full, finds nothing to commit, before and after a
// configuration change (which unsettles the commit index).
func TestAckBelowCommitLeavesNothingToCommit(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for _, tc := range []struct {
		name   string
		change bool
	}{
		{"steady configuration", false},
		{"after the leader's removal", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			skipped := 0
			for round := range 20 {
				r := newTestNode(t, 1, storageWithLog(t, []uint64{1, 2, 3, 4}, 1, 1)).raft
				r.becomeCandidate()
				r.becomeLeader()
				for step := range 300 {
					if tc.change && step == 150 {
						// NB: the leader stays (StepDownOnRemoval is off) and
						// does not ask maybeCommit, so the next ack must: of
						// three voters left, two are a quorum, where three of
						// four were, so the commit index may rise.
						r.applyConfChange(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1}.AsV2())
						if got := r.leading.repl.commitSettled; got {
							t.Fatalf("round %d: commitSettled after the change: got %v, want false", round, got)
						}
					}
					switch rng.IntN(4) {
					case 0:
						// A removed leader takes no proposal.
						err := r.Step(pb.Message{From: 1, To: 1, Type: pb.MsgProp, Term: r.term,
							Entries: []pb.Entry{{Data: []byte("x")}}})
						if err != nil && !errors.Is(err, ErrProposalDropped) {
							t.Fatalf("round %d step %d: proposal: got %v, want nil or ErrProposalDropped", round, step, err)
						}
					default:
						from := 1 + rng.Uint64N(4)
						index := rng.Uint64N(r.log.lastIndex() + 1)
						// Only an ack that raises a match asks for a commit.
						pr := r.leading.repl.get(from)
						raises := pr != nil && pr.Match < index
						if raises && !r.commitMayRise(index) {
							skipped++
						}
						require.NoError(t, r.Step(pb.Message{From: from, To: 1, Type: pb.MsgAppResp, Term: r.term, Index: index}))
						if got := r.maybeCommit(); raises && got {
							t.Fatalf("round %d step %d: maybeCommit after an ack of %d from %x: got %v, want false (commit %d)",
								round, step, index, from, got, r.log.committed())
						}
					}
				}
			}
			if skipped == 0 {
				t.Fatalf("got no ack that commitMayRise answered, want some")
			}
		})
	}
}

// TestAckAfterLeaderRemovalCommits checks that a leader that stays after its
// removal, and so did not count the new quorum, counts it on the next ack
// that raises a match, however low that ack.
func TestAckAfterLeaderRemovalCommits(t *testing.T) {
	r := newTestNode(t, 1, storageWithLog(t, []uint64{1, 2, 3, 4}, 1)).raft
	r.becomeCandidate()
	r.becomeLeader()
	for range 3 {
		require.NoError(t, r.Step(pb.Message{From: 1, To: 1, Type: pb.MsgProp, Term: r.term,
			Entries: []pb.Entry{{Data: []byte("x")}}}))
	}
	require.Equal(t, uint64(5), r.log.lastIndex(), "last index")
	for _, m := range []pb.Message{
		{From: 1, Index: 2}, {From: 2, Index: 5}, {From: 3, Index: 5},
	} {
		m.To, m.Type, m.Term = 1, pb.MsgAppResp, r.term
		require.NoError(t, r.Step(m))
	}
	require.Equal(t, uint64(2), r.log.committed(), "commit with matches 2, 5, 5, 0")
	// Of the three voters left, 2 and 3 are a quorum at 5.
	r.applyConfChange(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1}.AsV2())
	require.NoError(t, r.Step(pb.Message{From: 4, To: 1, Type: pb.MsgAppResp, Term: r.term, Index: 1}))
	if got := r.log.committed(); got != 5 {
		t.Errorf("commit after an ack of 1 from 4: got %d, want 5", got)
	}
}

// TestLeaderIgnoresAcksPastItsLog checks that acknowledgements of entries
// the leader never had, from a quorum of followers, neither commit past the
// leader's last index nor take it down: a message from the network is input
// the leader must survive, whether or not it has committed an entry of its
// term yet (the commit takes a shorter way once it has).
func TestLeaderIgnoresAcksPastItsLog(t *testing.T) {
	for _, tc := range []struct {
		name string
		lead func(t *testing.T) *testNode
	}{
		{"own-term entry not committed", func(t *testing.T) *testNode {
			n := newTestCluster(t, 3)[0]
			n.raft.becomeCandidate()
			n.raft.becomeLeader()
			return n
		}},
		{"own-term entry committed", func(t *testing.T) *testNode {
			nodes, nw := leaderWithFollowers(t, 3)
			nw.propose(1, "x")
			return nodes[0]
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lead := tc.lead(t)
			last, commit := lead.raft.log.lastIndex(), lead.raft.log.committed()
			v := panicValue(func() {
				for _, from := range []uint64{2, 3} {
					_ = lead.Step(pb.Message{Type: pb.MsgAppResp, From: from, To: 1, Term: lead.raft.term, Index: last + 10})
				}
			})
			if v != nil {
				t.Fatalf("got panic %v, want the acks ignored", v)
			}
			if got := lead.raft.log.committed(); got != commit {
				t.Errorf("got commit index %d, want %d (last index %d)", got, commit, last)
			}
		})
	}
}
