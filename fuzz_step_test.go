package raft

import (
	"fmt"
	"math"
	"runtime/debug"
	"strings"
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzStep checks that no message a peer can send crashes a RawNode. The
// fuzz input picks the role of peer 1 in a group of voters {1, 2, 3}
// (follower, pre-candidate, candidate or leader, over a log with a snapshot,
// persisted entries of several terms and a committed prefix) and a few
// Config options, then a sequence of operations: messages stepped in
// through RawNode.Step, ticks, Ready/Advance rounds that persist to
// MemoryStorage and apply committed configuration changes, and log
// compactions. The fields of each message are decoded one by one, mostly
// relative to the peer's current term and log, so that the fuzzer reaches
// both plausible and absurd values of every field cheaply.
//
// Messages come from any peer ID (known voters, self, None, strangers) but
// never from LocalAppendThread or LocalApplyThread: messages from those are
// the application's own storage acknowledgements, which RawNode.Step trusts
// by contract. The node runs without AsyncStorageWrites, for the same
// reason.
//
// A runtime error (nil dereference, index out of range, ...) or any other
// panic fails the target. A deliberate invariant panic, "raft: invariant
// violated: ...", is accepted only for the cases listed in
// fuzzAllowedInvariantPanics, where etcd-raft v3.6 panics as well and the
// message can only come from a corrupt or buggy peer claiming to be the
// leader of our term:
//
//   - A heartbeat whose Commit is past our last index. A leader sends
//     min(Match, committed), and Match only grows through our own
//     acknowledgements of entries that our log then holds (paper 5.3), so
//     such a commit index means that either the leader or our storage lost
//     or invented entries; applying it would hand out entries we do not
//     have, and ignoring it would hide a corrupted cluster.
func FuzzStep(f *testing.F) {
	for _, seed := range fuzzStepSeeds() {
		f.Add(seed)
	}
	for _, c := range fuzzStepCrashers {
		f.Add([]byte(c.input))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		runFuzzStep(t, data)
	})
}

// fuzzStepCrashers are the inputs with which the fuzzer crashed the node,
// each named after the file it wrote and the regression test that covers
// it. NB: they are kept here rather than under testdata/fuzz/FuzzStep,
// where TestInteraction would take them for scenario files.
var fuzzStepCrashers = []struct{ name, input string }{
	{"8bb4f9a095ef9391, TestStepVoteMessageWithoutTerm", "100900700"},
	{"f97371e68ca86a2e, TestStepMessageFromSelf", "100\"10"},
	{"1f8c59728a766d91, TestStepSnapshotWithInvalidConfState", "900!00022200700000100000"},
	{"d87e465324a7ffe3, TestStepSnapshotAtMaxIndex", "100!00022200700001 7B0"},
	{"6be95e67cacfe3eb, TestStepSnapshotWithInvalidConfState", "100!0002220070700\xff"},
}

// fuzzAllowedInvariantPanics are the invariant messages FuzzStep accepts;
// see its doc comment for why each can only come from a corrupt peer.
var fuzzAllowedInvariantPanics = []string{
	// raftLog.commitTo, from handleHeartbeat.
	"was the log corrupted, truncated or lost?",
}

const invariantPrefix = "raft: invariant violated: "

// runFuzzStep decodes data and runs it against a fresh node, failing t on a
// crash that is not an accepted invariant panic.
func runFuzzStep(t *testing.T, data []byte) {
	in := &fuzzReader{data: data}
	var trace []string
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if s, ok := v.(string); ok && strings.HasPrefix(s, invariantPrefix) {
			for _, allowed := range fuzzAllowedInvariantPanics {
				if strings.Contains(s, allowed) {
					return
				}
			}
		}
		t.Fatalf("panic: %v\nafter:\n%s\n%s", v, strings.Join(trace, "\n"), debug.Stack())
	}()
	fn := newFuzzNode(t, in.byte(), in.byte())
	for ops := 0; ops < 64 && !in.done(); ops++ {
		switch op := in.byte() % 8; op {
		case 5:
			trace = append(trace, "tick")
			fn.rn.Tick()
		case 6:
			trace = append(trace, "ready")
			fn.handleReady()
		case 7:
			trace = append(trace, "compact")
			fn.compact()
		default:
			m := fn.decodeMessage(in)
			trace = append(trace, "step "+DescribeMessage(m, nil))
			_ = fn.rn.Step(m)
		}
	}
	trace = append(trace, "final ready")
	fn.handleReady()
}

