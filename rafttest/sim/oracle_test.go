package sim

import (
	"fmt"
	"math"
	"testing"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
)

// The tests in this file break the system on purpose, from outside the
// library (a Peer or Storage that misbehaves), and check that the
// simulation reports the violation of the oracle meant to catch it.

// mutantPeer wraps the library's RawNode and lets a test alter what goes in
// and out of it.
type mutantPeer struct {
	Peer
	id uint64
	// step, if set, may rewrite (or drop, returning false) a message before
	// the RawNode sees it.
	step func(m *pb.Message) bool
	// ready, if set, may rewrite a Ready the RawNode handed out.
	ready func(rd *raft.Ready)
}

func (p *mutantPeer) Step(m pb.Message) error {
	if p.step != nil && !p.step(&m) {
		return nil
	}
	return p.Peer.Step(m)
}

func (p *mutantPeer) Ready() raft.Ready {
	rd := p.Peer.Ready()
	if p.ready != nil {
		p.ready(&rd)
	}
	return rd
}

// mutate returns a PeerFactory whose peers with an ID in ids (all if ids is
// empty) are mutants set up by setup.
func mutate(setup func(p *mutantPeer), ids ...uint64) PeerFactory {
	return func(cfg *raft.Config) (Peer, error) {
		rn, err := raft.NewRawNode(cfg)
		if err != nil {
			return nil, err
		}
		p := &mutantPeer{Peer: rn, id: cfg.ID}
		selected := len(ids) == 0
		for _, id := range ids {
			selected = selected || id == cfg.ID
		}
		if selected {
			setup(p)
		}
		return p, nil
	}
}

// quietPlan keeps a run clear of the read paths whose known defects would
// otherwise stop it before the mutant shows: at least three voters, no
// retried read contexts, no membership changes, ReadOnlySafe.
func quietPlan(p *Plan) {
	if p.Voters < 3 {
		p.Voters, p.Nodes = 3, max(p.Nodes, 3)
	}
	p.Work.RetryRate = 0
	p.Work.ConfChange = 0
	p.Config.ReadOnlyOption = raft.ReadOnlySafe
}

// noReads also stops the clients from reading.
func noReads(p *Plan) {
	quietPlan(p)
	p.Work.Read = 0
}

// expectOracle runs seeds 1..maxSeeds with the given mutation until one
// run reports want as its first violation, and fails if none does. A
// mutation can break more than one property (a voter that grants every
// vote can elect two leaders, or a leader missing entries), so runs whose
// first violation is another oracle's are skipped, and listed if no run
// shows want. It then checks that the same run without the mutation does
// not report want.
func expectOracle(t *testing.T, want Oracle, maxSeeds uint64, opts Options) {
	t.Helper()
	if opts.Steps == 0 {
		opts.Steps = 3000
	}
	opts.LivenessSteps = 3000
	var others []string
	for seed := uint64(1); seed <= maxSeeds; seed++ {
		opts.Seed = seed
		r := Run(opts)
		if r.Violation == nil {
			continue
		}
		if r.Violation.Oracle != want {
			others = append(others, fmt.Sprintf("seed %d: %s", seed, r.Violation.Oracle))
			continue
		}
		t.Logf("seed %d: %s", seed, r.Violation)
		base := opts
		base.Peers, base.NewStorage = nil, nil
		if b := Run(base); b.Violation != nil && b.Violation.Oracle == want {
			t.Fatalf("seed %d without the mutation: got %s, want no %s violation", seed, b.Violation, want)
		}
		return
	}
	t.Fatalf("no run of seeds 1..%d reported a %s violation first; other oracles fired first in %v", maxSeeds, want, others)
}

func TestOracleElectionSafety(t *testing.T) {
	// Node 1 grants every vote it is asked for, even a second one in a
	// term: two candidates can both win.
	grantAll := mutate(func(p *mutantPeer) {
		p.ready = func(rd *raft.Ready) {
			for i := range rd.Messages {
				if m := &rd.Messages[i]; m.Type == pb.MsgVoteResp || m.Type == pb.MsgPreVoteResp {
					m.Reject = false
				}
			}
		}
	}, 1)
	expectOracle(t, ElectionSafety, 200, Options{Peers: grantAll, Plan: noReads})
}

func TestOracleAppliedEntries(t *testing.T) {
	// Node 2 hands out a different command than the one committed.
	corrupt := mutate(func(p *mutantPeer) {
		p.ready = func(rd *raft.Ready) {
			for i := range rd.CommittedEntries {
				if e := &rd.CommittedEntries[i]; e.Type == pb.EntryNormal && len(e.Data) > 8 {
					e.Data = append(append([]byte(nil), e.Data...), '!')
				}
			}
		}
	}, 2)
	expectOracle(t, AppliedEntries, 50, Options{Peers: corrupt, Plan: noReads})
}

func TestOracleLeaderCompleteness(t *testing.T) {
	// Every voter believes every candidate's log is up to date, so a
	// candidate missing committed entries can win (votes stay one per
	// term).
	blind := mutate(func(p *mutantPeer) {
		p.step = func(m *pb.Message) bool {
			if m.Type == pb.MsgVote || m.Type == pb.MsgPreVote {
				m.LogTerm, m.Index = math.MaxUint64, math.MaxUint64
			}
			return true
		}
	})
	expectOracle(t, LeaderCompleteness, 200, Options{Peers: blind, Plan: noReads})
}

