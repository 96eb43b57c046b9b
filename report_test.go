package raft

import (
	"errors"
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 12, items 2, 3 and 5: the library reports what it would otherwise
// drop or die of quietly, for hosts that opt in; without the options it
// behaves as etcd-raft v3.6.

func withReportRefusedConfChanges() testOption {
	return func(c *Config) { c.ReportRefusedConfChanges = true }
}

func withReportDroppedReads() testOption {
	return func(c *Config) { c.ReportDroppedReads = true }
}

func withReportLostLog() testOption {
	return func(c *Config) { c.ReportLostLog = true }
}

// leaveJoint is a change every leader refuses while its configuration is
// not joint: leaving a joint configuration.
func leaveJoint(ctx string) pb.ConfChangeV2 {
	return pb.ConfChangeV2{Context: []byte(ctx)}
}

// notJoint is the reason the leader gives for refusing leaveJoint.
const notJoint = "this one is not joint"

func TestRefusedConfChangeReport(t *testing.T) {
	t.Run("by default a refused local change becomes an empty entry", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 3)
		leader := nodes[0]
		require.NoError(t, leader.ProposeConfChange(leaveJoint("")))
		last := leader.raft.log.lastIndex()
		ents, err := leader.raft.log.entries(last, noSizeLimit)
		require.NoError(t, err)
		assert.Equal(t, []pb.Entry{{Type: pb.EntryNormal, Term: leader.raft.term, Index: last}}, ents)
	})
	t.Run("reported, a refused local change is an error and appends nothing", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 3, withReportRefusedConfChanges())
		leader := nodes[0]
		last := leader.raft.log.lastIndex()
		err := leader.ProposeConfChange(leaveJoint(""))
		require.ErrorIs(t, err, ErrConfChangeRefused)
		assert.Contains(t, err.Error(), notJoint, "got %q, want the reason", err)
		assert.Equal(t, last, leader.raft.log.lastIndex(), "got something appended")
	})
	t.Run("reported, a refused forwarded change is committed as a record its proposer can decode", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3, withReportRefusedConfChanges())
		follower := nodes[1]
		cc := leaveJoint("req-7")
		require.NoError(t, follower.ProposeConfChange(cc))
		nw.send(follower.process()...)
		var found *ConfChangeRefusal
		for _, e := range follower.applied {
			refusal, err := RefusedConfChange(e)
			require.NoError(t, err)
			if refusal != nil {
				found = refusal
			}
		}
		require.NotNil(t, found, "got no refusal record among the follower's committed entries")
		assert.Equal(t, cc, found.ConfChange, "got the change %v, want the one proposed", found.ConfChange)
		assert.Contains(t, found.Reason, notJoint)
	})
	t.Run("other entries are not records", func(t *testing.T) {
		for _, e := range []pb.Entry{{}, {Data: []byte("x")}, {Type: pb.EntryConfChange, Data: []byte(refusalPrefix + "x")}} {
			refusal, err := RefusedConfChange(e)
			assert.NoError(t, err)
			assert.Nil(t, refusal)
		}
	})
	t.Run("a malformed record is an error, not a panic", func(t *testing.T) {
		for _, data := range []string{refusalPrefix + "\x01", refusalPrefix + "\x01\xff", refusalPrefix + "\x01\x05ab", refusalPrefix + "\x07\x00"} {
			refusal, err := RefusedConfChange(pb.Entry{Data: []byte(data)})
			assert.Error(t, err, "data %q", data)
			assert.Nil(t, refusal)
		}
	})
}

func TestDroppedReadReport(t *testing.T) {
	t.Run("by default a read without leader vanishes", func(t *testing.T) {
		n := newTestNode(t, 1, newConfStorage([]uint64{1, 2, 3}))
		n.ReadIndex([]byte("a"))
		rd := n.Ready()
		assert.Empty(t, rd.DroppedReads)
	})
	t.Run("reported: no leader", func(t *testing.T) {
		n := newTestNode(t, 1, newConfStorage([]uint64{1, 2, 3}), withReportDroppedReads())
		n.ReadIndex([]byte("a"))
		rd := n.Ready()
		require.Len(t, rd.DroppedReads, 1)
		assert.Equal(t, "a", string(rd.DroppedReads[0].RequestCtx))
		assert.ErrorIs(t, rd.DroppedReads[0].Reason, ErrReadNoLeader)
	})
	t.Run("reported: at a candidate", func(t *testing.T) {
		n := newTestNode(t, 1, newConfStorage([]uint64{1, 2, 3}), withReportDroppedReads())
		n.raft.becomeCandidate()
		n.ReadIndex([]byte("a"))
		rd := n.Ready()
		require.Len(t, rd.DroppedReads, 1)
		assert.ErrorIs(t, rd.DroppedReads[0].Reason, ErrReadNoLeader)
	})
	t.Run("reported: a leader steps down before confirming", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 3, withReportDroppedReads())
		leader := nodes[0]
		leader.ReadIndex([]byte("a"))
		leader.process() // the round goes out, and is lost
		leader.raft.becomeFollower(leader.raft.term+1, None)
		rd := leader.Ready()
		require.Len(t, rd.DroppedReads, 1)
		assert.Equal(t, "a", string(rd.DroppedReads[0].RequestCtx))
		assert.ErrorIs(t, rd.DroppedReads[0].Reason, ErrReadLeadershipEnded)
	})
	t.Run("reported: a follower's leader changes before answering", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3, withReportDroppedReads())
		follower := nodes[1]
		nw.readIndex(2, "a") // forwarded, and lost
		follower.raft.becomeFollower(follower.raft.term+1, 3)
		rd := follower.Ready()
		require.Len(t, rd.DroppedReads, 1)
		assert.ErrorIs(t, rd.DroppedReads[0].Reason, ErrReadLeadershipEnded)
	})
	t.Run("a retried context is not reported", func(t *testing.T) {
		nodes, nw := leaderWithFollowers(t, 3, withReportDroppedReads())
		leader := nodes[0]
		leader.ReadIndex([]byte("a"))
		leader.ReadIndex([]byte("a"))
		nw.send(leader.process()...)
		assert.Equal(t, []string{"a"}, readStateCtxs(leader.readStates))
		assert.Empty(t, leader.raft.out.droppedReads())
	})
}