// fuzzNode is peer 1 of the fuzzed group, with its storage.
type fuzzNode struct {
	t       *testing.T
	rn      *RawNode
	storage *MemoryStorage
}

// Roles FuzzStep can start peer 1 in.
const (
	fuzzFollower = iota
	fuzzPreCandidate
	fuzzCandidate
	fuzzLeader
	fuzzLeaderless
	numFuzzRoles
)

// newFuzzNode builds peer 1 over a snapshot at 5@1 for voters {1, 2, 3},
// followed by entries 6@1 7@2 8@2 9@3 10@3, committed up to 8 at term 3,
// and brings it into the role picked by role. opts picks Config options.
func newFuzzNode(t *testing.T, role, opts byte) *fuzzNode {
	s := NewMemoryStorage()
	must(t, s.ApplySnapshot(pb.Snapshot{Metadata: pb.SnapshotMetadata{
		Index: 5, Term: 1, ConfState: pb.ConfState{Voters: []uint64{1, 2, 3}},
	}}))
	var ents []pb.Entry
	for i, term := range []uint64{1, 2, 2, 3, 3} {
		ents = append(ents, pb.Entry{Index: uint64(6 + i), Term: term, Data: []byte{byte(i)}})
	}
	must(t, s.Append(ents))
	must(t, s.SetHardState(pb.HardState{Term: 3, Commit: 8}))
	role %= numFuzzRoles
	cfg := &Config{
		ID:                          1,
		ElectionTick:                10,
		HeartbeatTick:               1,
		Storage:                     s,
		Applied:                     5,
		MaxSizePerMsg:               64,
		MaxInflightMsgs:             4,
		MaxUncommittedEntriesSize:   256,
		MaxCommittedSizePerReady:    uint64(opts>>6) * 64,
		CheckQuorum:                 opts&1 != 0,
		PreVote:                     opts&2 != 0 || role == fuzzPreCandidate,
		DisableProposalForwarding:   opts&8 != 0,
		StepDownOnRemoval:           opts&16 != 0,
		DisableConfChangeValidation: opts&32 != 0,
		Logger:                      discardLogger,
	}
	if opts&4 != 0 {
		cfg.ReadOnlyOption = ReadOnlyLeaseBased
		cfg.CheckQuorum = true
	}
	rn, err := NewRawNode(cfg)
	must(t, err)
	fn := &fuzzNode{t: t, rn: rn, storage: s}
	fn.handleReady()
	r := rn.raft
	switch role {
	case fuzzFollower:
		must(t, rn.Step(pb.Message{From: 2, To: 1, Type: pb.MsgHeartbeat, Term: r.term, Commit: 8}))
	case fuzzPreCandidate:
		must(t, rn.Campaign())
	case fuzzCandidate, fuzzLeader:
		must(t, rn.Campaign())
		if r.state == StatePreCandidate {
			fn.handleReady()
			must(t, rn.Step(pb.Message{From: 2, To: 1, Type: pb.MsgPreVoteResp, Term: r.term + 1}))
		}
		if role == fuzzLeader {
			fn.handleReady()
			must(t, rn.Step(pb.Message{From: 2, To: 1, Type: pb.MsgVoteResp, Term: r.term}))
		}
	}
	fn.handleReady()
	return fn
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("setting up the fuzzed node: %v", err)
	}
}

