package wal

import (
	"errors"
	"fmt"
	"testing"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/wal/vfs/faultfs"
	"github.com/stretchr/testify/require"
)

var errInjected = errors.New("injected I/O error")

// TestIOErrorFailsTheStore fails each file-system operation of the script
// in turn and checks that the call reports it, that the store then refuses
// writes but keeps answering reads with the state of the last successful
// call, and that reopening recovers a state the writes allow, with a
// process restart (nothing lost) or a machine crash (unsynced data lost).
func TestIOErrorFailsTheStore(t *testing.T) {
	states, ends := scriptStates(t, crashScript)
	total := countOps(t, crashScript, ends)
	for n := 1; n <= total; n++ {
		for _, short := range []bool{false, true} {
			var failed faultfs.Op
			run := runScript(t, crashScript, ends, func(k int, op faultfs.Op) error {
				if k != n {
					return nil
				}
				failed = op
				if short && op.Kind == faultfs.OpWrite {
					return &faultfs.ShortWrite{N: op.Bytes / 2, Err: errInjected}
				}
				return errInjected
			})
			if short && failed.Kind != faultfs.OpWrite {
				continue
			}
			what := fmt.Sprintf("op %d (%v %s) fails, short=%v", n, failed.Kind, failed.Path, short)
			if run.err == nil {
				t.Fatalf("%s: got no error from the script", what)
			}
			if !errors.Is(run.err, errInjected) {
				t.Fatalf("%s: got error %v, want one wrapping the injected error", what, run.err)
			}
			if s := run.store; s != nil {
				if !errors.Is(run.err, ErrFailed) {
					t.Fatalf("%s: got error %v, want one wrapping ErrFailed", what, run.err)
				}
				err := s.Save(raft.Ready{HardState: pb.HardState{Term: 9}, MustSync: true})
				if !errors.Is(err, ErrFailed) {
					t.Fatalf("%s: Save after the failure: got %v, want ErrFailed", what, err)
				}
				if _, err := s.SaveAppends(pb.Message{Type: pb.MsgStorageAppend}); !errors.Is(err, ErrFailed) {
					t.Fatalf("%s: SaveAppends after the failure: got %v, want ErrFailed", what, err)
				}
				if err := s.Compact(1); !errors.Is(err, ErrFailed) {
					t.Fatalf("%s: Compact after the failure: got %v, want ErrFailed", what, err)
				}
				// Reads answer what reached the files: the state of the
				// last successful call, or of the failed one if only its
				// sync (or a removal after it) failed.
				got := readState(t, s)
				if !equalStates(got, states[run.ackedEnd]) && !equalStates(got, states[run.attemptEnd]) {
					t.Fatalf("%s: reads after the failure: got last %d %v, want the state of the last successful call (last %d %v) or of the failed one",
						what, got.Last, got.HardState, states[run.ackedEnd].Last, states[run.ackedEnd].HardState)
				}
				require.NoError(t, s.Close())
			}
			fs := run.fs.Clone()
			checkRecovered(t, fs, states, run.ackedEnd, run.attemptEnd, what+", restarted")
			fs = run.fs.Clone()
			fs.Crash(faultfs.CrashPlan{})
			checkRecovered(t, fs, states, run.durableEnd, run.attemptEnd, what+", crashed")
		}
	}
}

