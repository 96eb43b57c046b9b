package wal

import (
	"testing"

	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/wal/vfs/faultfs"
	"github.com/stretchr/testify/require"
)

func TestSmoke(t *testing.T) {
	fs := faultfs.New()
	s := openFault(t, fs, Options{SegmentBytes: MinSegmentBytes})
	saveEntries(t, s, ents(1, 100, 1), pb.HardState{Term: 1, Commit: 50})
	saveEntries(t, s, ents(90, 120, 2), pb.HardState{Term: 2, Commit: 60})
	want := readState(t, s)
	require.Equal(t, uint64(120), want.Last)
	require.NoError(t, s.Close())
	s = openFault(t, fs, Options{SegmentBytes: MinSegmentBytes})
	got := readState(t, s)
	require.Equal(t, want, got)
	_, err := s.CreateSnapshot(100, &pb.ConfState{Voters: []uint64{1, 2}}, []byte("snap"))
	require.NoError(t, err)
	require.NoError(t, s.Compact(95))
	want = readState(t, s)
	names, _ := fs.List(testDir)
	t.Log(names)
	require.NoError(t, s.Close())
	s = openFault(t, fs, Options{SegmentBytes: MinSegmentBytes})
	require.Equal(t, want, readState(t, s))
}

// TestConcurrentReadsAndWrites has raft's reads race with an append
// goroutine's SaveAppends, for the race detector, and checks every read
// sees a consistent log.
func TestConcurrentReadsAndWrites(t *testing.T) {
	s := openFault(t, faultfs.New(), Options{SegmentBytes: MinSegmentBytes, CacheBytes: 2000})
	done := make(chan error)
	go func() {
		for i := uint64(1); i <= 300; i += 3 {
			m := pb.Message{Type: pb.MsgStorageAppend, Term: 1, Commit: i - 1, Entries: bigEnts(i, i+2, 1)}
			if _, err := s.SaveAppends(m); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for reading := true; reading; {
		select {
		case err := <-done:
			require.NoError(t, err)
			reading = false
		default:
		}
		first, err := s.FirstIndex()
		require.NoError(t, err)
		last, err := s.LastIndex()
		require.NoError(t, err)
		if last < first {
			continue
		}
		es, err := s.Entries(first, last+1, noLimit)
		require.NoError(t, err)
		for k, e := range es {
			require.Equal(t, first+uint64(k), e.Index)
		}
		_, err = s.Term(last)
		require.NoError(t, err)
	}
	last, _ := s.LastIndex()
	require.Equal(t, uint64(300), last)
}

// TestLargeEntriesOnDisk saves, on the operating system's file system,
// batches mixing entries whose data a write splices (passing it to
// writev as it is) with small ones, across segments, and reads them back
// from the files, uncached, before and after reopening.
func TestLargeEntriesOnDisk(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 64 << 10, CacheBytes: -1}
	s, err := Open(dir, opts)
	require.NoError(t, err)
	var saved []pb.Entry
	for i := uint64(1); i <= 400; i += 40 {
		es := append(largeEnts(i, i+29, 1), ents(i+30, i+39, 1)...)
		saveEntries(t, s, es, pb.HardState{Term: 1, Commit: i})
		saved = append(saved, es...)
	}
	want := readState(t, s)
	require.Equal(t, saved, want.Entries, "got entries read back that differ from those saved")
	require.NoError(t, s.Close())
	s, err = Open(dir, opts)
	require.NoError(t, err)
	require.Equal(t, want, readState(t, s))
	require.NoError(t, s.Close())
}
