package raft

import (
	"encoding/json"
	"testing"
	"unsafe"

	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/tracker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRawNodeStep(t *testing.T) {
	t.Run("local message types are refused from the network", func(t *testing.T) {
		n := newTestNode(t, 1, newConfStorage([]uint64{1, 2}))
		for _, typ := range []pb.MessageType{pb.MsgHup, pb.MsgBeat, pb.MsgUnreachable, pb.MsgSnapStatus,
			pb.MsgCheckQuorum, pb.MsgStorageAppend, pb.MsgStorageAppendResp, pb.MsgStorageApply, pb.MsgStorageApplyResp} {
			err := n.Step(pb.Message{From: 2, Type: typ})
			assert.ErrorIs(t, err, ErrStepLocalMsg, "%v: got %v, want ErrStepLocalMsg", typ, err)
		}
		assert.Equal(t, StateFollower, n.raft.state, "got %v, want the refused MsgHup to have no effect", n.raft.state)
	})
	t.Run("storage acknowledgements from the local threads are accepted", func(t *testing.T) {
		n := newTestNode(t, 1, newConfStorage([]uint64{1, 2}))
		assert.NoError(t, n.Step(pb.Message{From: LocalAppendThread, To: 1, Type: pb.MsgStorageAppendResp}))
		assert.NoError(t, n.Step(pb.Message{From: LocalApplyThread, To: 1, Type: pb.MsgStorageApplyResp}))
	})
	t.Run("responses from unknown peers are refused", func(t *testing.T) {
		n := newTestNode(t, 1, newConfStorage([]uint64{1, 2}))
		for _, typ := range []pb.MessageType{pb.MsgAppResp, pb.MsgVoteResp, pb.MsgPreVoteResp, pb.MsgHeartbeatResp, pb.MsgReadIndexResp} {
			err := n.Step(pb.Message{From: 9, To: 1, Type: typ, Term: 1})
			assert.ErrorIs(t, err, ErrStepPeerNotFound, "%v: got %v, want ErrStepPeerNotFound", typ, err)
		}
		assert.Equal(t, uint64(0), n.raft.term, "got term %d, want the refused messages to have no effect", n.raft.term)
	})
	t.Run("requests from unknown peers are accepted", func(t *testing.T) {
		n := newTestNode(t, 1, newConfStorage([]uint64{1, 2}))
		assert.NoError(t, n.Step(pb.Message{From: 9, To: 1, Type: pb.MsgApp, Term: 1}))
		assert.Equal(t, uint64(9), n.raft.lead, "got lead %d, want 9", n.raft.lead)
	})
}

func TestRawNodeReadyContract(t *testing.T) {
	t.Run("nothing to do on a fresh peer", func(t *testing.T) {
		n := newTestNode(t, 1, newConfStorage([]uint64{1, 2}))
		assert.False(t, n.HasReady(), "got HasReady on a fresh peer")
	})
	t.Run("HardState and SoftState only when changed", func(t *testing.T) {
		n := newTestNode(t, 1, newConfStorage([]uint64{1, 2}))
		require.NoError(t, n.Campaign())
		rd := n.Ready()
		require.NotNil(t, rd.SoftState, "got no SoftState after becoming candidate")
		assert.Equal(t, SoftState{Lead: None, RaftState: StateCandidate}, *rd.SoftState, "SoftState: got %+v, want a candidate without leader", *rd.SoftState)
		assert.Equal(t, pb.HardState{Term: 1, Vote: 1}, rd.HardState, "got %v", rd.HardState)
		assert.True(t, rd.MustSync, "got MustSync false for a new term and vote")
		n.persist(rd)
		n.Advance(rd)
		require.NoError(t, n.Step(pb.Message{From: 2, To: 1, Type: pb.MsgHeartbeatResp, Term: 1}))
		require.NoError(t, n.raft.Step(pb.Message{From: 2, To: 1, Type: pb.MsgApp, Term: 1}))
		rd = n.Ready()
		require.NotNil(t, rd.SoftState, "got no SoftState, want the change of leader")
		assert.Equal(t, SoftState{Lead: 2, RaftState: StateFollower}, *rd.SoftState, "SoftState: got %+v, want a follower of 2", *rd.SoftState)
		assert.True(t, IsEmptyHardState(rd.HardState), "got HardState %v though unchanged", rd.HardState)
		n.Advance(rd)
		require.NoError(t, n.raft.Step(pb.Message{From: 2, To: 1, Type: pb.MsgApp, Term: 1}))
		rd = n.Ready()
		assert.Nil(t, rd.SoftState, "got SoftState %v though unchanged", rd.SoftState)
		n.Advance(rd)
	})
	t.Run("MustSync only for entries, term or vote", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 2)
		f := nodes[1]
		last := f.raft.log.lastEntryID()
		require.NoError(t, f.Step(pb.Message{From: 1, To: 2, Type: pb.MsgApp, Term: 1, Index: last.index, LogTerm: last.term,
			Entries: []pb.Entry{{Index: last.index + 1, Term: 1}}}))
		rd := f.Ready()
		assert.True(t, rd.MustSync, "got MustSync false with entries to persist")
		f.persist(rd)
		f.Advance(rd)
		require.NoError(t, f.Step(pb.Message{From: 1, To: 2, Type: pb.MsgHeartbeat, Term: 1, Commit: last.index + 1}))
		rd = f.Ready()
		require.False(t, IsEmptyHardState(rd.HardState), "got no HardState for a commit change")
		assert.False(t, rd.MustSync, "got MustSync true for a commit change only")
		f.Advance(rd)
	})
	t.Run("acknowledgements come with what they acknowledge", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 2)
		f := nodes[1]
		last := f.raft.log.lastEntryID()
		require.NoError(t, f.Step(pb.Message{From: 1, To: 2, Type: pb.MsgApp, Term: 1, Index: last.index, LogTerm: last.term,
			Entries: []pb.Entry{{Index: last.index + 1, Term: 1, Data: []byte("x")}}}))
		rd := f.Ready()
		require.Len(t, rd.Entries, 1, "got %d entries, want the appended one", len(rd.Entries))
		require.Len(t, rd.Messages, 1, "rd.Messages: got %d, want 1", len(rd.Messages))
		assert.Equal(t, pb.MsgAppResp, rd.Messages[0].Type, "rd.Messages[0].Type: got %v, want MsgAppResp", rd.Messages[0].Type)
		assert.Equal(t, last.index+1, rd.Messages[0].Index, "got ack of %d, want %d", rd.Messages[0].Index, last.index+1)
		f.Advance(rd)
	})
	t.Run("the leader's self acknowledgement waits for Advance", func(t *testing.T) {
		n := newTestNode(t, 1, newConfStorage([]uint64{1}))
		nw := newNetwork(n)
		nw.campaign(1)
		require.NoError(t, n.Propose([]byte("x")))
		rd := n.Ready()
		require.Len(t, rd.Entries, 1, "rd.Entries: got %d, want 1", len(rd.Entries))
		assert.Empty(t, rd.CommittedEntries, "got the entry committed before it is durable")
		assert.Empty(t, rd.Messages, "got the self acknowledgement sent on the network")
		n.persist(rd)
		n.Advance(rd)
		rd = n.Ready()
		require.Len(t, rd.CommittedEntries, 1, "got no commit after Advance")
		assert.Equal(t, "x", string(rd.CommittedEntries[0].Data), "committed data: got %q, want x", string(rd.CommittedEntries[0].Data))
		n.Advance(rd)
	})
	t.Run("ReadStates are handed out once", func(t *testing.T) {
		n := newTestNode(t, 1, newConfStorage([]uint64{1}))
		nw := newNetwork(n)
		nw.campaign(1)
		n.ReadIndex([]byte("r"))
		require.True(t, n.HasReady(), "got no Ready after ReadIndex, want one")
		rd := n.Ready()
		want := []ReadState{{Index: n.raft.log.committed(), RequestCtx: []byte("r")}}
		assert.Equal(t, want, rd.ReadStates, "got %v, want %v", rd.ReadStates, want)
		n.Advance(rd)
		assert.False(t, n.HasReady(), "got more to do after the read was handed out")
	})
	t.Run("two Readies before one Advance", func(t *testing.T) {
		n := newTestNode(t, 1, newConfStorage([]uint64{1}))
		nw := newNetwork(n)
		nw.campaign(1)
		require.NoError(t, n.Propose([]byte("a")))
		rd1 := n.Ready()
		n.persist(rd1)
		require.NoError(t, n.Propose([]byte("b")))
		rd2 := n.Ready()
		n.persist(rd2)
		n.Advance(rd2)
		n.process()
		assert.Equal(t, []string{"a", "b"}, n.appliedData(), "got %v, want both applied", n.appliedData())
	})
}

