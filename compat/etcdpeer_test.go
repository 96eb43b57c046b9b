package compat

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/rafttest/sim"
	etcdraft "go.etcd.io/raft/v3"
)

// TestEtcdConfigCarriesEveryOption checks that EtcdConfig copies every
// field of our Config that etcd-raft's has, by name, and drops only those
// it documents as not carried: so that an option added to ours is not
// silently left out of the mixed runs.
func TestEtcdConfigCarriesEveryOption(t *testing.T) {
	notCarried := map[string]bool{"RandomSource": true, "LeaseGuardOnRestart": true, "TraceLogger": true,
		// etcd-raft v3.6 has no such reports.
		"ReportRefusedConfChanges": true, "ReportDroppedReads": true, "ReportLostLog": true}
	cfg := raft.Config{
		ID: 7, ElectionTick: 17, HeartbeatTick: 3, Storage: raft.NewMemoryStorage(), Applied: 0,
		AsyncStorageWrites: true, MaxSizePerMsg: 1001, MaxCommittedSizePerReady: 1002,
		MaxUncommittedEntriesSize: 1003, MaxInflightMsgs: 5, MaxInflightBytes: 4004,
		CheckQuorum: true, PreVote: true, ReadOnlyOption: raft.ReadOnlyLeaseBased,
		Logger: &raft.DefaultLogger{}, DisableProposalForwarding: true, DisableConfChangeValidation: true,
		StepDownOnRemoval: true, LeaseGuardOnRestart: true, RandomSource: rand.NewPCG(1, 2),
	}
	ec, err := EtcdConfig(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := reflect.ValueOf(cfg), reflect.ValueOf(*ec)
	for i := range ours.NumField() {
		name := ours.Type().Field(i).Name
		t.Run(name, func(t *testing.T) {
			f := theirs.FieldByName(name)
			switch {
			case notCarried[name]:
				if f.IsValid() && !f.IsZero() {
					t.Errorf("got %v, want it left unset", f)
				}
			case !f.IsValid():
				t.Errorf("etcd-raft's Config has no %s, and EtcdConfig does not say it drops it", name)
			case name == "Storage":
				if s, ok := f.Interface().(EtcdStorage); !ok || s.S != cfg.Storage {
					t.Errorf("got %#v, want EtcdStorage over the configured storage", f.Interface())
				}
			case name == "ReadOnlyOption":
				if got := f.Interface().(etcdraft.ReadOnlyOption); got != etcdraft.ReadOnlyLeaseBased {
					t.Errorf("got %v, want ReadOnlyLeaseBased", got)
				}
			case name == "Logger":
				if got := f.Interface(); got != cfg.Logger {
					t.Errorf("got %v, want the configured logger", got)
				}
			default:
				if got, want := f.Interface(), ours.Field(i).Interface(); !reflect.DeepEqual(got, want) {
					t.Errorf("got %v, want %v", got, want)
				}
			}
		})
	}
	t.Run("invalid ReadOnlyOption", func(t *testing.T) {
		bad := cfg
		bad.ReadOnlyOption = 9
		if _, err := EtcdConfig(&bad); err == nil {
			t.Errorf("got no error, want one")
		}
	})
	t.Run("no Storage", func(t *testing.T) {
		bad := cfg
		bad.Storage = nil
		if _, err := EtcdConfig(&bad); err == nil {
			t.Errorf("got no error, want one")
		}
	})
}

// TestEtcdStorageCrossesValuesAndErrors checks that EtcdStorage hands
// etcd-raft what our storage holds, encoded the same, and our storage
// errors as the values etcd-raft compares them with.
func TestEtcdStorageCrossesValuesAndErrors(t *testing.T) {
	ms := raft.NewMemoryStorage()
	cs := pb.ConfState{Voters: []uint64{1, 2}, Learners: []uint64{3}}
	if err := ms.ApplySnapshot(pb.Snapshot{Data: []byte("sm"), Metadata: pb.SnapshotMetadata{Index: 10, Term: 2, ConfState: cs}}); err != nil {
		t.Fatal(err)
	}
	var ents []pb.Entry
	for i := uint64(11); i <= 15; i++ {
		ents = append(ents, pb.Entry{Index: i, Term: 3, Type: pb.EntryType(i % 3), Data: []byte(fmt.Sprint("e", i))})
	}
	if err := ms.Append(ents); err != nil {
		t.Fatal(err)
	}
	hs := pb.HardState{Term: 3, Vote: 2, Commit: 14}
	if err := ms.SetHardState(hs); err != nil {
		t.Fatal(err)
	}
	s := EtcdStorage{S: ms}
	sameBytes := func(t *testing.T, got, want Encoder) {
		t.Helper()
		g, err1 := got.Marshal()
		w, err2 := want.Marshal()
		if err1 != nil || err2 != nil || !bytes.Equal(g, w) {
			t.Errorf("got encoding %x (%v), want %x (%v)", g, err1, w, err2)
		}
	}
	t.Run("InitialState", func(t *testing.T) {
		ehs, ecs, err := s.InitialState()
		if err != nil {
			t.Fatal(err)
		}
		sameBytes(t, &ehs, &hs)
		sameBytes(t, &ecs, &cs)
	})
	t.Run("Entries", func(t *testing.T) {
		got, err := s.Entries(11, 16, 1<<20)
		if err != nil || len(got) != len(ents) {
			t.Fatalf("got %d entries (%v), want %d", len(got), err, len(ents))
		}
		for i := range got {
			sameBytes(t, &got[i], &ents[i])
		}
	})
	t.Run("Snapshot", func(t *testing.T) {
		snap, _ := ms.Snapshot()
		got, err := s.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		sameBytes(t, &got, &snap)
	})
	t.Run("bounds", func(t *testing.T) {
		first, err1 := s.FirstIndex()
		last, err2 := s.LastIndex()
		term, err3 := s.Term(12)
		if first != 11 || last != 15 || term != 3 || err1 != nil || err2 != nil || err3 != nil {
			t.Errorf("got first %d, last %d, term(12) %d (%v %v %v), want 11, 15, 3", first, last, term, err1, err2, err3)
		}
	})
	for _, c := range []struct {
		name string
		call func() error
		want error
	}{
		{"Entries below the log", func() error { _, err := s.Entries(5, 12, 1<<20); return err }, etcdraft.ErrCompacted},
		{"Term below the log", func() error { _, err := s.Term(3); return err }, etcdraft.ErrCompacted},
		{"Term beyond the log", func() error { _, err := s.Term(99); return err }, etcdraft.ErrUnavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			// NB: etcd-raft compares these errors by identity.
			if err := c.call(); err != c.want {
				t.Errorf("got %v, want etcd-raft's %v", err, c.want)
			}
		})
	}
	t.Run("other errors pass unchanged", func(t *testing.T) {
		other := errors.New("disk on fire")
		if got := storageErrToEtcd(other); got != other {
			t.Errorf("got %v, want %v", got, other)
		}
	})
}

