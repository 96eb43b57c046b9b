package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/quorate/raft"
	pb "github.com/quorate/raft/raftpb"
	"github.com/quorate/raft/wal/vfs/faultfs"
	"github.com/stretchr/testify/require"
)

// writtenStore returns a file system holding a closed store with entries
// 1..30 over several segments, a snapshot at 10 and a HardState.
func writtenStore(t *testing.T) *faultfs.FS {
	fs := faultfs.New()
	s := openFault(t, fs, crashOpts)
	for i := uint64(1); i <= 30; i += 3 {
		saveEntries(t, s, bigEnts(i, i+2, 1), pb.HardState{Term: 1, Vote: 1, Commit: i})
	}
	_, err := s.CreateSnapshot(10, &pb.ConfState{Voters: []uint64{1}}, []byte("snap"))
	require.NoError(t, err)
	saveEntries(t, s, bigEnts(31, 32, 1), pb.HardState{Term: 1, Vote: 1, Commit: 31})
	require.NoError(t, s.Close())
	return fs
}

func segPaths(t *testing.T, fs *faultfs.FS) []string {
	names, err := fs.List(testDir)
	require.NoError(t, err)
	var segs []string
	for _, n := range names {
		if filepath.Ext(n) == ".wal" {
			segs = append(segs, filepath.Join(testDir, n))
		}
	}
	require.GreaterOrEqual(t, len(segs), 2, "the test needs several segments")
	return segs
}

// recordOffsets returns the offsets of the records of a segment.
func recordOffsets(t *testing.T, data []byte) []int {
	var offs []int
	for off := segmentHeaderSize; off < len(data); {
		_, n, err := decodeRecord(data[off:])
		require.NoError(t, err)
		offs = append(offs, off)
		off += n
	}
	return offs
}

func openErr(fs *faultfs.FS) error {
	s, err := Open(testDir, Options{FS: fs, SegmentBytes: crashOpts.SegmentBytes})
	if err == nil {
		s.Close()
	}
	return err
}

func requireCorrupt(t *testing.T, err error, path string, off int64) {
	t.Helper()
	var ce *CorruptError
	require.True(t, errors.As(err, &ce), "got error %v, want a *CorruptError", err)
	require.Equal(t, path, ce.Path, "got the damage reported in %s, want %s", ce.Path, path)
	require.Equal(t, off, ce.Offset, "got the damage reported at offset %d, want %d", ce.Offset, off)
}

func TestOpenReportsDamage(t *testing.T) {
	flip := func(t *testing.T, fs *faultfs.FS, path string, at int) {
		data, err := fs.ReadFile(path)
		require.NoError(t, err)
		data[at] ^= 0x40
		require.NoError(t, fs.WriteFile(path, data))
	}
	t.Run("a bit flipped in a record of an older segment", func(t *testing.T) {
		fs := writtenStore(t)
		seg := segPaths(t, fs)[0]
		data, _ := fs.ReadFile(seg)
		offs := recordOffsets(t, data)
		flip(t, fs, seg, offs[2]+recordHeaderSize+3)
		requireCorrupt(t, openErr(fs), seg, int64(offs[2]))
	})
	t.Run("a bit flipped in a record in the middle of the last segment", func(t *testing.T) {
		fs := writtenStore(t)
		segs := segPaths(t, fs)
		seg := segs[len(segs)-1]
		data, _ := fs.ReadFile(seg)
		offs := recordOffsets(t, data)
		require.GreaterOrEqual(t, len(offs), 3)
		flip(t, fs, seg, offs[1]+recordHeaderSize)
		requireCorrupt(t, openErr(fs), seg, int64(offs[1]))
	})
	t.Run("an older segment cut short", func(t *testing.T) {
		fs := writtenStore(t)
		seg := segPaths(t, fs)[0]
		data, _ := fs.ReadFile(seg)
		require.NoError(t, fs.WriteFile(seg, data[:len(data)-5]))
		offs := recordOffsets(t, data)
		requireCorrupt(t, openErr(fs), seg, int64(offs[len(offs)-1]))
	})
	t.Run("a segment header damaged", func(t *testing.T) {
		fs := writtenStore(t)
		seg := segPaths(t, fs)[0]
		flip(t, fs, seg, 17)
		requireCorrupt(t, openErr(fs), seg, 0)
	})
	for _, v := range []uint32{minFormatVersion - 1, formatVersion + 1} {
		t.Run(fmt.Sprintf("a segment of format version %d", v), func(t *testing.T) {
			fs := writtenStore(t)
			seg := segPaths(t, fs)[0]
			data, _ := fs.ReadFile(seg)
			binary.LittleEndian.PutUint32(data[8:12], v)
			binary.LittleEndian.PutUint32(data[28:32], crc32c(data[:28]))
			require.NoError(t, fs.WriteFile(seg, data))
			err := openErr(fs)
			requireCorrupt(t, err, seg, 0)
			require.ErrorContains(t, err, fmt.Sprintf("version %d,", v))
		})
	}
	t.Run("a garbage file named as a segment", func(t *testing.T) {
		fs := writtenStore(t)
		segs := segPaths(t, fs)
		garbage := make([]byte, 1000)
		for i := range garbage {
			garbage[i] = byte(i*7 + 3)
		}
		require.NoError(t, fs.WriteFile(segs[0], garbage))
		requireCorrupt(t, openErr(fs), segs[0], 0)
	})
	t.Run("a segment in the middle removed", func(t *testing.T) {
		fs := writtenStore(t)
		segs := segPaths(t, fs)
		require.GreaterOrEqual(t, len(segs), 3)
		require.NoError(t, fs.Remove(segs[1]))
		requireCorrupt(t, openErr(fs), segs[2], 0)
	})
	t.Run("the snapshot file removed", func(t *testing.T) {
		fs := writtenStore(t)
		path := filepath.Join(testDir, snapName(1, 10))
		require.NoError(t, fs.Remove(path))
		require.ErrorIs(t, openErr(fs), os.ErrNotExist)
	})
	t.Run("the snapshot file damaged", func(t *testing.T) {
		fs := writtenStore(t)
		path := filepath.Join(testDir, snapName(1, 10))
		data, _ := fs.ReadFile(path)
		flip(t, fs, path, len(data)-1)
		s := openFault(t, fs, crashOpts)
		_, err := s.Snapshot()
		requireCorrupt(t, err, path, snapHeaderSize)
	})
}

func TestOpenTruncatesATornTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		cut  func(data []byte, lastRec int) []byte
	}{
		{"record cut in its header", func(d []byte, r int) []byte { return d[:r+7] }},
		{"record cut in its payload", func(d []byte, r int) []byte { return d[:len(d)-3] }},
		{"last record's bytes zeroed", func(d []byte, r int) []byte {
			clear(d[r+recordHeaderSize:])
			return d
		}},
		{"zeros after the last record", func(d []byte, r int) []byte { return append(d, make([]byte, 100)...) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := faultfs.New()
			s := openFault(t, fs, Options{})
			saveEntries(t, s, ents(1, 4, 1), pb.HardState{Term: 1, Commit: 2})
			want := readState(t, s)
			require.NoError(t, s.Save(raft.Ready{Entries: ents(5, 5, 1), MustSync: true}))
			require.NoError(t, s.Close())
			seg := segPaths2(t, fs)
			data, _ := fs.ReadFile(seg)
			offs := recordOffsets(t, data)
			damaged := tc.cut(data, offs[len(offs)-1])
			require.NoError(t, fs.WriteFile(seg, damaged))
			if tc.name == "zeros after the last record" {
				want.Last, want.Entries = 5, append(want.Entries, ents(5, 5, 1)...)
			}
			s = openFault(t, fs, Options{})
			require.Equal(t, want, readState(t, s))
			size, _ := fs.ReadFile(seg)
			want2 := offs[len(offs)-1]
			if tc.name == "zeros after the last record" {
				want2 = len(data)
			}
			require.Equal(t, want2, len(size), "got the segment at %d bytes after recovery, want it cut at %d", len(size), want2)
			require.NoError(t, s.Close())
		})
	}
}

func segPaths2(t *testing.T, fs *faultfs.FS) string {
	names, err := fs.List(testDir)
	require.NoError(t, err)
	require.Len(t, names, 1)
	return filepath.Join(testDir, names[0])
}

func TestOpenRemovesLeftovers(t *testing.T) {
	fs := writtenStore(t)
	s := openFault(t, fs, crashOpts)
	_, err := s.CreateSnapshot(25, nil, []byte("snap"))
	require.NoError(t, err)
	require.NoError(t, s.Compact(25))
	require.NoError(t, s.Close())
	names, err := fs.List(testDir)
	require.NoError(t, err)
	require.NotContains(t, names, segName(2), "the test needs segments 1 and 2 removed by compaction")
	// A segment before a gap in the sequence is one whose removal did not
	// reach the disk, but the removal of a later one did: it is removed
	// unread.
	stale := []string{snapName(1, 10), snapName(1, 12), snapName(1, 12) + ".tmp", segName(1)}
	for _, n := range stale {
		require.NoError(t, fs.WriteFile(filepath.Join(testDir, n), []byte("left over")))
	}
	require.NoError(t, fs.WriteFile(filepath.Join(testDir, "README"), []byte("not ours")))
	s = openFault(t, fs, crashOpts)
	require.NoError(t, s.Close())
	names, err = fs.List(testDir)
	require.NoError(t, err)
	for _, n := range stale {
		require.NotContains(t, names, n, "got leftover %s kept", n)
	}
	require.Contains(t, names, "README", "got a file the store does not own removed")
	require.Contains(t, names, snapName(1, 25))
}

func TestOpenRejectsBadOptions(t *testing.T) {
	for _, sb := range []int64{-1, MinSegmentBytes - 1, MaxSegmentBytes + 1} {
		_, err := Open(testDir, Options{FS: faultfs.New(), SegmentBytes: sb})
		require.Error(t, err, "SegmentBytes %d", sb)
	}
}

