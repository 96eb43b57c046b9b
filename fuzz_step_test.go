package raft

import (
	"encoding/binary"
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

// fuzzReader hands out the fuzz input byte by byte, and zeros once it is
// exhausted.
type fuzzReader struct {
	data []byte
}

func (r *fuzzReader) done() bool { return len(r.data) == 0 }

func (r *fuzzReader) byte() byte {
	if len(r.data) == 0 {
		return 0
	}
	b := r.data[0]
	r.data = r.data[1:]
	return b
}

func (r *fuzzReader) uint64() uint64 {
	var buf [8]byte
	n := copy(buf[:], r.data)
	r.data = r.data[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

func (r *fuzzReader) bytes() []byte {
	n := min(int(r.byte()%16), len(r.data))
	b := r.data[:n:n]
	r.data = r.data[n:]
	return b
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
	cs := confState(fn.rn.raft.conf.config)
	if _, err := fn.storage.CreateSnapshot(applied, &cs, nil); err != nil {
		return
	}
	must(fn.t, fn.storage.Compact(applied))
}

// fuzzFromIDs are the senders a fuzzed message may claim: None, self, the
// other voters, and peers outside the configuration.
var fuzzFromIDs = []uint64{None, 1, 2, 3, 4, math.MaxUint64 - 2}

// decodeMessage decodes one message from in.
func (fn *fuzzNode) decodeMessage(in *fuzzReader) pb.Message {
	m := pb.Message{
		Type: pb.MessageType(in.byte() % (byte(numMessageTypes) + 2)),
		To:   1,
		From: fuzzFromIDs[int(in.byte())%len(fuzzFromIDs)],
	}
	m.Term = fn.termValue(in)
	m.LogTerm = fn.termValue(in)
	m.Index = fn.indexValue(in)
	m.Commit = fn.indexValue(in)
	m.RejectHint = fn.indexValue(in)
	m.Reject = in.byte()&1 != 0
	m.Entries = fn.decodeEntries(in, m)
	m.Snapshot = fn.decodeSnapshot(in)
	switch in.byte() % 4 {
	case 1:
		m.Context = []byte(campaignTransfer)
	case 2:
		m.Context = binary.BigEndian.AppendUint64(nil, uint64(in.byte()))
	case 3:
		m.Context = in.bytes()
	}
	return m
}

// termValue decodes a term, mostly one near the peer's.
func (fn *fuzzNode) termValue(in *fuzzReader) uint64 {
	r := fn.rn.raft
	switch in.byte() % 8 {
	case 0:
		return 0
	case 1:
		return r.term - 1
	case 2, 3:
		return r.term
	case 4:
		return r.term + 1
	case 5:
		return r.log.lastTerm()
	case 6:
		return uint64(in.byte())
	default:
		return in.uint64()
	}
}

// indexValue decodes a log index, mostly one near the bounds of the peer's
// log.
func (fn *fuzzNode) indexValue(in *fuzzReader) uint64 {
	l := fn.rn.raft.log
	switch in.byte() % 10 {
	case 0:
		return 0
	case 1:
		return l.lastIndex()
	case 2:
		return l.lastIndex() + 1
	case 3:
		return l.committed()
	case 4:
		return l.firstIndex() - 1
	case 5:
		return l.lastIndex() - uint64(in.byte()%4)
	case 6:
		return l.committed() + uint64(in.byte()%4)
	case 7:
		return uint64(in.byte())
	case 8:
		return math.MaxUint64 - uint64(in.byte()%2)
	default:
		return in.uint64()
	}
}

// decodeEntries decodes up to 3 entries: mostly a run following m.Index,
// sometimes with arbitrary indexes and terms.
func (fn *fuzzNode) decodeEntries(in *fuzzReader, m pb.Message) []pb.Entry {
	b := in.byte()
	n := int(b % 4)
	if n == 0 {
		if b&4 != 0 {
			return []pb.Entry{}
		}
		return nil
	}
	ents := make([]pb.Entry, n)
	for i := range ents {
		e := &ents[i]
		if b&8 != 0 {
			e.Index, e.Term = fn.indexValue(in), fn.termValue(in)
		} else {
			e.Index = m.Index + 1 + uint64(i)
			e.Term = max(m.LogTerm, m.Term)
		}
		e.Type, e.Data = decodeEntryPayload(in)
	}
	return ents
}

// decodeEntryPayload decodes an entry type and payload: normal data, a
// valid configuration change of either version, or garbage.
func decodeEntryPayload(in *fuzzReader) (pb.EntryType, []byte) {
	b := in.byte()
	typ := pb.EntryType(b % 4)
	switch typ {
	case pb.EntryConfChange:
		if b&4 != 0 {
			break
		}
		cc := pb.ConfChange{Type: pb.ConfChangeType(in.byte() % 5), NodeID: uint64(in.byte() % 6)}
		data, _ := cc.Marshal()
		return typ, data
	case pb.EntryConfChangeV2:
		if b&4 != 0 {
			break
		}
		var cc pb.ConfChangeV2
		cc.Transition = pb.ConfChangeTransition(in.byte() % 4)
		for k := in.byte() % 3; k > 0; k-- {
			cc.Changes = append(cc.Changes, pb.ConfChangeSingle{
				Type: pb.ConfChangeType(in.byte() % 5), NodeID: uint64(in.byte() % 6),
			})
		}
		data, _ := cc.Marshal()
		return typ, data
	}
	return typ, in.bytes()
}

// decodeSnapshot decodes a nil, empty or arbitrary snapshot.
func (fn *fuzzNode) decodeSnapshot(in *fuzzReader) *pb.Snapshot {
	switch in.byte() % 4 {
	case 0, 1:
		return nil
	case 2:
		return &pb.Snapshot{}
	}
	s := &pb.Snapshot{Data: in.bytes()}
	s.Metadata.Index = fn.indexValue(in)
	s.Metadata.Term = fn.termValue(in)
	cs := &s.Metadata.ConfState
	cs.Voters = decodeIDSet(in)
	cs.Learners = decodeIDSet(in)
	cs.VotersOutgoing = decodeIDSet(in)
	cs.LearnersNext = decodeIDSet(in)
	cs.AutoLeave = in.byte()&1 != 0
	return s
}

// decodeIDSet decodes a subset of {1, ..., 5} (ids may repeat).
func decodeIDSet(in *fuzzReader) []uint64 {
	b := in.byte()
	var ids []uint64
	for id := uint64(1); id <= 5; id++ {
		if b&(1<<(id-1)) != 0 {
			ids = append(ids, id)
		}
	}
	if b&0x80 != 0 && len(ids) > 0 {
		ids = append(ids, ids[0])
	}
	return ids
}

// fuzzEncoder builds FuzzStep inputs for the seeds, in the format the
// decoder above reads.
type fuzzEncoder struct {
	buf []byte
}

func (e *fuzzEncoder) op(b ...byte) *fuzzEncoder {
	e.buf = append(e.buf, b...)
	return e
}

// Selector bytes of termValue and indexValue used by the seeds.
const (
	selTermZero   = 0
	selTermPrev   = 1
	selTermCur    = 2
	selTermNext   = 4
	selTermLast   = 5
	selIndexZero  = 0
	selIndexLast  = 1
	selIndexAfter = 2
	selIndexCommi = 3
	selIndexFirst = 4
)

// msg appends a message step: type, sender, term, logTerm, index, commit,
// reject hint, reject, entries, snapshot and context selectors.
func (e *fuzzEncoder) msg(typ pb.MessageType, from byte, term, logTerm, index, commit byte, entries, snap, ctx byte) *fuzzEncoder {
	e.op(0, byte(typ), from, term, logTerm, index, commit, selIndexZero, 0, entries)
	for range entries % 4 {
		// A normal entry with an empty payload.
		e.op(0, 0)
	}
	return e.op(snap, ctx)
}

// fuzzStepSeeds returns a valid-looking message of every type for every
// role, each followed by a Ready round and a tick, plus a few sequences
// that exercise snapshots, proposals and conflicting appends.
func fuzzStepSeeds() [][]byte {
	var seeds [][]byte
	for role := byte(0); role < numFuzzRoles; role++ {
		for typ := pb.MessageType(0); int(typ) < numMessageTypes; typ++ {
			for _, from := range []byte{2, 3} {
				e := &fuzzEncoder{}
				e.op(role, 3)
				// One entry following (LogTerm, Index) = the last entry.
				e.msg(typ, from, selTermCur, selTermLast, selIndexLast, selIndexCommi, 1, 0, 0)
				e.op(6, 5, 6)
				seeds = append(seeds, e.buf)
			}
		}
		// A snapshot past the log, for voters {1, 2, 3}.
		e := &fuzzEncoder{}
		e.op(role, 0)
		e.op(0, byte(pb.MsgSnap), 2, selTermCur, selTermZero, selIndexZero, selIndexZero, selIndexZero, 0, 0,
			3, 0, 7, 20, selTermCur, 0x07, 0, 0, 0, 0, 0)
		e.op(6, 7, 6)
		seeds = append(seeds, e.buf)
		// A conflicting append at the commit index, then a heartbeat.
		e = &fuzzEncoder{}
		e.op(role, 1)
		e.msg(pb.MsgApp, 2, selTermNext, selTermCur, selIndexCommi, selIndexCommi, 3, 0, 0)
		e.msg(pb.MsgHeartbeat, 2, selTermNext, selTermZero, selIndexZero, selIndexLast, 0, 0, 2)
		e.op(6)
		seeds = append(seeds, e.buf)
	}
	return seeds
}

// TestFuzzStepSeedsDecode checks that the seeds decode to the messages they
// are meant to be, so that the corpus covers every message type.
func TestFuzzStepSeedsDecode(t *testing.T) {
	seen := map[pb.MessageType]bool{}
	for _, seed := range fuzzStepSeeds() {
		in := &fuzzReader{data: seed}
		fn := newFuzzNode(t, in.byte(), in.byte())
		if op := in.byte(); op != 0 {
			continue
		}
		m := fn.decodeMessage(in)
		seen[m.Type] = true
	}
	for typ := pb.MessageType(0); int(typ) < numMessageTypes; typ++ {
		if !seen[typ] {
			t.Errorf("got no seed for %v, want one for every message type", typ)
		}
	}
	t.Run(fmt.Sprintf("%d seeds", len(fuzzStepSeeds())), func(t *testing.T) {
		for _, seed := range fuzzStepSeeds() {
			runFuzzStep(t, seed)
		}
	})
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
				msgs := len(r.out.msgs) + len(r.out.afterAppend)
				require.NotPanics(t, func() {
					require.NoError(t, r.Step(pb.Message{From: 2, To: 1, Type: typ, Index: 11, LogTerm: 9}))
				})
				assert.Equal(t, state, r.state, "got state %v, want %v", r.state, state)
				assert.Equal(t, term, r.term, "got term %d, want %d", r.term, term)
				assert.Equal(t, vote, r.vote, "got vote %d, want %d", r.vote, vote)
				got := len(r.out.msgs) + len(r.out.afterAppend)
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
					})
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
			last, committed, cfg := r.log.lastEntryID(), r.log.committed(), confState(r.conf.config)
			m := pb.Message{From: 2, To: 1, Type: pb.MsgSnap, Term: r.term,
				Snapshot: &pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 20, Term: r.term, ConfState: cs}}}
			require.NotPanics(t, func() { require.NoError(t, fn.rn.Step(m)) })
			assert.Equal(t, last, r.log.lastEntryID(), "got last entry %v, want %v", r.log.lastEntryID(), last)
			assert.Equal(t, committed, r.log.committed(), "got commit %d, want %d", r.log.committed(), committed)
			assert.Equal(t, cfg, confState(r.conf.config), "got configuration %v, want %v", confState(r.conf.config), cfg)
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
	})
	assert.Equal(t, last, r.log.lastEntryID(), "got last entry %v, want %v", r.log.lastEntryID(), last)
	assert.Equal(t, committed, r.log.committed(), "got commit %d, want %d", r.log.committed(), committed)
}