func TestRawNodeTickQuiesced(t *testing.T) {
	n := newTestNode(t, 1, newConfStorage([]uint64{1, 2}))
	for range 100 {
		n.TickQuiesced()
	}
	assert.Equal(t, StateFollower, n.raft.state, "got %v, want no campaign while quiesced", n.raft.state)
	n.Tick()
	assert.Equal(t, StateCandidate, n.raft.state, "got %v on the first tick, want candidate", n.raft.state)
}

// TestRawNodeTickQuiescedLeaderSendsNothingAndKeepsLeading checks the
// leader's side of TickQuiesced (TestRawNodeTickQuiesced covers a
// follower): a quiesced leader's clock moves, but it sends no heartbeats
// and, even with CheckQuorum, does not step down for lack of responses it
// never asked for.
func TestRawNodeTickQuiescedLeaderSendsNothingAndKeepsLeading(t *testing.T) {
	nodes, _ := leaderWithFollowers(t, 3, withCheckQuorum())
	leader := nodes[0]
	require.False(t, leader.HasReady(), "the leader should have nothing pending")
	for range 10 * leader.raft.cfg.electionTimeout {
		leader.TickQuiesced()
	}
	t.Run("no heartbeats", func(t *testing.T) {
		msgs := leader.process()
		assert.Empty(t, msgs, "got %v, want no messages", msgTypes(msgs))
	})
	t.Run("no CheckQuorum step-down", func(t *testing.T) {
		assert.Equal(t, StateLeader, leader.raft.state, "got %v, want leader", leader.raft.state)
	})
	t.Run("the next tick resumes heartbeats", func(t *testing.T) {
		leader.Tick()
		got := msgTypes(leader.process())
		assert.Contains(t, got, pb.MsgHeartbeat, "got %v, want heartbeats", got)
	})
}

