package wal

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/wal/vfs/faultfs"
	"github.com/stretchr/testify/require"
)

// workload generates a random sequence of valid writes, shaped like what
// raft asks of its storage: appends that may overwrite an uncommitted tail
// with a higher term, HardStates, snapshots created and received, and
// compactions up to the snapshot.
type workload struct {
	rng      *rand.Rand
	term     uint64
	commit   uint64
	last     uint64
	snap     uint64
	compact  uint64
	dataSize int
}

// op is one write of a workload.
type op struct {
	kind  string // "save", "create", "apply", "compact"
	ents  []pb.Entry
	hs    pb.HardState
	sync  bool
	index uint64
	cs    *pb.ConfState
	data  []byte
	snap  pb.Snapshot
}

func (o op) String() string {
	switch o.kind {
	case "save":
		lo, hi := uint64(0), uint64(0)
		if len(o.ents) > 0 {
			lo, hi = o.ents[0].Index, o.ents[len(o.ents)-1].Index
		}
		return fmt.Sprintf("save [%d,%d] hs=%v sync=%v", lo, hi, o.hs, o.sync)
	case "apply":
		return fmt.Sprintf("apply %d/%d", o.snap.Metadata.Index, o.snap.Metadata.Term)
	}
	return fmt.Sprintf("%s %d", o.kind, o.index)
}

func (w *workload) payload() []byte {
	n := 1 + w.rng.IntN(w.dataSize)
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(w.rng.Uint32())
	}
	return p
}

func (w *workload) next() op {
	switch r := w.rng.IntN(20); {
	case r < 13:
		// Append, possibly overwriting the uncommitted tail in a new term.
		at := w.last + 1
		if w.last > w.commit && w.rng.IntN(3) == 0 {
			at = w.commit + 1 + w.rng.Uint64N(w.last-w.commit)
			w.term++
		} else if w.rng.IntN(8) == 0 {
			w.term++
		}
		n := uint64(w.rng.IntN(6))
		var es []pb.Entry
		for i := uint64(0); i < n; i++ {
			es = append(es, pb.Entry{Index: at + i, Term: w.term, Type: pb.EntryType(w.rng.IntN(3)), Data: w.payload()})
		}
		if n > 0 {
			w.last = at + n - 1
		} else if at <= w.last {
			w.term-- // nothing written; keep the term as it was
			w.term = max(w.term, 1)
		}
		if w.commit < w.last && w.rng.IntN(2) == 0 {
			w.commit += 1 + w.rng.Uint64N(w.last-w.commit)
		}
		hs := pb.HardState{Term: w.term, Vote: 1, Commit: w.commit}
		return op{kind: "save", ents: es, hs: hs, sync: n > 0 || w.rng.IntN(2) == 0}
	case r >= 13 && r < 15 && w.commit > w.snap:
		w.snap += 1 + w.rng.Uint64N(w.commit-w.snap)
		var cs *pb.ConfState
		if w.rng.IntN(2) == 0 {
			cs = &pb.ConfState{Voters: []uint64{1, 2, w.snap}}
		}
		return op{kind: "create", index: w.snap, cs: cs, data: w.payload()}
	case r >= 15 && r < 18 && w.snap > w.compact:
		w.compact += 1 + w.rng.Uint64N(w.snap-w.compact)
		return op{kind: "compact", index: w.compact}
	case r == 18:
		// A snapshot from a leader, past everything we have.
		w.term++
		w.last += 1 + w.rng.Uint64N(5)
		w.commit, w.snap, w.compact = w.last, w.last, w.last
		return op{kind: "apply", snap: pb.Snapshot{
			Metadata: pb.SnapshotMetadata{Index: w.last, Term: w.term, ConfState: pb.ConfState{Voters: []uint64{1, w.term}}},
			Data:     w.payload(),
		}}
	default:
		return op{kind: "save", hs: pb.HardState{Term: w.term, Vote: 1, Commit: w.commit}}
	}
}

// applyStore performs o on s.
func applyStore(s *Store, o op) error {
	switch o.kind {
	case "save":
		return s.Save(raft.Ready{Entries: o.ents, HardState: o.hs, MustSync: o.sync})
	case "create":
		_, err := s.CreateSnapshot(o.index, o.cs, o.data)
		return err
	case "compact":
		return s.Compact(o.index)
	case "apply":
		return s.ApplySnapshot(o.snap)
	}
	panic(o.kind)
}

