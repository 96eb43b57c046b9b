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
