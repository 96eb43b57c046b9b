package wal

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/wal/vfs/faultfs"
)

// seedFiles returns the files of a small store with two segments and a
// snapshot, as fuzzing seeds.
func seedFiles(t testing.TB) (seg1, seg2 []byte, snapFile string, snap []byte) {
	fs := faultfs.New()
	s := openFault(t, fs, Options{SegmentBytes: MinSegmentBytes})
	for i := uint64(1); i <= 24; i += 4 {
		saveEntries(t, s, bigEnts(i, i+3, 1+i/8), pb.HardState{Term: 1 + i/8, Commit: i})
	}
	if _, err := s.CreateSnapshot(5, &pb.ConfState{Voters: []uint64{1}}, []byte("data")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		b, err := fs.ReadFile(filepath.Join(testDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return read(segName(1)), read(segName(2)), snapName(1, 5), read(snapName(1, 5))
}

// FuzzDecodeRecord feeds arbitrary bytes to the record decoder and the
// payload decoders: they return errors, never panic, and never read past
// what they are given.
func FuzzDecodeRecord(f *testing.F) {
	e := pb.Entry{Index: 7, Term: 3, Type: pb.EntryConfChange, Data: []byte("payload")}
	f.Add(appendEntryRecord(nil, &e))
	batch, _ := appendEntryRecords(nil, nil, e, pb.Entry{Index: 8, Term: 3, Data: []byte("more")}, pb.Entry{Index: 9, Term: 4})
	f.Add(batch)
	f.Add(appendHardStateRecord(nil, pb.HardState{Term: 1, Vote: 2, Commit: 3}))
	f.Add(appendCompactRecord(nil, 5, 2))
	f.Add(appendSnapRecord(nil, recSnapApplied, &pb.SnapshotMetadata{Index: 9, Term: 2, ConfState: pb.ConfState{Voters: []uint64{1, 2}}}))
	f.Add(appendBaseRecord(nil, &baseRecord{compactIndex: 1, compactTerm: 1, lastIndex: 4, hardState: pb.HardState{Term: 1}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, n, err := decodeRecord(data)
		if err != nil {
			return
		}
		if n > len(data) || n < recordHeaderSize {
			t.Fatalf("got record length %d from %d bytes", n, len(data))
		}
		switch rec.typ {
		case recEntry:
			if e, err := decodeEntry(rec.payload); err == nil {
				if again := appendEntryRecord(nil, &e); string(again) != string(data[:n]) {
					t.Fatalf("entry %v re-encodes differently", e)
				}
			}
		case recEntries:
			// Entries that decode, as many as a record takes, encode back
			// to the same record.
			var es []pb.Entry
			c := newEntryCursor(rec)
			for {
				e, ok, err := c.next()
				if err != nil {
					return
				}
				if !ok {
					break
				}
				es = append(es, e)
			}
			if again, _ := appendEntryRecords(nil, nil, es...); len(es) > 1 && len(rec.payload) <= entriesRecordBytes && string(again) != string(data[:n]) {
				t.Fatalf("entries %v re-encode differently", es)
			}
		case recHardState:
			_, _ = decodeHardState(rec.payload)
		case recSnapApplied, recSnapCreated:
			_, _ = decodeSnapMeta(rec.payload)
		case recCompact:
			_, _, _ = decodeCompact(rec.payload)
		case recBase:
			_, _ = decodeBase(rec.payload)
		}
	})
}

// FuzzOpen opens stores whose files hold arbitrary bytes. Open returns an
// error or a store; a store it returns answers every read, takes a write
// and reopens to the same state.
func FuzzOpen(f *testing.F) {
	seg1, seg2, sn, snap := seedFiles(f)
	f.Add(seg1, seg2, sn, snap)
	f.Add(seg1, []byte{}, sn, snap)
	f.Add(seg1[:len(seg1)-7], seg2, sn, snap)
	f.Add([]byte{}, []byte{}, "", []byte{})
	f.Add(seg1[:segmentHeaderSize], seg2[:40], sn, snap[:10])
	f.Fuzz(func(t *testing.T, seg1, seg2 []byte, sn string, snap []byte) {
		fs := faultfs.New()
		if err := fs.MkdirAll(testDir); err != nil {
			t.Fatal(err)
		}
		write := func(name string, data []byte) {
			if err := fs.WriteFile(filepath.Join(testDir, name), data); err != nil {
				t.Fatal(err)
			}
		}
		if len(seg1) > 0 {
			write(segName(1), seg1)
		}
		if len(seg2) > 0 {
			write(segName(2), seg2)
		}
		if sn != "" && filepath.Base(sn) == sn && sn != "." && sn != ".." {
			write(sn, snap)
		}
		s, err := Open(testDir, Options{FS: fs, SegmentBytes: MinSegmentBytes})
		if err != nil {
			return
		}
		st := readStateTolerant(t, s)
		next := st.Last + 1
		term := max(st.HardState.Term, st.lastTerm)
		if err := s.Save(raft.Ready{Entries: []pb.Entry{{Index: next, Term: term}}, HardState: st.HardState, MustSync: true}); err != nil {
			t.Fatalf("Save of entry %d after a successful Open: %v", next, err)
		}
		want := readStateTolerant(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err = Open(testDir, Options{FS: fs, SegmentBytes: MinSegmentBytes})
		if err != nil {
			t.Fatalf("reopening after a write: %v", err)
		}
		if got := readStateTolerant(t, s); got.Last != want.Last || got.HardState != want.HardState || got.First != want.First {
			t.Fatalf("reopened with (first %d, last %d, %v), want (first %d, last %d, %v)", got.First, got.Last, got.HardState, want.First, want.Last, want.HardState)
		}
		s.Close()
	})
}

type tolerantState struct {
	First, Last, lastTerm uint64
	HardState             pb.HardState
}

// readStateTolerant reads the state of a store opened on fuzzed files: the
// snapshot's data may be damaged (it is checked when read), nothing else.
func readStateTolerant(t *testing.T, s *Store) tolerantState {
	hs, _, err := s.InitialState()
	if err != nil {
		t.Fatal(err)
	}
	first, _ := s.FirstIndex()
	last, _ := s.LastIndex()
	lastTerm, err := s.Term(last)
	if err != nil {
		t.Fatalf("Term(%d) of the last index: %v", last, err)
	}
	if _, err := s.Term(first - 1); err != nil {
		t.Fatalf("Term(%d) before the first index: %v", first-1, err)
	}
	if last >= first {
		es, err := s.Entries(first, last+1, noLimit)
		if err != nil {
			t.Fatalf("Entries(%d, %d): %v", first, last+1, err)
		}
		if uint64(len(es)) != last-first+1 {
			t.Fatalf("got %d entries, want %d", len(es), last-first+1)
		}
	}
	if _, err := s.Snapshot(); err != nil {
		var ce *CorruptError
		if !errors.As(err, &ce) {
			t.Fatalf("Snapshot: %v", err)
		}
	}
	if hs.Commit > last {
		t.Fatalf("got commit %d past the last index %d", hs.Commit, last)
	}
	return tolerantState{First: first, Last: last, lastTerm: lastTerm, HardState: hs}
}