// applyModel performs o on the reference MemoryStorage.
func applyModel(t testing.TB, ms *raft.MemoryStorage, o op) {
	t.Helper()
	var err error
	switch o.kind {
	case "save":
		if err = ms.Append(o.ents); err == nil {
			err = ms.SetHardState(o.hs)
		}
	case "create":
		_, err = ms.CreateSnapshot(o.index, o.cs, o.data)
	case "compact":
		err = ms.Compact(o.index)
	case "apply":
		err = ms.ApplySnapshot(o.snap)
	}
	require.NoError(t, err, "model: %v", o)
}

// compareReads checks reads that readState does not make: ranges with
// size limits, and indexes out of range.
func compareReads(t *testing.T, rng *rand.Rand, s *Store, ms *raft.MemoryStorage) {
	t.Helper()
	first, _ := ms.FirstIndex()
	last, _ := ms.LastIndex()
	for range 5 {
		if last < first {
			break
		}
		lo := first + rng.Uint64N(last-first+1)
		hi := lo + rng.Uint64N(last-lo+2)
		maxSize := rng.Uint64N(200)
		want, werr := ms.Entries(lo, hi, maxSize)
		got, gerr := s.Entries(lo, hi, maxSize)
		require.Equal(t, werr, gerr, "Entries(%d, %d, %d) error", lo, hi, maxSize)
		require.Equal(t, len(want), len(got), "Entries(%d, %d, %d): got %d entries, want %d", lo, hi, maxSize, len(got), len(want))
		for i := range want {
			require.Equal(t, want[i], got[i], "Entries(%d, %d, %d)[%d]", lo, hi, maxSize, i)
		}
	}
	for _, i := range []uint64{0, first - 1, last, last + 1, first + rng.Uint64N(last+3)} {
		wt, werr := ms.Term(i)
		gt, gerr := s.Term(i)
		require.True(t, errors.Is(gerr, werr) || gerr == werr, "Term(%d): got error %v, want %v", i, gerr, werr)
		require.Equal(t, wt, gt, "Term(%d): got %d, want %d", i, gt, wt)
	}
	_, err := s.Entries(first-1, last+1, noLimit)
	if first > 1 || len(mustEntries(ms)) > 0 {
		require.ErrorIs(t, err, raft.ErrCompacted, "Entries below the first index")
	}
}

func mustEntries(ms *raft.MemoryStorage) []pb.Entry {
	first, _ := ms.FirstIndex()
	last, _ := ms.LastIndex()
	if last < first {
		return nil
	}
	es, _ := ms.Entries(first, last+1, noLimit)
	return es
}

// TestStoreMatchesMemoryStorage runs random workloads on a Store and on
// raft.MemoryStorage, the obviously correct reference, and compares every
// read after each write and after each reopening.
func TestStoreMatchesMemoryStorage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  Options
		disk  bool
		steps int
	}{
		{"defaults", Options{}, false, 400},
		{"small segments, no cache", Options{SegmentBytes: MinSegmentBytes, CacheBytes: -1}, false, 400},
		{"small segments, small cache", Options{SegmentBytes: MinSegmentBytes, CacheBytes: 300}, false, 400},
		{"on disk", Options{SegmentBytes: MinSegmentBytes, CacheBytes: 300}, true, 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(4) {
				t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(seed, 1))
					w := &workload{rng: rng, term: 1, dataSize: 100}
					open := func() *Store {
						if !tc.disk {
							return openFault(t, faultfs.New(), tc.opts)
						}
						s, err := Open(t.TempDir(), tc.opts)
						require.NoError(t, err)
						return s
					}
					s := open()
					reopen := func() *Store {
						require.NoError(t, s.Close())
						s2, err := Open(s.dir, Options{FS: s.fs, SegmentBytes: tc.opts.SegmentBytes, CacheBytes: tc.opts.CacheBytes})
						require.NoError(t, err)
						return s2
					}
					ms := raft.NewMemoryStorage()
					for step := range tc.steps {
						o := w.next()
						require.NoError(t, applyStore(s, o), "step %d: %v", step, o)
						applyModel(t, ms, o)
						if step%50 == 49 || tc.disk && step%20 == 19 {
							s = reopen()
						}
						require.Equal(t, readState(t, ms), readState(t, s), "step %d: after %v", step, o)
						compareReads(t, rng, s, ms)
					}
					require.NoError(t, s.Close())
				})
			}
		})
	}
}