// readyLoop handles p's Readies as a host without AsyncStorageWrites does,
// persisting to ms, until p has none; it returns the committed entries it
// applied.
func readyLoop(t *testing.T, p sim.Peer, ms *raft.MemoryStorage) []pb.Entry {
	t.Helper()
	var applied []pb.Entry
	for p.HasReady() {
		rd := p.Ready()
		applied = append(applied, persistAndApply(t, p, ms, rd)...)
		p.Advance(rd)
	}
	return applied
}

// persistAndApply persists rd to ms and applies its committed configuration
// changes to p, as a host without AsyncStorageWrites does before sending
// rd's messages and advancing; it returns rd's committed entries.
func persistAndApply(t *testing.T, p sim.Peer, ms *raft.MemoryStorage, rd raft.Ready) []pb.Entry {
	t.Helper()
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := ms.ApplySnapshot(rd.Snapshot); err != nil {
			t.Fatal(err)
		}
	}
	if err := ms.Append(rd.Entries); err != nil {
		t.Fatal(err)
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		if err := ms.SetHardState(rd.HardState); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range rd.CommittedEntries {
		switch e.Type {
		case pb.EntryConfChange:
			var cc pb.ConfChange
			if err := cc.Unmarshal(e.Data); err != nil {
				t.Fatal(err)
			}
			p.ApplyConfChange(cc)
		case pb.EntryConfChangeV2:
			var cc pb.ConfChangeV2
			if err := cc.Unmarshal(e.Data); err != nil {
				t.Fatal(err)
			}
			p.ApplyConfChange(cc)
		}
	}
	return rd.CommittedEntries
}