func TestRawNodeBootstrap(t *testing.T) {
	t.Run("refuses no peers", func(t *testing.T) {
		rn, err := NewRawNode(newTestConfig(1, NewMemoryStorage()))
		require.NoError(t, err)
		assert.Error(t, rn.Bootstrap(nil), "got no error without peers")
	})
	t.Run("refuses a nonempty storage", func(t *testing.T) {
		rn, err := NewRawNode(newTestConfig(1, storageWithLog(t, []uint64{1}, 1)))
		require.NoError(t, err)
		assert.Error(t, rn.Bootstrap([]Peer{{ID: 1}}), "got no error for a storage with entries")
	})
	t.Run("hands out the configuration entries and can campaign at once", func(t *testing.T) {
		s := NewMemoryStorage()
		rn, err := NewRawNode(newTestConfig(1, s))
		require.NoError(t, err)
		require.NoError(t, rn.Bootstrap([]Peer{{ID: 1}, {ID: 2, Context: []byte("ctx")}}))
		n := &testNode{RawNode: rn, storage: s}
		rd := n.Ready()
		assert.Equal(t, pb.HardState{Term: 1, Commit: 2}, rd.HardState, "got %v", rd.HardState)
		require.Len(t, rd.Entries, 2, "rd.Entries: got %d, want 2", len(rd.Entries))
		require.Len(t, rd.CommittedEntries, 2, "rd.CommittedEntries: got %d, want 2", len(rd.CommittedEntries))
		var cc pb.ConfChange
		require.NoError(t, cc.Unmarshal(rd.Entries[1].Data))
		want := pb.ConfChange{Type: pb.ConfChangeAddNode, NodeID: 2, Context: []byte("ctx")}
		assert.Equal(t, want, cc, "got %v, want %v", cc, want)
		n.persist(rd)
		n.apply(rd.CommittedEntries)
		n.Advance(rd)
		assert.Equal(t, []uint64{1, 2}, confStateOf(n).Voters, "got voters %v", confStateOf(n).Voters)
		require.NoError(t, n.Campaign())
		assert.Equal(t, StateCandidate, n.raft.state, "got %v, want candidate", n.raft.state)
	})
}