// setSegmentVersion rewrites the header of the segment at path to say
// format version v.
func setSegmentVersion(t *testing.T, fs *faultfs.FS, path string, v uint32) {
	t.Helper()
	data, err := fs.ReadFile(path)
	require.NoError(t, err)
	seq, _, err := decodeSegmentHeader(data)
	require.NoError(t, err)
	copy(data, appendVersionedSegmentHeader(nil, seq, v))
	require.NoError(t, fs.WriteFile(path, data))
}

// segmentVersions returns the format version of each segment on fs.
func segmentVersions(t *testing.T, fs *faultfs.FS) []uint32 {
	t.Helper()
	var vs []uint32
	for _, p := range segPaths(t, fs) {
		data, err := fs.ReadFile(p)
		require.NoError(t, err)
		_, v, err := decodeSegmentHeader(data)
		require.NoError(t, err)
		vs = append(vs, v)
	}
	return vs
}

// version1Store returns a file system holding a closed store of format
// version 1, over several segments, and its state. Version 1 is version 2
// without entries records: the store saves one entry at a time, so that
// each has an entry record, and the segment headers are rewritten.
func version1Store(t *testing.T) (*faultfs.FS, storageState) {
	fs := faultfs.New()
	s := openFault(t, fs, crashOpts)
	for _, e := range bigEnts(1, 30, 1) {
		saveEntries(t, s, []pb.Entry{e}, pb.HardState{Term: 1, Vote: 1, Commit: e.Index})
	}
	_, err := s.CreateSnapshot(10, &pb.ConfState{Voters: []uint64{1}}, []byte("snap"))
	require.NoError(t, err)
	want := readState(t, s)
	require.NoError(t, s.Close())
	for _, p := range segPaths(t, fs) {
		data, err := fs.ReadFile(p)
		require.NoError(t, err)
		for _, off := range recordOffsets(t, data) {
			if recordType(data[off+8]) == recEntries {
				t.Fatalf("got an entries record at %d in %s, want none in a version 1 store", off, p)
			}
		}
		setSegmentVersion(t, fs, p, 1)
	}
	return fs, want
}

func TestOpenReadsVersion1(t *testing.T) {
	t.Run("reads it and appends to a new segment of the current version", func(t *testing.T) {
		fs, want := version1Store(t)
		old := segmentVersions(t, fs)
		s := openFault(t, fs, crashOpts)
		require.Equal(t, want, readState(t, s))
		wantVersions := append(old, formatVersion)
		require.Equal(t, wantVersions, segmentVersions(t, fs), "got segment versions %v after Open, want %v", segmentVersions(t, fs), wantVersions)
		saveEntries(t, s, bigEnts(31, 40, 1), pb.HardState{Term: 1, Vote: 1, Commit: 35})
		want = readState(t, s)
		require.NoError(t, s.Close())
		s = openFault(t, fs, crashOpts)
		require.Equal(t, want, readState(t, s))
		require.NoError(t, s.Close())
	})
	t.Run("a crash during the upgrade loses nothing", func(t *testing.T) {
		base, want := version1Store(t)
		for k := 0; ; k++ {
			for _, plan := range []faultfs.CrashPlan{{}, faultfs.KeepAll} {
				fs := base.Clone()
				ops := crashAfter(fs, k)
				s, err := Open(testDir, Options{FS: fs, SegmentBytes: crashOpts.SegmentBytes, CacheBytes: crashOpts.CacheBytes})
				if err == nil {
					require.NoError(t, s.Close())
					if *ops < k {
						// Creating, writing and syncing the new segment
						// and syncing its name take 4 operations more
						// than opening a store of the current version.
						current := crashAfter(fs, math.MaxInt)
						s = openFault(t, fs, crashOpts)
						require.NoError(t, s.Close())
						require.GreaterOrEqual(t, *ops, *current+4, "got the upgrading Open done in %d operations, want 4 more than the %d of a plain one", *ops, *current)
						return
					}
				} else {
					require.ErrorIs(t, err, errCrash, "Open cut after %d operations", k)
				}
				fs.SetFault(nil)
				fs.Crash(plan)
				s = openFault(t, fs, crashOpts)
				require.Equal(t, want, readState(t, s), "after a crash %d operations into the upgrade", k)
				require.NoError(t, s.Close())
			}
		}
	})
	t.Run("an entries record in a version 1 segment is damage", func(t *testing.T) {
		fs := faultfs.New()
		s := openFault(t, fs, Options{})
		saveEntries(t, s, ents(1, 1, 1), pb.HardState{Term: 1, Commit: 1})
		saveEntries(t, s, ents(2, 5, 1), pb.HardState{Term: 1, Commit: 3})
		require.NoError(t, s.Close())
		seg := segPaths2(t, fs)
		data, err := fs.ReadFile(seg)
		require.NoError(t, err)
		offs := recordOffsets(t, data)
		at := -1
		for _, off := range offs {
			if recordType(data[off+8]) == recEntries {
				at = off
				break
			}
		}
		require.GreaterOrEqual(t, at, 0, "the test needs an entries record")
		setSegmentVersion(t, fs, seg, 1)
		err = openErr(fs)
		requireCorrupt(t, err, seg, int64(at))
		require.ErrorContains(t, err, "format version 1")
	})
}