// soleVoterStorage returns a storage holding a bootstrap snapshot in which
// node 1 is the only voter, and node 2 a learner.
func soleVoterStorage(t *testing.T) *raft.MemoryStorage {
	ms := raft.NewMemoryStorage()
	cs := pb.ConfState{Voters: []uint64{1}, Learners: []uint64{2}}
	if err := ms.ApplySnapshot(pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 1, Term: 1, ConfState: cs}}); err != nil {
		t.Fatal(err)
	}
	return ms
}

// bothLibraries starts a peer of each library, for the tests that compare
// them; etcd says which is etcd-raft's.
var bothLibraries = []struct {
	name  string
	start func(*raft.Config) (sim.Peer, error)
	etcd  bool
}{
	{"etcd-raft", NewEtcdSimPeer, true},
	{"ours", sim.NewRawNodePeer, false},
}

// persistedEtcdLeader runs an EtcdPeer as the only voter, elects it and
// commits three proposals, persisting its Readies to a fresh storage. It
// returns the peer's configuration (with that storage) and last status.
func persistedEtcdLeader(t *testing.T) (raft.Config, raft.BasicStatus) {
	ms := soleVoterStorage(t)
	cfg := raft.Config{ID: 1, ElectionTick: 10, HeartbeatTick: 1, Storage: ms, MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 16}
	p, err := NewEtcdPeer(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Campaign(); err != nil {
		t.Fatal(err)
	}
	readyLoop(t, p, ms)
	for i := range 3 {
		if err := p.Propose([]byte(fmt.Sprint("w", i))); err != nil {
			t.Fatal(err)
		}
		readyLoop(t, p, ms)
	}
	st := p.BasicStatus()
	if st.RaftState != raft.StateLeader || st.Commit != 5 || st.Applied != 5 {
		t.Fatalf("got %+v, want the leader at commit and applied 5", st)
	}
	return cfg, st
}

// TestEtcdPeerRestartsFromWhatItPersisted checks that an EtcdPeer whose
// Readies were persisted to one of our storages restarts, as an EtcdPeer
// or as our RawNode, with the term, vote, commit index and log it had
// persisted, and goes on from there.
func TestEtcdPeerRestartsFromWhatItPersisted(t *testing.T) {
	for _, r := range bothLibraries {
		t.Run("as "+r.name, func(t *testing.T) {
			cfg, before := persistedEtcdLeader(t)
			cfg.Applied = before.Applied
			q, err := r.start(&cfg)
			if err != nil {
				t.Fatal(err)
			}
			st := q.BasicStatus()
			if st.Term != before.Term || st.Vote != before.Vote || st.Commit != before.Commit || st.Applied != before.Applied {
				t.Errorf("got term %d vote %d commit %d applied %d, want %d %d %d %d",
					st.Term, st.Vote, st.Commit, st.Applied, before.Term, before.Vote, before.Commit, before.Applied)
			}
			ms := cfg.Storage.(*raft.MemoryStorage)
			if err := q.Campaign(); err != nil {
				t.Fatal(err)
			}
			readyLoop(t, q, ms)
			if err := q.Propose([]byte("after")); err != nil {
				t.Fatal(err)
			}
			got := readyLoop(t, q, ms)
			if k := len(got); k == 0 || string(got[k-1].Data) != "after" || got[k-1].Index != before.Commit+2 {
				t.Errorf("got committed %v, want \"after\" at index %d, after the new term's empty entry", got, before.Commit+2)
			}
		})
	}
}

// panicMessage runs f and returns what it panicked with, or "" if it
// returned.
func panicMessage(f func()) (msg string) {
	defer func() {
		if p := recover(); p != nil {
			msg = fmt.Sprint(p)
		}
	}()
	f()
	return ""
}

// quietLogger drops every log line, and panics on Fatal and Panic as a
// Logger must.
type quietLogger struct{}

func (quietLogger) Debug(...any)              {}
func (quietLogger) Debugf(string, ...any)     {}
func (quietLogger) Info(...any)               {}
func (quietLogger) Infof(string, ...any)      {}
func (quietLogger) Warning(...any)            {}
func (quietLogger) Warningf(string, ...any)   {}
func (quietLogger) Error(...any)              {}
func (quietLogger) Errorf(string, ...any)     {}
func (quietLogger) Fatal(v ...any)            { panic(fmt.Sprint(v...)) }
func (quietLogger) Fatalf(f string, v ...any) { panic(fmt.Sprintf(f, v...)) }
func (quietLogger) Panic(v ...any)            { panic(fmt.Sprint(v...)) }
func (quietLogger) Panicf(f string, v ...any) { panic(fmt.Sprintf(f, v...)) }

// TestEtcdPanicsWithZeroSizeLimits shows why the mixed runs never give
// etcd-raft v3.6.0 MaxSizePerMsg and MaxCommittedSizePerReady both 0: it
// panics on its first commit, where ours hands out one entry per Ready.
func TestEtcdPanicsWithZeroSizeLimits(t *testing.T) {
	for _, c := range bothLibraries {
		t.Run(c.name, func(t *testing.T) {
			ms := soleVoterStorage(t)
			cfg := raft.Config{ID: 1, ElectionTick: 10, HeartbeatTick: 1, Storage: ms, MaxInflightMsgs: 16, Logger: quietLogger{}}
			p, err := c.start(&cfg)
			if err != nil {
				t.Fatal(err)
			}
			msg := panicMessage(func() {
				if err := p.Campaign(); err != nil {
					t.Fatal(err)
				}
				readyLoop(t, p, ms)
			})
			if got := strings.Contains(msg, "not positive"); got != c.etcd {
				t.Errorf("got panic %q, want a panic about a size that is not positive: %t", msg, c.etcd)
			}
		})
	}
}

// TestEtcdPanicsApplyingRemovalOfLastVoter shows the v3.6 behaviour the
// mixed runs count as expected (expectEtcdNoVoters): a leader that is the
// only voter accepts a change that removes it, commits it, and panics
// applying it; ours refuses it when it is proposed (an empty entry takes
// its place), and applying it anyway leaves the configuration as it is.
func TestEtcdPanicsApplyingRemovalOfLastVoter(t *testing.T) {
	for _, c := range bothLibraries {
		t.Run(c.name, func(t *testing.T) {
			ms := soleVoterStorage(t)
			cfg := raft.Config{ID: 1, ElectionTick: 10, HeartbeatTick: 1, Storage: ms, MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 16, Logger: quietLogger{}}
			p, err := c.start(&cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Campaign(); err != nil {
				t.Fatal(err)
			}
			readyLoop(t, p, ms)
			if err := p.ProposeConfChange(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1}); err != nil {
				t.Fatalf("got %v proposing the removal, want it accepted", err)
			}
			var applied []pb.Entry
			msg := panicMessage(func() { applied = readyLoop(t, p, ms) })
			if got := msg == "removed all voters"; got != c.etcd {
				t.Errorf("got panic %q, want a panic %q: %t", msg, "removed all voters", c.etcd)
			}
			if !c.etcd {
				// Ours tries the change on the configuration it applies to
				// and refuses it: an empty entry commits in its place.
				if k := len(applied); k == 0 || applied[k-1].Type != pb.EntryNormal || len(applied[k-1].Data) != 0 {
					t.Errorf("got applied %v, want an empty entry in place of the refused removal", applied)
				}
				if cs := p.ApplyConfChange(pb.ConfChange{Type: pb.ConfChangeRemoveNode, NodeID: 1}); len(cs.Voters) != 1 || cs.Voters[0] != 1 {
					t.Errorf("got configuration %v after applying the removal anyway, want voter 1 kept", cs)
				}
			}
		})
	}
}