func TestRawNodeStatus(t *testing.T) {
	nodes, _ := leaderWithFollowers(t, 3)
	leader := nodes[0]
	leader.ApplyConfChange(pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 4})
	leader.process()
	t.Run("a leader reports the progress of every peer", func(t *testing.T) {
		st := leader.Status()
		assert.Equal(t, uint64(1), st.ID, "st.ID: got %v, want 1", st.ID)
		assert.Equal(t, StateLeader, st.RaftState, "st.RaftState: got %v, want StateLeader", st.RaftState)
		assert.Equal(t, uint64(1), st.Lead, "st.Lead: got %v, want 1", st.Lead)
		assert.Len(t, st.Progress, 4, "got progress of %d peers, want 4", len(st.Progress))
		assert.Equal(t, map[uint64]struct{}{4: {}}, st.Config.Learners, "got learners %v", st.Config.Learners)
		st.Progress[2].Inflights.Add(100, 1)
		assert.Equal(t, 0, leader.raft.leading.repl.get(2).Inflights.Count(), "got the status sharing Inflights with the leader")
	})
	t.Run("a follower reports no progress", func(t *testing.T) {
		st := nodes[1].Status()
		assert.Nil(t, st.Progress, "got progress on a follower")
		assert.Equal(t, uint64(1), st.Lead, "st.Lead: got %v, want 1", st.Lead)
	})
	t.Run("BasicStatus does not allocate", func(t *testing.T) {
		allocs := testing.AllocsPerRun(100, func() { _ = leader.BasicStatus() })
		assert.Equal(t, 0.0, allocs, "got %v allocations", allocs)
	})
	t.Run("WithProgress visits every peer with its type", func(t *testing.T) {
		types := map[uint64]ProgressType{}
		leader.WithProgress(func(id uint64, typ ProgressType, pr tracker.Progress) {
			types[id] = typ
			assert.Nil(t, pr.Inflights, "got Inflights for %d", id)
		})
		assert.Equal(t, map[uint64]ProgressType{1: ProgressTypePeer, 2: ProgressTypePeer, 3: ProgressTypePeer, 4: ProgressTypeLearner}, types,
			"progress types: got %v, want peers 1 to 3 and learner 4", types)
	})
	t.Run("WithProgress on a follower shows each member as a new leader would see it", func(t *testing.T) {
		f := nodes[2]
		// NB: as the leader did above, so that the follower knows learner 4.
		f.ApplyConfChange(pb.ConfChange{Type: pb.ConfChangeAddLearnerNode, NodeID: 4})
		next := f.raft.log.lastIndex() + 1
		var ids []uint64
		f.WithProgress(func(id uint64, typ ProgressType, pr tracker.Progress) {
			ids = append(ids, id)
			want := tracker.Progress{Next: next, State: tracker.StateProbe, IsLearner: id == 4}
			if id == f.raft.id {
				want.Match = next - 1
			}
			assert.Equal(t, want, pr, "progress of %d: got %+v, want %+v", id, pr, want)
			wantType := ProgressTypePeer
			if id == 4 {
				wantType = ProgressTypeLearner
			}
			assert.Equal(t, wantType, typ, "type of %d: got %v, want %v", id, typ, wantType)
		})
		assert.Equal(t, []uint64{1, 2, 3, 4}, ids, "members visited: got %v, want 1 to 4 in order", ids)
	})
	t.Run("WithProgress does not allocate", func(t *testing.T) {
		for _, n := range []*testNode{leader, nodes[1]} {
			allocs := testing.AllocsPerRun(100, func() {
				n.WithProgress(func(uint64, ProgressType, tracker.Progress) {})
			})
			assert.Equal(t, 0.0, allocs, "peer %d (%v): got %v allocations", n.raft.id, n.raft.state, allocs)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		st := leader.Status()
		b, err := json.Marshal(st)
		require.NoError(t, err)
		var got map[string]any
		require.NoError(t, json.Unmarshal(b, &got), "got invalid JSON %s", b)
		for _, key := range []string{"id", "term", "vote", "commit", "lead", "raftState", "applied", "progress", "leadtransferee"} {
			assert.Contains(t, got, key, "got no %q in %s", key, b)
		}
		assert.Equal(t, "1", got["id"], "got['id']: got %v, want 1", got["id"])
		assert.Equal(t, "StateLeader", got["raftState"], "got['raftState']: got %v, want StateLeader", got["raftState"])
		progress := got["progress"].(map[string]any)
		assert.Len(t, progress, 4, "progress: got %d, want 4", len(progress))
		state2 := progress["2"].(map[string]any)["state"]
		assert.Equal(t, "StateReplicate", state2, "state of 2: got %v, want StateReplicate", state2)
		assert.Equal(t, string(b), st.String(), "got String different from the JSON")
	})
	t.Run("JSON of a follower with hex IDs", func(t *testing.T) {
		st := Status{BasicStatus: BasicStatus{ID: 255, HardState: pb.HardState{Term: 2, Vote: 10, Commit: 3},
			SoftState: SoftState{Lead: 10, RaftState: StateFollower}, Applied: 3}}
		want := `{"id":"ff","term":2,"vote":"a","commit":3,"lead":"a","raftState":"StateFollower","applied":3,"progress":{},"leadtransferee":"0"}`
		assert.Equal(t, want, st.String(), "st.String(): got %v, want %v", st.String(), want)
	})
}

