package raft

import (
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// storageWork splits the messages of a Ready into those for the append
// thread, those for the apply thread and the rest.
func storageWork(msgs []pb.Message) (appends, applies, others []pb.Message) {
	for _, m := range msgs {
		switch m.To {
		case LocalAppendThread:
			appends = append(appends, m)
		case LocalApplyThread:
			applies = append(applies, m)
		default:
			others = append(others, m)
		}
	}
	return appends, applies, others
}

func TestAsyncStorageWritesMessages(t *testing.T) {
	n := newTestNode(t, 1, newConfStorage([]uint64{1}), withAsyncWrites())
	require.NoError(t, n.Campaign())

	t.Run("the vote goes to the append thread with its acknowledgement", func(t *testing.T) {
		rd := n.Ready()
		appends, applies, others := storageWork(rd.Messages)
		require.Len(t, appends, 1, "appends: got %d, want 1", len(appends))
		assert.Empty(t, applies, "applies: got %v, want none", applies)
		assert.Empty(t, others, "others: got %v, want none", others)
		app := appends[0]
		assert.Equal(t, uint64(1), app.From, "app.From: got %v, want 1", app.From)
		assert.Equal(t, uint64(1), app.Term, "got term %d, want the HardState's 1", app.Term)
		assert.Equal(t, uint64(1), app.Vote, "got vote %d, want 1", app.Vote)
		// NB: with no entries or snapshot to persist, there is nothing for
		// the append thread to acknowledge to raft but the vote itself.
		require.Len(t, app.Responses, 1, "got responses %v", msgTypes(app.Responses))
		assert.Equal(t, pb.MsgVoteResp, app.Responses[0].Type, "got %v, want the self vote", app.Responses[0].Type)
		assert.Equal(t, StateCandidate, n.raft.state, "got %v before the vote is durable, want candidate", n.raft.state)
		n.deliverResponses(n.persistAppend(app))
		assert.Equal(t, StateLeader, n.raft.state, "got %v once the vote is durable, want leader", n.raft.state)
	})
	t.Run("entries are applied only once durable", func(t *testing.T) {
		rd := n.Ready()
		appends, applies, _ := storageWork(rd.Messages)
		require.Len(t, appends, 1, "appends: got %d, want 1", len(appends))
		assert.Empty(t, applies, "got entries to apply before they are durable")
		app := appends[0]
		require.Len(t, app.Entries, 1, "got %d entries, want the leader's empty entry", len(app.Entries))
		resp := app.Responses[len(app.Responses)-1]
		assert.Equal(t, pb.MsgStorageAppendResp, resp.Type, "resp.Type: got %v, want MsgStorageAppendResp", resp.Type)
		assert.Equal(t, app.Entries[0].Index, resp.Index, "got ack of index %d, want %d", resp.Index, app.Entries[0].Index)
		assert.Equal(t, app.Entries[0].Term, resp.LogTerm, "got ack of term %d, want %d", resp.LogTerm, app.Entries[0].Term)
		n.deliverResponses(n.persistAppend(app))

		rd = n.Ready()
		appends, applies, _ = storageWork(rd.Messages)
		require.Len(t, applies, 1, "got no MsgStorageApply once durable and committed")
		apply := applies[0]
		assert.Equal(t, rd.CommittedEntries, apply.Entries, "apply.Entries: got %v, want %v", apply.Entries, rd.CommittedEntries)
		require.Len(t, apply.Responses, 1, "apply.Responses: got %d, want 1", len(apply.Responses))
		assert.Equal(t, pb.MsgStorageApplyResp, apply.Responses[0].Type, "response type: got %v, want MsgStorageApplyResp", apply.Responses[0].Type)
		assert.Equal(t, LocalApplyThread, apply.Responses[0].From, "apply.Responses[0].From: got %v, want LocalApplyThread", apply.Responses[0].From)
		for _, a := range appends {
			n.deliverResponses(n.persistAppend(a))
		}
		n.deliverResponses(apply.Responses)
		assert.Equal(t, n.raft.log.committed(), n.BasicStatus().Applied, "got applied %d, want %d", n.BasicStatus().Applied, n.raft.log.committed())
	})
	t.Run("Advance is ignored", func(t *testing.T) {
		require.NoError(t, n.Propose([]byte("x")))
		before := n.raft.log.committed()
		rd := n.Ready()
		assert.NotPanics(t, func() { n.Advance(rd) }, "got a panic from Advance under AsyncStorageWrites, want it ignored")
		assert.Equal(t, before, n.raft.log.committed(), "got commit %d, want Advance not to acknowledge the write", n.raft.log.committed())
	})
}

func TestAsyncStorageWritesCluster(t *testing.T) {
	nodes := newTestCluster(t, 3, withAsyncWrites())
	nw := electLeader(t, nodes...)
	nw.propose(1, "a")
	nw.propose(2, "b")
	for _, n := range nodes {
		assert.Equal(t, []string{"a", "b"}, n.appliedData(), "peer %d: got %v", n.raft.id, n.appliedData())
	}
}

func TestAsyncStorageWritesLeaderCommitsWithoutItsOwnWrite(t *testing.T) {
	// The followers' acknowledgements commit the entry, but the leader hands
	// it out for application only once its own copy is durable.
	nodes := newTestCluster(t, 3, withAsyncWrites())
	nw := electLeader(t, nodes...)
	leader := nodes[0]
	// The leader is driven by hand from here on: its append thread is slow,
	// and processes its writes in order when told to.
	delete(nw.nodes, 1)
	var toLeader []pb.Message
	nw.filter = func(m pb.Message) bool {
		if m.To == 1 {
			toLeader = append(toLeader, m)
		}
		return true
	}
	var queued []pb.Message
	ready := func() (applies []pb.Message) {
		appends, applies, others := storageWork(leader.Ready().Messages)
		queued = append(queued, appends...)
		nw.send(others...)
		return applies
	}
	require.NoError(t, leader.Propose([]byte("x")))
	applies := ready()
	require.Empty(t, applies, "got %v to apply before the followers acknowledged, want nothing", msgTypes(applies))
	for _, m := range toLeader {
		require.NoError(t, leader.Step(m))
	}
	require.Equal(t, leader.raft.log.lastIndex(), leader.raft.log.committed(), "the followers should have committed the entry")
	assert.Empty(t, ready(), "got the entry applied before the leader's own write is durable")
	for _, m := range queued {
		leader.deliverResponses(leader.persistAppend(m))
	}
	applies = ready()
	require.Len(t, applies, 1, "got nothing applied once the write is durable")
	ents := applies[0].Entries
	assert.Equal(t, "x", string(ents[len(ents)-1].Data), "string(ents[len(ents)-1].Data): got %v, want x", string(ents[len(ents)-1].Data))
}

func TestAsyncStorageWritesStaleAcknowledgement(t *testing.T) {
	// A follower's log position is overwritten twice (A, then B, then A
	// again) while the writes are in flight. The acknowledgement of the first
	// write must not make raft believe storage holds A: storage will hold B
	// until the third write completes.
	n := newTestNode(t, 1, newConfStorage([]uint64{1, 2, 3}), withAsyncWrites())
	r := n.raft
	write := func() pb.Message {
		appends, _, _ := storageWork(n.Ready().Messages)
		require.Len(t, appends, 1, "appends: got %d, want 1", len(appends))
		return appends[0]
	}
	require.NoError(t, n.Step(pb.Message{From: 2, To: 1, Type: pb.MsgApp, Term: 1,
		Entries: []pb.Entry{{Index: 1, Term: 1}, {Index: 2, Term: 1}}}))
	w1 := write()
	require.NoError(t, n.Step(pb.Message{From: 3, To: 1, Type: pb.MsgApp, Term: 2, Index: 1, LogTerm: 1,
		Entries: []pb.Entry{{Index: 2, Term: 2}}}))
	w2 := write()
	require.NoError(t, n.Step(pb.Message{From: 2, To: 1, Type: pb.MsgApp, Term: 3, Index: 1, LogTerm: 1,
		Entries: []pb.Entry{{Index: 2, Term: 1}}}))
	w3 := write()

	termAt2 := func() uint64 {
		term, err := r.log.term(2)
		require.NoError(t, err)
		return term
	}
	n.deliverResponses(n.persistAppend(w1))
	assert.True(t, unstableEntriesPending(&r.log), "got entry 2 marked durable by the first write's acknowledgement")
	n.deliverResponses(n.persistAppend(w2))
	assert.Equal(t, uint64(1), termAt2(), "got term %d at index 2 while storage holds the second write, want 1", termAt2())
	n.deliverResponses(n.persistAppend(w3))
	assert.False(t, unstableEntriesPending(&r.log), "got entries still unstable after the last write")
	assert.Equal(t, uint64(1), termAt2(), "got term %d at index 2, want 1", termAt2())
}

func TestAsyncStorageWritesSnapshot(t *testing.T) {
	n := newTestNode(t, 1, newConfStorage([]uint64{1, 2, 3}), withAsyncWrites())
	snap := pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 10, Term: 2, ConfState: pb.ConfState{Voters: []uint64{1, 2, 3}}}}
	require.NoError(t, n.Step(pb.Message{From: 2, To: 1, Type: pb.MsgSnap, Term: 2, Snapshot: &snap}))
	appends, _, _ := storageWork(n.Ready().Messages)
	require.Len(t, appends, 1, "appends: got %d, want 1", len(appends))
	require.NotNil(t, appends[0].Snapshot, "got no snapshot to persist")
	resp := appends[0].Responses[len(appends[0].Responses)-1]
	require.Equal(t, pb.MsgStorageAppendResp, resp.Type, "resp.Type: got %v, want MsgStorageAppendResp", resp.Type)
	require.NotNil(t, resp.Snapshot, "got no snapshot in the acknowledgement")
	// A term change before the acknowledgement does not lose it.
	require.NoError(t, n.Step(pb.Message{From: 3, To: 1, Type: pb.MsgHeartbeat, Term: 3, Commit: 10}))
	n.deliverResponses(n.persistAppend(appends[0]))
	assert.False(t, n.raft.log.hasPendingSnapshot(), "got the snapshot still pending")
	assert.Equal(t, uint64(10), n.BasicStatus().Applied, "got applied %d, want the snapshot index 10", n.BasicStatus().Applied)
}
