package wal

import (
	"fmt"
	"testing"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/wal/vfs/faultfs"
)

// testDir is where tests put stores on a faultfs.FS.
const testDir = "/store"

// openFault opens a store in testDir on fs, failing the test on error.
func openFault(t testing.TB, fs *faultfs.FS, opts Options) *Store {
	t.Helper()
	opts.FS = fs
	s, err := Open(testDir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// ents returns entries lo..hi (inclusive) of term t with small payloads.
func ents(lo, hi, t uint64) []pb.Entry {
	var es []pb.Entry
	for i := lo; i <= hi; i++ {
		es = append(es, pb.Entry{Index: i, Term: t, Data: []byte(fmt.Sprintf("e%d.%d", i, t))})
	}
	return es
}

// saveEntries saves es with a HardState of term t committing commit,
// synced.
func saveEntries(t testing.TB, s *Store, es []pb.Entry, hs pb.HardState) {
	t.Helper()
	if err := s.Save(raft.Ready{Entries: es, HardState: hs, MustSync: true}); err != nil {
		t.Fatalf("Save(%d entries, %v): %v", len(es), hs, err)
	}
}

// storageState is everything a raft.Storage answers, for comparison.
type storageState struct {
	HardState pb.HardState
	ConfState pb.ConfState
	First     uint64
	Last      uint64
	DummyTerm uint64
	Entries   []pb.Entry
	Snapshot  pb.Snapshot
}

// readState reads st's whole state through the raft.Storage interface.
func readState(t testing.TB, st raft.Storage) storageState {
	t.Helper()
	var s storageState
	var err error
	if s.HardState, s.ConfState, err = st.InitialState(); err != nil {
		t.Fatalf("InitialState: %v", err)
	}
	if s.First, err = st.FirstIndex(); err != nil {
		t.Fatalf("FirstIndex: %v", err)
	}
	if s.Last, err = st.LastIndex(); err != nil {
		t.Fatalf("LastIndex: %v", err)
	}
	if s.DummyTerm, err = st.Term(s.First - 1); err != nil {
		t.Fatalf("Term(%d): %v", s.First-1, err)
	}
	if s.Last >= s.First {
		if s.Entries, err = st.Entries(s.First, s.Last+1, noLimit); err != nil {
			t.Fatalf("Entries(%d, %d): %v", s.First, s.Last+1, err)
		}
		for _, e := range s.Entries {
			term, err := st.Term(e.Index)
			if err != nil || term != e.Term {
				t.Fatalf("Term(%d) = %d, %v; want %d from Entries", e.Index, term, err, e.Term)
			}
		}
	}
	if s.Snapshot, err = st.Snapshot(); err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if len(s.Snapshot.Data) == 0 {
		s.Snapshot.Data = nil
	}
	for i := range s.Entries {
		if len(s.Entries[i].Data) == 0 {
			s.Entries[i].Data = nil
		}
	}
	return s
}

const noLimit = ^uint64(0)