// handleReady persists, "sends" (drops) and applies a Ready, as an
// application without AsyncStorageWrites does.
func (fn *fuzzNode) handleReady() {
	if !fn.rn.HasReady() {
		return
	}
	rd := fn.rn.Ready()
	if !IsEmptySnap(rd.Snapshot) {
		must(fn.t, fn.storage.ApplySnapshot(rd.Snapshot))
	}
	must(fn.t, fn.storage.Append(rd.Entries))
	if !IsEmptyHardState(rd.HardState) {
		must(fn.t, fn.storage.SetHardState(rd.HardState))
	}
	for _, e := range rd.CommittedEntries {
		if e.Type != pb.EntryConfChange && e.Type != pb.EntryConfChangeV2 {
			continue
		}
		// NB: a malformed change is the application's to deal with; the
		// leader never proposes one, but a peer posing as the leader can
		// send one in a MsgApp.
		if cc, err := decodeConfChange(e); err == nil {
			fn.rn.ApplyConfChange(cc)
		}
	}
	fn.rn.Advance(rd)
}

// compact snapshots and compacts the storage at the applied index, as an
// application does from time to time, so that the leader has to send
// snapshots to peers that fall behind.
func (fn *fuzzNode) compact() {
	applied := fn.rn.raft.log.applied()
	first, _ := fn.storage.FirstIndex()
	last, _ := fn.storage.LastIndex()
	if applied < first || applied > last {
		return
	}
	cs := confState(fn.rn.raft.conf.config())
	if _, err := fn.storage.CreateSnapshot(applied, &cs, nil); err != nil {
		return
	}
	must(fn.t, fn.storage.Compact(applied))
}

// TestStepVoteMessageWithoutTerm is the regression test for fuzz input
// 8bb4f9a095ef9391: a MsgVote with Term 0 passed the term checks as a local
// message, and the answer, which echoes the request's term, tripped the
// invariant that votes are sent with a term. Term-less (pre-)vote requests
// and responses are now dropped: a response would otherwise be counted as
// one of the current election.
func TestStepVoteMessageWithoutTerm(t *testing.T) {
	for _, typ := range []pb.MessageType{pb.MsgVote, pb.MsgPreVote, pb.MsgVoteResp, pb.MsgPreVoteResp} {
		for _, role := range []byte{fuzzFollower, fuzzPreCandidate, fuzzCandidate, fuzzLeader} {
			r := newFuzzNode(t, role, 0).rn.raft
			t.Run(fmt.Sprintf("%v to %v", typ, r.state), func(t *testing.T) {
				state, term, vote := r.state, r.term, r.vote
				msgs := len(r.out.msgs) + len(afterAppendMsgs(r))
				require.NotPanics(t, func() {
					require.NoError(t, r.Step(pb.Message{From: 2, To: 1, Type: typ, Index: 11, LogTerm: 9}))
				}, "got a panic, want the message handled")
				assert.Equal(t, state, r.state, "got state %v, want %v", r.state, state)
				assert.Equal(t, term, r.term, "got term %d, want %d", r.term, term)
				assert.Equal(t, vote, r.vote, "got vote %d, want %d", r.vote, vote)
				got := len(r.out.msgs) + len(afterAppendMsgs(r))
				assert.Equal(t, msgs, got, "got %d messages queued, want %d", got, msgs)
			})
		}
	}
}

// TestStepMessageFromSelf is the regression test for fuzz input
// f97371e68ca86a2e: a MsgHeartbeat claiming to come from the peer itself
// made it follow itself and answer itself, tripping the invariant that a
// peer sends no heartbeat response to itself. Messages that only ever come
// from another peer are now dropped when they claim to come from this one.
func TestStepMessageFromSelf(t *testing.T) {
	for _, typ := range []pb.MessageType{pb.MsgApp, pb.MsgHeartbeat, pb.MsgHeartbeatResp, pb.MsgSnap,
		pb.MsgVote, pb.MsgPreVote, pb.MsgTimeoutNow} {
		for _, role := range []byte{fuzzFollower, fuzzPreCandidate, fuzzCandidate, fuzzLeader} {
			for _, termDelta := range []uint64{0, 1} {
				fn := newFuzzNode(t, role, 0)
				r := fn.rn.raft
				name := fmt.Sprintf("%v at term +%d to %v", typ, termDelta, r.state)
				t.Run(name, func(t *testing.T) {
					state, term, lead, vote := r.state, r.term, r.lead, r.vote
					m := pb.Message{From: 1, To: 1, Type: typ, Term: r.term + termDelta, Index: r.log.lastIndex(),
						LogTerm: r.log.lastTerm(), Commit: r.log.committed(),
						Snapshot: &pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 20, Term: r.term,
							ConfState: pb.ConfState{Voters: []uint64{1, 2, 3}}}}}
					require.NotPanics(t, func() {
						require.NoError(t, fn.rn.Step(m))
						fn.handleReady()
					}, "got a panic, want the message handled")
					assert.Equal(t, state, r.state, "got state %v, want %v", r.state, state)
					assert.Equal(t, term, r.term, "got term %d, want %d", r.term, term)
					assert.Equal(t, lead, r.lead, "got lead %d, want %d", r.lead, lead)
					assert.Equal(t, vote, r.vote, "got vote %d, want %d", r.vote, vote)
				})
			}
		}
	}
}