// mutantStorage wraps the default storage factory and alters what a node
// finds after a crash.
type mutantStorage struct {
	StorageFactory
	reopen func(st Storage) Storage
	opened map[uint64]bool
}

func (f *mutantStorage) Open(id uint64) (Storage, error) {
	st, err := f.StorageFactory.Open(id)
	if err != nil || !f.opened[id] {
		f.opened[id] = true
		return st, err
	}
	return f.reopen(st), nil
}

func newMutantStorage(reopen func(st Storage) Storage) func() StorageFactory {
	return func() StorageFactory {
		return &mutantStorage{StorageFactory: NewMemoryStorageFactory(), reopen: reopen, opened: make(map[uint64]bool)}
	}
}

func TestOracleCommitIndex(t *testing.T) {
	// The storage does not keep the commit index of the HardState.
	dropCommit := newMutantStorage(func(st Storage) Storage {
		hs, _, _ := st.InitialState()
		hs.Commit = 0
		if err := st.SetHardState(hs); err != nil {
			panic(err)
		}
		return st
	})
	expectOracle(t, CommitIndex, 50, Options{NewStorage: dropCommit, Plan: noReads})
}

func TestOracleDurability(t *testing.T) {
	// The storage loses its last entry in a crash, though the node had
	// acknowledged it.
	loseLast := newMutantStorage(func(st Storage) Storage {
		ms := st.(*raft.MemoryStorage)
		first, _ := ms.FirstIndex()
		last, _ := ms.LastIndex()
		if last < first {
			return st
		}
		snap, _ := ms.Snapshot()
		hs, _, _ := ms.InitialState()
		ents, _ := ms.Entries(first, last, math.MaxUint64)
		fresh := raft.NewMemoryStorage()
		if !raft.IsEmptySnap(snap) {
			if err := fresh.ApplySnapshot(snap); err != nil {
				panic(err)
			}
		}
		if err := fresh.Append(ents); err != nil {
			panic(err)
		}
		if err := fresh.SetHardState(hs); err != nil {
			panic(err)
		}
		return fresh
	})
	expectOracle(t, Durability, 50, Options{NewStorage: loseLast, Plan: noReads})
}

// replayFirstReadState makes a peer answer every read with the index of
// the first ReadState it handed out.
func replayFirstReadState(p *mutantPeer) {
	var first uint64
	p.ready = func(rd *raft.Ready) {
		for i := range rd.ReadStates {
			if first == 0 {
				first = rd.ReadStates[i].Index
			}
			rd.ReadStates[i].Index = first
		}
	}
}

func TestOracleStaleRead(t *testing.T) {
	expectOracle(t, StaleRead, 50, Options{Peers: mutate(replayFirstReadState), Plan: quietPlan})
}

func TestOracleLeaseRead(t *testing.T) {
	lease := func(p *Plan) {
		quietPlan(p)
		p.LockStep = true
		p.Config.CheckQuorum = true
		p.Config.ReadOnlyOption = raft.ReadOnlyLeaseBased
		// Faults that move leadership would let the library's own lease
		// weakness fire first.
		p.Faults = FaultPlan{}
		p.Work.Transfer, p.Work.Campaign, p.Work.ForgetLeader = 0, 0, 0
	}
	expectOracle(t, LeaseRead, 50, Options{Peers: mutate(replayFirstReadState), Plan: lease})
}

func TestOracleReadContext(t *testing.T) {
	// Node 1 hands out ReadStates with a context it was never given.
	rewrite := mutate(func(p *mutantPeer) {
		p.ready = func(rd *raft.Ready) {
			for i := range rd.ReadStates {
				rd.ReadStates[i].RequestCtx = append([]byte("x"), rd.ReadStates[i].RequestCtx...)
			}
		}
	}, 1)
	expectOracle(t, ReadContext, 50, Options{Peers: rewrite, Plan: quietPlan})
}

func TestOracleReadyContract(t *testing.T) {
	// Node 1 never asks for a synchronous write.
	noSync := mutate(func(p *mutantPeer) {
		p.ready = func(rd *raft.Ready) { rd.MustSync = false }
	}, 1)
	expectOracle(t, ReadyContract, 50, Options{Peers: noSync, Plan: noReads})
}

func TestOraclePanic(t *testing.T) {
	// Node 2 panics on the 50th message it is given.
	crashing := mutate(func(p *mutantPeer) {
		n := 0
		p.step = func(*pb.Message) bool {
			if n++; n == 50 {
				panic("mutant: fiftieth message")
			}
			return true
		}
	}, 2)
	expectOracle(t, Panic, 50, Options{Peers: crashing, Plan: noReads})
}

func TestLivenessFailureIsReported(t *testing.T) {
	// Every node ignores vote requests: no leader can ever be elected.
	deaf := mutate(func(p *mutantPeer) {
		p.step = func(m *pb.Message) bool { return m.Type != pb.MsgVote && m.Type != pb.MsgPreVote }
	})
	r := Run(Options{Seed: 1, Steps: 500, LivenessSteps: 2000, Peers: deaf, Plan: noReads})
	if r.Violation != nil {
		t.Fatalf("got %s, want no safety violation", r.Violation)
	}
	if r.Liveness == nil || r.Liveness.Class != NoLeader {
		t.Fatalf("got liveness failure %v, want %s", r.Liveness, NoLeader)
	}
}