func TestStateTypeStrings(t *testing.T) {
	for st, want := range map[StateType]string{
		StateFollower: "StateFollower", StateCandidate: "StateCandidate",
		StateLeader: "StateLeader", StatePreCandidate: "StatePreCandidate", 9: "StateType(9)",
	} {
		assert.Equal(t, want, st.String(), "got %q, want %q", st.String(), want)
		b, err := st.MarshalJSON()
		require.NoError(t, err)
		assert.Equal(t, `"`+want+`"`, string(b), "string(b): got %v, want %v", string(b), `"`+want+`"`)
	}
}

func TestQueriesDoNotChangeState(t *testing.T) {
	// Two identical leaders get the same inputs; one of them is also asked
	// every query between inputs. A query that sent deferred appends or
	// started a read round (as HasReady once did) would make the two hand
	// out different Readies.
	twin := func(t *testing.T) *testNode {
		nodes, _ := leaderWithFollowers(t, 3)
		return nodes[0]
	}
	quiet, asked := twin(t), twin(t)
	query := func(n *testNode) {
		for range 2 {
			n.HasReady()
			n.Status()
			n.BasicStatus()
			n.WithProgress(func(uint64, ProgressType, tracker.Progress) {})
		}
	}
	inputs := []struct {
		name string
		do   func(t *testing.T, n *testNode)
	}{
		{"a proposal", func(t *testing.T, n *testNode) { require.NoError(t, n.Propose([]byte("a"))) }},
		{"a read", func(t *testing.T, n *testNode) { n.ReadIndex([]byte("r1")) }},
		{"another proposal", func(t *testing.T, n *testNode) { require.NoError(t, n.Propose([]byte("b"))) }},
		{"a heartbeat response", func(t *testing.T, n *testNode) {
			require.NoError(t, n.Step(pb.Message{From: 2, To: 1, Type: pb.MsgHeartbeatResp, Term: n.raft.term}))
		}},
		{"another read", func(t *testing.T, n *testNode) { n.ReadIndex([]byte("r2")) }},
		{"a tick", func(t *testing.T, n *testNode) { n.Tick() }},
	}
	for i, in := range inputs {
		in.do(t, quiet)
		query(asked)
		in.do(t, asked)
		query(asked)
		t.Run("after "+in.name, func(t *testing.T) {
			// NB: quiet must stay unasked until the end, so the reference
			// here is a third twin that gets the inputs so far and is asked
			// only now.
			fresh := twin(t)
			for _, earlier := range inputs[:i+1] {
				earlier.do(t, fresh)
			}
			want, got := fresh.HasReady(), asked.HasReady()
			require.Equal(t, want, got, "HasReady of a peer that was asked: got %v, want %v as of one that was not", got, want)
			assert.Equal(t, fresh.BasicStatus(), asked.BasicStatus(), "got the status of a peer that was asked different from one that was not")
		})
	}
	rq, ra := quiet.Ready(), asked.Ready()
	assert.Equal(t, rq, ra, "got a different Ready from the peer that was asked queries")
	assert.Len(t, msgsOf(ra.Messages, pb.MsgApp, 2), 1, "got %d appends to 2, want one for the Ready", len(msgsOf(ra.Messages, pb.MsgApp, 2)))
}

