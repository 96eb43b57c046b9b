package raft

import (
	"fmt"
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// termPeer returns peer 1 of {1, 2, 3} as a follower of 2 at term 5, with
// one entry of term 5.
func termPeer(t *testing.T, opts ...testOption) *raft {
	s := newConfStorage([]uint64{1, 2, 3})
	require.NoError(t, s.Append([]pb.Entry{{Index: 1, Term: 5}}))
	require.NoError(t, s.SetHardState(pb.HardState{Term: 5, Commit: 1}))
	r := newTestNode(t, 1, s, opts...).raft
	r.becomeFollower(5, 2)
	return r
}

// sentMessages drains what r queued to send.
func sentMessages(r *raft) []pb.Message {
	r.flushDeferred()
	msgs := append(r.out.msgs, afterAppendMsgs(r)...)
	r.out.msgs, r.out.afterAppend, r.out.ownAck = nil, nil, ownAck{}
	return msgs
}

func TestStepHigherTerm(t *testing.T) {
	for _, tc := range []struct {
		typ      pb.MessageType
		reject   bool
		wantTerm uint64
		wantLead uint64
	}{
		// Paper 5.1: a higher term makes the peer a follower of that term;
		// a message from the leader of that term also names the leader.
		{typ: pb.MsgApp, wantTerm: 7, wantLead: 3},
		{typ: pb.MsgHeartbeat, wantTerm: 7, wantLead: 3},
		{typ: pb.MsgSnap, wantTerm: 7, wantLead: 3},
		{typ: pb.MsgVote, wantTerm: 7, wantLead: None},
		{typ: pb.MsgAppResp, wantTerm: 7, wantLead: None},
		{typ: pb.MsgHeartbeatResp, wantTerm: 7, wantLead: None},
		{typ: pb.MsgVoteResp, wantTerm: 7, wantLead: None},
		{typ: pb.MsgPreVoteResp, reject: true, wantTerm: 7, wantLead: None},
		// Thesis 9.6: pre-votes never change terms, and a granted pre-vote
		// only tells the pre-candidate it may campaign.
		{typ: pb.MsgPreVote, wantTerm: 5, wantLead: 2},
		{typ: pb.MsgPreVoteResp, wantTerm: 5, wantLead: 2},
	} {
		name := tc.typ.String()
		if tc.reject {
			name += " rejected"
		}
		t.Run(name, func(t *testing.T) {
			r := termPeer(t)
			m := pb.Message{From: 3, To: 1, Type: tc.typ, Term: 7, Reject: tc.reject, LogTerm: 5, Index: 1}
			if tc.typ == pb.MsgSnap {
				m.Snapshot = &pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 1, Term: 5}}
			}
			_ = r.Step(m)
			assert.Equal(t, tc.wantTerm, r.term, "got term %d, want %d", r.term, tc.wantTerm)
			assert.Equal(t, tc.wantLead, r.lead, "got lead %d, want %d", r.lead, tc.wantLead)
			assert.Equal(t, StateFollower, r.state, "got %v, want follower", r.state)
		})
	}
	t.Run("a leader steps down", func(t *testing.T) {
		nodes := newTestCluster(t, 3)
		electLeader(t, nodes...)
		r := nodes[0].raft
		require.NoError(t, r.Step(pb.Message{From: 2, To: 1, Type: pb.MsgAppResp, Term: 9}))
		assert.Equal(t, StateFollower, r.state, "got %v, want follower", r.state)
		assert.Equal(t, uint64(9), r.term, "got term %d, want 9", r.term)
	})
}