// lostLogFollower returns follower 2 of a three-voter group whose leader 1
// believes 2 holds its log up to index 20, while 2's log ends at 10: its
// storage lost what it had acknowledged.
func lostLogFollower(t *testing.T, opts ...testOption) *testNode {
	s := newConfStorage([]uint64{1, 2, 3})
	var ents []pb.Entry
	for i := uint64(1); i <= 10; i++ {
		ents = append(ents, pb.Entry{Index: i, Term: 1})
	}
	require.NoError(t, s.Append(ents))
	require.NoError(t, s.SetHardState(pb.HardState{Term: 2, Commit: 5}))
	return newTestNode(t, 2, s, opts...)
}

func TestLostLogReport(t *testing.T) {
	heartbeat := pb.Message{From: 1, To: 2, Type: pb.MsgHeartbeat, Term: 2, Commit: 20}
	t.Run("by default the follower panics", func(t *testing.T) {
		n := lostLogFollower(t)
		assert.Panics(t, func() { _ = n.Step(heartbeat) })
	})
	t.Run("reported, it stops taking part and says why", func(t *testing.T) {
		n := lostLogFollower(t, withReportLostLog())
		require.NotPanics(t, func() { require.NoError(t, n.Step(heartbeat)) })
		rd := n.Ready()
		var lost *LostLogError
		require.True(t, errors.As(rd.Fault, &lost), "got fault %v, want a *LostLogError", rd.Fault)
		assert.Equal(t, LostLogError{ID: 2, Leader: 1, Commit: 20, Committed: 5, LastIndex: 10}, *lost)
		assert.Empty(t, rd.Messages, "got %v, want no acknowledgement", msgTypes(rd.Messages))
		n.Advance(rd)
		assert.Nil(t, n.Ready().Fault, "got the fault reported twice")

		require.NoError(t, n.Step(pb.Message{From: 3, To: 2, Type: pb.MsgVote, Term: 3, Index: 30, LogTerm: 2}))
		require.NoError(t, n.Step(pb.Message{From: 1, To: 2, Type: pb.MsgApp, Term: 2, Index: 10, LogTerm: 1, Commit: 5}))
		for range 100 {
			n.Tick()
		}
		assert.Empty(t, n.process(), "got a faulted peer voting, acknowledging or campaigning")
		assert.Equal(t, uint64(2), n.raft.term, "got the term moved by a peer that takes no part")
		assert.ErrorIs(t, n.Propose([]byte("x")), ErrProposalDropped)
	})
	t.Run("reported: an append replacing a committed entry", func(t *testing.T) {
		n := lostLogFollower(t, withReportLostLog())
		app := pb.Message{From: 1, To: 2, Type: pb.MsgApp, Term: 2, Index: 3, LogTerm: 1,
			Entries: []pb.Entry{{Index: 4, Term: 2}}, Commit: 4}
		require.NotPanics(t, func() { require.NoError(t, n.Step(app)) })
		var lost *LostLogError
		require.True(t, errors.As(n.Ready().Fault, &lost))
		assert.Equal(t, uint64(4), lost.Commit, "got %d, want the replaced committed index 4", lost.Commit)
	})
}

func TestDroppedReadRetriedBeforeTheReadyIsReportedOnce(t *testing.T) {
	// Found by the simulation's dropped-read oracle: two attempts with one
	// context, both without a leader, were both reported, though the retry
	// replaces the first.
	n := newTestNode(t, 1, newConfStorage([]uint64{1, 2, 3}), withReportDroppedReads())
	n.ReadIndex([]byte("a"))
	n.ReadIndex([]byte("a"))
	rd := n.Ready()
	assert.Len(t, rd.DroppedReads, 1, "got %d reports for one read, want 1", len(rd.DroppedReads))
}