// commitCycleAllocs runs the commit cycle of one proposal through a
// three-voter group built with opts - Propose, every Ready handled as the
// application must (persisted, applied, its messages stepped into their
// peers, then Advance or the local storage threads' work) - and returns the
// allocations per cycle.
func commitCycleAllocs(t *testing.T, opts ...testOption) float64 {
	nodes, _ := leaderWithFollowers(t, 3, opts...)
	byID := map[uint64]*testNode{}
	for _, n := range nodes {
		n.forgetApplied = true
		byID[n.raft.id] = n
	}
	step := func(m pb.Message) { require.NoError(t, byID[m.To].Step(m)) }
	handle := func(n *testNode) {
		rd := n.Ready()
		if !n.raft.cfg.asyncStorageWrites {
			n.persist(rd)
			n.apply(rd.CommittedEntries)
			for _, m := range rd.Messages {
				step(m)
			}
			n.Advance(rd)
			return
		}
		for _, m := range rd.Messages {
			switch m.To {
			case LocalAppendThread:
				for _, resp := range n.persistAppend(m) {
					step(resp)
				}
			case LocalApplyThread:
				n.apply(m.Entries)
				for _, resp := range m.Responses {
					step(resp)
				}
			default:
				step(m)
			}
		}
	}
	data := []byte("x")
	cycle := func() {
		require.NoError(t, nodes[0].Propose(data))
		for busy := true; busy; {
			busy = false
			for _, n := range nodes {
				for n.HasReady() {
					busy = true
					handle(n)
				}
			}
		}
	}
	cycle()
	return testing.AllocsPerRun(500, cycle)
}

// TestCommitCycleAllocatesNothing checks that the library allocates
// nothing per commit cycle beyond the amortised growth of its arrays and
// of MemoryStorage.
func TestCommitCycleAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector drops pooled message slabs at random")
	}
	allocs := commitCycleAllocs(t)
	assert.LessOrEqual(t, allocs, 0.5, "got %v allocations per commit cycle", allocs)
}

// TestAsyncCommitCycleAllocatesLittle is TestCommitCycleAllocatesNothing
// with AsyncStorageWrites: the local storage threads' messages and their
// one-message Responses are laid out in the message slabs, so a cycle
// allocates only the arrays of acknowledgements that wait for durability
// (one per Ready that has any: the followers' two rounds of MsgAppResp and
// the leader's acknowledgement of its own entries).
func TestAsyncCommitCycleAllocatesLittle(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector drops pooled message slabs at random")
	}
	allocs := commitCycleAllocs(t, withAsyncWrites())
	assert.LessOrEqual(t, allocs, 5.5, "got %v allocations per asynchronous commit cycle", allocs)
}

// TestPeerStructsKeepTheirSizeClass guards the memory an idle group
// retains (BenchmarkIdleGroups in bench/ measures it): the allocator rounds
// an object up to its size class, so a field added to raft or RawNode
// costs a whole class step (raft: 384 -> 416 B) for every group of a host.
func TestPeerStructsKeepTheirSizeClass(t *testing.T) {
	t.Run("raft", func(t *testing.T) {
		assert.LessOrEqual(t, unsafe.Sizeof(raft{}), uintptr(384), "got raft of %d B, want at most 384", unsafe.Sizeof(raft{}))
	})
	t.Run("RawNode", func(t *testing.T) {
		assert.LessOrEqual(t, unsafe.Sizeof(RawNode{}), uintptr(144), "got RawNode of %d B, want at most 144", unsafe.Sizeof(RawNode{}))
	})
	t.Run("a peer that never proposed or read holds no entry buffer", func(t *testing.T) {
		nodes, _ := leaderWithFollowers(t, 3)
		assert.Nil(t, nodes[1].propBuf, "got an entry buffer on a follower that never proposed")
		require.NoError(t, nodes[0].Propose([]byte("x")))
		require.NotNil(t, nodes[0].propBuf, "want the buffer made by Propose")
		assert.Equal(t, pb.Entry{}, nodes[0].propBuf[0], "got the buffer holding the proposal after Propose returned")
	})
}