func TestStepLowerTerm(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     []testOption
		typ      pb.MessageType
		wantResp pb.MessageType // 0: no response
	}{
		{"MsgApp, plain", nil, pb.MsgApp, 0},
		{"MsgHeartbeat, plain", nil, pb.MsgHeartbeat, 0},
		{"MsgApp with CheckQuorum tells the stale leader", []testOption{withCheckQuorum()}, pb.MsgApp, pb.MsgAppResp},
		{"MsgHeartbeat with CheckQuorum", []testOption{withCheckQuorum()}, pb.MsgHeartbeat, pb.MsgAppResp},
		{"MsgApp with PreVote", []testOption{withPreVote()}, pb.MsgApp, pb.MsgAppResp},
		{"MsgHeartbeat with PreVote", []testOption{withPreVote()}, pb.MsgHeartbeat, pb.MsgAppResp},
		{"MsgPreVote is rejected", nil, pb.MsgPreVote, pb.MsgPreVoteResp},
		{"MsgVote is ignored", []testOption{withCheckQuorum()}, pb.MsgVote, 0},
		{"MsgSnap is ignored", []testOption{withCheckQuorum()}, pb.MsgSnap, 0},
		{"MsgAppResp is ignored", []testOption{withCheckQuorum()}, pb.MsgAppResp, 0},
		{"MsgVoteResp is ignored", []testOption{withCheckQuorum()}, pb.MsgVoteResp, 0},
		{"MsgTimeoutNow is ignored", []testOption{withCheckQuorum()}, pb.MsgTimeoutNow, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := termPeer(t, tc.opts...)
			_ = r.Step(pb.Message{From: 3, To: 1, Type: tc.typ, Term: 4})
			msgs := sentMessages(r)
			assert.Equal(t, uint64(5), r.term, "got term %d, want 5", r.term)
			assert.Equal(t, uint64(2), r.lead, "got lead %d, want 2", r.lead)
			if tc.wantResp == 0 {
				assert.Empty(t, msgs, "got %v, want no response", msgs)
				return
			}
			require.Len(t, msgs, 1, "msgs: got %d, want 1", len(msgs))
			assert.Equal(t, tc.wantResp, msgs[0].Type, "got %v, want %v", msgs[0].Type, tc.wantResp)
			assert.Equal(t, uint64(5), msgs[0].Term, "got term %d, want our 5", msgs[0].Term)
			assert.Equal(t, uint64(3), msgs[0].To, "got to %d, want 3", msgs[0].To)
		})
	}
}

func TestStepLowerTermAtAPeerThatCannotCampaign(t *testing.T) {
	// Found by the simulation (seed 584): without CheckQuorum or PreVote, a
	// learner (in its own view) whose term a removed peer had pushed up
	// ignored the lower-term leader, and neither could ever reach the
	// other: it cannot campaign to spread its term. The same for a stale
	// candidate (seed 15750, with CheckQuorum): each of its campaigns stayed
	// too low for the learner, whose vote it needed.
	s := newConfStorage([]uint64{2, 3}, 1)
	require.NoError(t, s.Append([]pb.Entry{{Index: 1, Term: 5}}))
	require.NoError(t, s.SetHardState(pb.HardState{Term: 5, Commit: 1}))
	r := newTestNode(t, 1, s).raft
	require.False(t, r.promotable(), "got a peer that can campaign, want one that cannot")
	for _, tc := range []struct {
		typ, want pb.MessageType
		reject    bool
	}{
		{pb.MsgApp, pb.MsgAppResp, false},
		{pb.MsgHeartbeat, pb.MsgAppResp, false},
		{pb.MsgVote, pb.MsgVoteResp, true},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			require.NoError(t, r.Step(pb.Message{From: 3, To: 1, Type: tc.typ, Term: 4, LogTerm: 5, Index: 1}))
			msgs := sentMessages(r)
			require.Len(t, msgs, 1, "got %v, want the stale sender told of term 5", msgs)
			assert.Equal(t, tc.want, msgs[0].Type, "msgs[0].Type: got %v, want %v", msgs[0].Type, tc.want)
			assert.Equal(t, uint64(5), msgs[0].Term, "got term %d, want our 5", msgs[0].Term)
			assert.Equal(t, tc.reject, msgs[0].Reject, "got Reject %v, want %v", msgs[0].Reject, tc.reject)
			assert.Equal(t, uint64(5), r.term, "got term %d, want 5 kept", r.term)
			assert.Equal(t, None, r.vote, "got vote %x, want none", r.vote)
		})
	}
}