// TestStepSnapshotWithInvalidConfState is the regression test for fuzz
// inputs 1f8c59728a766d91 and 6be95e67cacfe3eb: a snapshot whose ConfState
// lists a node as both voter and learner, or a voter twice, replaced the log
// and then tripped the invariant that a snapshot's configuration is restored
// as it is. Such a snapshot is now dropped
// before anything changes, and answered with our commit index.
func TestStepSnapshotWithInvalidConfState(t *testing.T) {
	for name, cs := range map[string]pb.ConfState{
		"voter and learner":    {Voters: []uint64{1, 2, 3}, Learners: []uint64{2}},
		"learner and outgoing": {Voters: []uint64{1}, VotersOutgoing: []uint64{5}, Learners: []uint64{1, 5}, LearnersNext: []uint64{5}},
		"auto-leave not joint": {Voters: []uint64{1, 2, 3}, AutoLeave: true},
		"voter listed twice":   {Voters: []uint64{1, 2, 3, 1}},
	} {
		t.Run(name, func(t *testing.T) {
			fn := newFuzzNode(t, fuzzFollower, 0)
			r := fn.rn.raft
			last, committed, cfg := r.log.lastEntryID(), r.log.committed(), confState(r.conf.config())
			m := pb.Message{From: 2, To: 1, Type: pb.MsgSnap, Term: r.term,
				Snapshot: &pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 20, Term: r.term, ConfState: cs}}}
			require.NotPanics(t, func() { require.NoError(t, fn.rn.Step(m)) }, "got a panic, want the message handled")
			assert.Equal(t, last, r.log.lastEntryID(), "got last entry %v, want %v", r.log.lastEntryID(), last)
			assert.Equal(t, committed, r.log.committed(), "got commit %d, want %d", r.log.committed(), committed)
			assert.Equal(t, cfg, confState(r.conf.config()), "got configuration %v, want %v", confState(r.conf.config()), cfg)
			rd := fn.rn.Ready()
			require.Len(t, rd.Messages, 1, "got %v, want one answer", rd.Messages)
			assert.Equal(t, pb.Message{From: 1, To: 2, Type: pb.MsgAppResp, Term: r.term, Index: committed}, rd.Messages[0],
				"got %v, want the commit index", rd.Messages[0])
		})
	}
}

// TestStepSnapshotAtMaxIndex is the regression test for fuzz input
// d87e465324a7ffe3: a snapshot at index MaxUint64 was restored, the index of
// the next entry wrapped around to 0, and reading the last term tripped an
// invariant. Such a snapshot is now dropped.
func TestStepSnapshotAtMaxIndex(t *testing.T) {
	fn := newFuzzNode(t, fuzzFollower, 0)
	r := fn.rn.raft
	last, committed := r.log.lastEntryID(), r.log.committed()
	m := pb.Message{From: 2, To: 1, Type: pb.MsgSnap, Term: r.term,
		Snapshot: &pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: math.MaxUint64, Term: r.term,
			ConfState: pb.ConfState{Voters: []uint64{1, 2, 3}}}}}
	require.NotPanics(t, func() {
		require.NoError(t, fn.rn.Step(m))
		fn.handleReady()
	}, "got a panic, want the message handled")
	assert.Equal(t, last, r.log.lastEntryID(), "got last entry %v, want %v", r.log.lastEntryID(), last)
	assert.Equal(t, committed, r.log.committed(), "got commit %d, want %d", r.log.committed(), committed)
}