// TestInvalidInput checks that bad arguments are errors that change
// nothing, and never panics.
func TestInvalidInput(t *testing.T) {
	setup := func(t *testing.T) (*Store, storageState) {
		s := openFault(t, faultfs.New(), Options{})
		saveEntries(t, s, ents(1, 10, 2), pb.HardState{Term: 2, Vote: 1, Commit: 5})
		_, err := s.CreateSnapshot(4, &pb.ConfState{Voters: []uint64{1}}, []byte("s"))
		require.NoError(t, err)
		require.NoError(t, s.Compact(3))
		return s, readState(t, s)
	}
	for _, tc := range []struct {
		name string
		call func(s *Store) error
		is   error
	}{
		{"gap after the last index", func(s *Store) error { return s.Save(raft.Ready{Entries: ents(12, 13, 2)}) }, errInvalid},
		{"entries not consecutive", func(s *Store) error {
			return s.Save(raft.Ready{Entries: []pb.Entry{{Index: 11, Term: 2}, {Index: 13, Term: 2}}})
		}, errInvalid},
		{"terms decreasing within", func(s *Store) error {
			return s.Save(raft.Ready{Entries: []pb.Entry{{Index: 11, Term: 3}, {Index: 12, Term: 2}}})
		}, errInvalid},
		{"term below the previous entry", func(s *Store) error { return s.Save(raft.Ready{Entries: ents(11, 12, 1)}) }, errInvalid},
		{"overwriting committed entries", func(s *Store) error { return s.Save(raft.Ready{Entries: ents(5, 5, 3)}) }, errInvalid},
		{"commit past the last index", func(s *Store) error {
			return s.Save(raft.Ready{HardState: pb.HardState{Term: 2, Commit: 11}})
		}, errInvalid},
		{"HardState term going back", func(s *Store) error {
			return s.Save(raft.Ready{HardState: pb.HardState{Term: 1, Commit: 5}})
		}, errInvalid},
		{"unknown entry type", func(s *Store) error {
			return s.Save(raft.Ready{Entries: []pb.Entry{{Index: 11, Term: 2, Type: 7}}})
		}, errInvalid},
		{"old snapshot in a Ready", func(s *Store) error {
			return s.Save(raft.Ready{Snapshot: pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 4, Term: 2}}})
		}, raft.ErrSnapOutOfDate},
		{"ApplySnapshot not newer", func(s *Store) error {
			return s.ApplySnapshot(pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 3, Term: 2}})
		}, raft.ErrSnapOutOfDate},
		{"CreateSnapshot not newer", func(s *Store) error { _, err := s.CreateSnapshot(4, nil, nil); return err }, raft.ErrSnapOutOfDate},
		{"CreateSnapshot past the last index", func(s *Store) error { _, err := s.CreateSnapshot(11, nil, nil); return err }, nil},
		{"Compact already compacted", func(s *Store) error { return s.Compact(3) }, raft.ErrCompacted},
		{"Compact past the snapshot", func(s *Store) error { return s.Compact(5) }, nil},
		{"Compact past the last index", func(s *Store) error { return s.Compact(11) }, nil},
		{"Entries with lo > hi", func(s *Store) error { _, err := s.Entries(6, 5, noLimit); return err }, nil},
		{"Entries past the last index", func(s *Store) error { _, err := s.Entries(5, 12, noLimit); return err }, raft.ErrUnavailable},
		{"Entries compacted", func(s *Store) error { _, err := s.Entries(3, 5, noLimit); return err }, raft.ErrCompacted},
		{"Term compacted", func(s *Store) error { _, err := s.Term(2); return err }, raft.ErrCompacted},
		{"Term past the last index", func(s *Store) error { _, err := s.Term(11); return err }, raft.ErrUnavailable},
		{"SaveAppends of another message type", func(s *Store) error {
			_, err := s.SaveAppends(pb.Message{Type: pb.MsgApp, Entries: ents(11, 11, 2)})
			return err
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, before := setup(t)
			var err error
			require.NotPanics(t, func() { err = tc.call(s) })
			require.Error(t, err)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
			require.NotErrorIs(t, err, ErrFailed, "got the store failed by invalid input")
			require.Equal(t, before, readState(t, s), "got the state changed by an invalid call")
			// The store still takes valid writes.
			saveEntries(t, s, ents(11, 11, 2), pb.HardState{Term: 2, Vote: 1, Commit: 11})
		})
	}
}

func TestSaveAppendsStopsAtTheFirstInvalidMessage(t *testing.T) {
	s := openFault(t, faultfs.New(), Options{})
	ack := func(i uint64) pb.Message { return pb.Message{Type: pb.MsgStorageAppendResp, Index: i} }
	resps, err := s.SaveAppends(
		pb.Message{Type: pb.MsgStorageAppend, Term: 1, Entries: ents(1, 3, 1), Responses: []pb.Message{ack(3)}},
		pb.Message{Type: pb.MsgStorageAppend, Entries: ents(5, 5, 1), Responses: []pb.Message{ack(5)}},
		pb.Message{Type: pb.MsgStorageAppend, Entries: ents(4, 4, 1), Responses: []pb.Message{ack(4)}},
	)
	require.ErrorIs(t, err, errInvalid)
	require.Equal(t, []pb.Message{ack(3)}, resps, "got responses %v, want only the first message's", resps)
	last, _ := s.LastIndex()
	require.Equal(t, uint64(3), last, "got last index %d, want the first message's 3", last)
}

func TestClosedStore(t *testing.T) {
	s := openFault(t, faultfs.New(), Options{})
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Close(), ErrClosed)
	_, err := s.LastIndex()
	require.ErrorIs(t, err, ErrClosed)
	_, err = s.Entries(1, 2, noLimit)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, s.Save(raft.Ready{Entries: ents(1, 1, 1)}), ErrClosed)
}