func TestStaleLeaderLearnsNewTermUnderCheckQuorum(t *testing.T) {
	// Paper 5.1 with CheckQuorum: the followers of a new leader ignore the
	// old leader's votes, so the old leader learns of the new term through
	// the response to its own appends.
	nodes := newTestCluster(t, 3, withCheckQuorum())
	nw := electLeader(t, nodes...)
	nw.isolate(1)
	// Only 2 and 3 see time pass: 1 still believes it leads term 1.
	for range 30 {
		for _, n := range nodes[1:] {
			n.Tick()
		}
		nw.flush()
	}
	newLeader := nodes[1].raft.state == StateLeader || nodes[2].raft.state == StateLeader
	require.True(t, newLeader, "no new leader elected among 2 and 3")
	require.Equal(t, StateLeader, nodes[0].raft.state, "nodes[0].raft.state: got %v, want StateLeader", nodes[0].raft.state)
	nw.heal()
	nw.send(pb.Message{From: 1, To: 1, Type: pb.MsgBeat})
	assert.Equal(t, StateFollower, nodes[0].raft.state, "got %v for the old leader, want follower", nodes[0].raft.state)
	assert.Equal(t, nodes[1].raft.term, nodes[0].raft.term, "got term %d, want %d", nodes[0].raft.term, nodes[1].raft.term)
}

func TestStepAcceptsLocalMessagesWithoutTerm(t *testing.T) {
	r := termPeer(t)
	require.NoError(t, r.Step(pb.Message{Type: pb.MsgHup}))
	assert.Equal(t, StateCandidate, r.state, "got %v after MsgHup, want candidate", r.state)
	assert.Equal(t, uint64(6), r.term, "got term %d, want 6", r.term)
}

func TestProposalsWithoutLeader(t *testing.T) {
	t.Run("a follower without leader drops proposals", func(t *testing.T) {
		n := newTestNode(t, 1, newConfStorage([]uint64{1, 2, 3}))
		err := n.Propose([]byte("x"))
		assert.ErrorIs(t, err, ErrProposalDropped, "got %v, want ErrProposalDropped", err)
	})
	t.Run("a candidate drops proposals", func(t *testing.T) {
		n := newTestNode(t, 1, newConfStorage([]uint64{1, 2, 3}))
		require.NoError(t, n.Campaign())
		err := n.Propose([]byte("x"))
		assert.ErrorIs(t, err, ErrProposalDropped, "got %v, want ErrProposalDropped", err)
	})
	t.Run("a follower forwards proposals to its leader", func(t *testing.T) {
		nodes := newTestCluster(t, 3)
		nw := electLeader(t, nodes...)
		nw.propose(2, "fwd")
		for _, n := range nodes {
			assert.Equal(t, []string{"fwd"}, n.appliedData(), "peer %d: got %v, want [fwd]", n.raft.id, n.appliedData())
		}
	})
	t.Run("forwarding can be disabled", func(t *testing.T) {
		nodes := newTestCluster(t, 3, withConfig(func(c *Config) { c.DisableProposalForwarding = true }))
		electLeader(t, nodes...)
		err := nodes[1].Propose([]byte("x"))
		assert.ErrorIs(t, err, ErrProposalDropped, "got %v, want ErrProposalDropped", err)
		assert.Empty(t, sentMessages(nodes[1].raft), "got messages sent by the follower")
	})
	t.Run("the forwarded entries do not alias the proposer's buffer", func(t *testing.T) {
		nodes := newTestCluster(t, 3)
		electLeader(t, nodes...)
		require.NoError(t, nodes[1].Propose([]byte("first")))
		msgs := nodes[1].process()
		require.Len(t, msgs, 1, "msgs: got %d, want 1", len(msgs))
		require.NoError(t, nodes[1].Propose([]byte("second")))
		assert.Equal(t, "first", string(msgs[0].Entries[0].Data), "got %q, want the first proposal", msgs[0].Entries[0].Data)
	})
}

// BenchmarkSend measures queueing one message to a peer, which every
// message a peer sends goes through; it must not allocate beyond the growth
// of the outgoing queue, which the benchmark reuses. NB: IDs and terms are
// large, as in production: boxing a value below 256 into an interface never
// allocates, so small ones would hide an allocation.
func BenchmarkSend(b *testing.B) {
	const self, peer, term = 1 << 40, 1<<40 + 1, 1 << 20
	for _, typ := range []pb.MessageType{pb.MsgHeartbeat, pb.MsgVoteResp} {
		b.Run(typ.String(), func(b *testing.B) {
			n := newTestNode(b, self, newConfStorage([]uint64{self, peer}))
			r := n.raft
			r.becomeFollower(term, peer)
			m := pb.Message{To: peer, Type: typ}
			if typ == pb.MsgVoteResp {
				m.Term = term
			}
			b.ReportAllocs()
			for b.Loop() {
				r.send(&m)
				r.out.msgs = r.out.msgs[:0]
				r.out.afterAppend = r.out.afterAppend[:0]
				r.out.ownAck = ownAck{}
			}
		})
	}
}

func TestTermlessLeaderMessageAtCandidate(t *testing.T) {
	// A message without a term counts as one of the current term. Found by
	// FuzzStep once terms were checked never to decrease: a candidate that
	// returned to follower took the message's term 0 as its own.
	for _, typ := range []pb.MessageType{pb.MsgApp, pb.MsgHeartbeat, pb.MsgSnap} {
		t.Run(typ.String(), func(t *testing.T) {
			n := newTestNode(t, 1, newConfStorage([]uint64{1, 2, 3}))
			n.raft.becomeCandidate()
			term := n.raft.term
			require.NoError(t, n.raft.Step(pb.Message{From: 2, To: 1, Type: typ}))
			assert.Equal(t, StateFollower, n.raft.state, "got %v, want follower", n.raft.state)
			assert.Equal(t, term, n.raft.term, "got term %d, want %d", n.raft.term, term)
			assert.Equal(t, uint64(2), n.raft.lead, "got leader %x, want 2", n.raft.lead)
		})
	}
}

// TestStepShortWayMatchesFullChecks checks that the messages step hands
// straight to the role (passesChecks) are treated exactly as the full checks
// of stepChecked would treat them: for every message type, term relation,
// sender and role, two identical peers, one stepped each way, return the
// same error, send the same messages and end in the same state.
func TestStepShortWayMatchesFullChecks(t *testing.T) {
	roles := []struct {
		name string
		make func(r *raft)
	}{
		{"follower", func(r *raft) {}},
		{"candidate", func(r *raft) { r.becomeCandidate() }},
		{"pre-candidate", func(r *raft) { r.becomePreCandidate() }},
		{"leader", func(r *raft) { r.becomeCandidate(); r.becomeLeader() }},
	}
	for _, role := range roles {
		for typ := range pb.MessageType(len(pb.MessageType_name)) {
			for _, rel := range []string{"none", "lower", "ours", "higher"} {
				for _, from := range []uint64{1, 2, 3} {
					name := fmt.Sprintf("%s/%s/term=%s/from=%d", role.name, typ, rel, from)
					t.Run(name, func(t *testing.T) {
						short, full := termPeer(t), termPeer(t)
						role.make(short)
						role.make(full)
						sentMessages(short)
						sentMessages(full)
						m := stepProbe(typ, rel, from, short.term)
						gotShort := stepOutcome(short, m, short.step)
						gotFull := stepOutcome(full, m, full.stepChecked)
						assert.Equal(t, gotFull, gotShort, "got %v stepping the short way, want %v as with the full checks", gotShort, gotFull)
					})
				}
			}
		}
	}
}

// stepProbe returns a message of type typ from peer from whose term relates
// to term as rel says (none: 0), carrying what an append needs to be taken.
func stepProbe(typ pb.MessageType, rel string, from, term uint64) pb.Message {
	m := pb.Message{Type: typ, From: from, To: 1, LogTerm: 5, Index: 1, Commit: 1}
	switch rel {
	case "lower":
		m.Term = term - 1
	case "ours":
		m.Term = term
	case "higher":
		m.Term = term + 1
	}
	switch typ {
	case pb.MsgApp:
		m.Entries = []pb.Entry{{Index: 2, Term: max(m.Term, 5), Data: []byte("x")}}
	case pb.MsgProp:
		m.Entries = []pb.Entry{{Data: []byte("x")}}
	case pb.MsgSnap:
		m.Snapshot = &pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 1, Term: 5}}
	}
	return m
}

// stepped is what a peer returned, sent and became when it stepped a
// message.
type stepped struct {
	err      error
	panicked any
	sent     []pb.Message
	soft     SoftState
	hard     pb.HardState
	last     entryID
}

// stepOutcome steps m into r through step and returns what came of it.
func stepOutcome(r *raft, m pb.Message, step func(*pb.Message) error) (got stepped) {
	func() {
		defer func() { got.panicked = recover() }()
		got.err = step(&m)
	}()
	if got.panicked == nil {
		got.sent = sentMessages(r)
	}
	got.soft, got.hard, got.last = r.softState(), r.hardState(), r.log.lastEntryID()
	return got
}
