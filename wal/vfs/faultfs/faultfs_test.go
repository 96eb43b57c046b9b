package faultfs

import (
	"errors"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/quorate/raft/wal/vfs"
	"github.com/stretchr/testify/require"
)

func create(t *testing.T, fs *FS, name string, data string) vfs.File {
	t.Helper()
	f, err := fs.Create(name)
	require.NoError(t, err)
	if data != "" {
		_, err = f.Write([]byte(data))
		require.NoError(t, err)
	}
	return f
}

func content(t *testing.T, fs *FS, name string) (string, bool) {
	t.Helper()
	b, err := fs.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return "", false
	}
	require.NoError(t, err)
	return string(b), true
}

func TestCrashKeepsOnlyWhatWasSynced(t *testing.T) {
	t.Run("synced data and name survive", func(t *testing.T) {
		fs := New()
		f := create(t, fs, "/a", "hello")
		require.NoError(t, f.Sync())
		require.NoError(t, fs.SyncDir("/"))
		_, err := f.Write([]byte(" world"))
		require.NoError(t, err)
		fs.Crash(CrashPlan{})
		got, ok := content(t, fs, "/a")
		require.True(t, ok)
		require.Equal(t, "hello", got, "got %q, want the synced %q", got, "hello")
	})
	t.Run("a file whose directory was not synced vanishes", func(t *testing.T) {
		fs := New()
		f := create(t, fs, "/a", "hello")
		require.NoError(t, f.Sync())
		fs.Crash(CrashPlan{})
		_, ok := content(t, fs, "/a")
		require.False(t, ok, "got the unsynced name kept")
	})
	t.Run("an unsynced rename is undone", func(t *testing.T) {
		fs := New()
		f := create(t, fs, "/a.tmp", "x")
		require.NoError(t, f.Sync())
		require.NoError(t, fs.SyncDir("/"))
		require.NoError(t, fs.Rename("/a.tmp", "/a"))
		fs.Crash(CrashPlan{})
		_, ok := content(t, fs, "/a")
		require.False(t, ok, "got the new name after a crash before SyncDir")
		got, ok := content(t, fs, "/a.tmp")
		require.True(t, ok, "got the old name lost")
		require.Equal(t, "x", got)
	})
	t.Run("a rename survives whole or not at all", func(t *testing.T) {
		for keep := range 2 {
			fs := New()
			f := create(t, fs, "/a.tmp", "x")
			require.NoError(t, f.Sync())
			require.NoError(t, fs.SyncDir("/"))
			require.NoError(t, fs.Rename("/a.tmp", "/a"))
			fs.Crash(CrashPlan{KeepDirOps: func(string, int) int { return keep }})
			_, oldName := content(t, fs, "/a.tmp")
			_, newName := content(t, fs, "/a")
			require.NotEqual(t, oldName, newName, "keep %d: got old name %v and new name %v", keep, oldName, newName)
		}
	})
	t.Run("a synced removal sticks, an unsynced one is undone", func(t *testing.T) {
		fs := New()
		require.NoError(t, fs.WriteFile("/a", []byte("a")))
		require.NoError(t, fs.WriteFile("/b", []byte("b")))
		require.NoError(t, fs.Remove("/a"))
		require.NoError(t, fs.SyncDir("/"))
		require.NoError(t, fs.Remove("/b"))
		fs.Crash(CrashPlan{})
		_, a := content(t, fs, "/a")
		_, b := content(t, fs, "/b")
		require.False(t, a, "got the synced removal undone")
		require.True(t, b, "got the unsynced removal kept")
	})
	t.Run("directory changes survive as a prefix", func(t *testing.T) {
		fs := New()
		for _, n := range []string{"/a", "/b", "/c"} {
			create(t, fs, n, "")
		}
		fs.Crash(CrashPlan{KeepDirOps: func(dir string, n int) int {
			require.Equal(t, "/", dir)
			require.Equal(t, 3, n)
			return 2
		}})
		names, err := fs.List("/")
		require.NoError(t, err)
		require.Equal(t, []string{"a", "b"}, names)
	})
	t.Run("handles from before the crash fail", func(t *testing.T) {
		fs := New()
		f := create(t, fs, "/a", "x")
		fs.Crash(KeepAll)
		_, err := f.Write([]byte("y"))
		require.ErrorIs(t, err, ErrCrashed)
		require.ErrorIs(t, f.Sync(), ErrCrashed)
		_, err = f.ReadAt(make([]byte, 1), 0)
		require.ErrorIs(t, err, ErrCrashed)
	})
}

func TestCrashTearsUnsyncedWrites(t *testing.T) {
	for keep := 0; keep <= 9; keep++ {
		fs := New()
		f := create(t, fs, "/a", "base")
		require.NoError(t, f.Sync())
		require.NoError(t, fs.SyncDir("/"))
		for _, w := range []string{"123", "456", "789"} {
			_, err := f.Write([]byte(w))
			require.NoError(t, err)
		}
		fs.Crash(CrashPlan{KeepBytes: func(path string, n int) int {
			require.Equal(t, "/a", path)
			require.Equal(t, 9, n)
			return keep
		}})
		got, _ := content(t, fs, "/a")
		want := "base" + "123456789"[:keep]
		require.Equal(t, want, got, "keeping %d bytes: got %q, want %q", keep, got, want)
	}
	t.Run("a truncation survives with the writes after it", func(t *testing.T) {
		for _, tc := range []struct {
			keep int
			want string
		}{{0, "base"}, {1, "ba1"}, {2, "ba12"}} {
			fs := New()
			f := create(t, fs, "/a", "base")
			require.NoError(t, f.Sync())
			require.NoError(t, fs.SyncDir("/"))
			require.NoError(t, f.Truncate(2))
			_, err := f.Write([]byte("12"))
			require.NoError(t, err)
			fs.Crash(CrashPlan{KeepBytes: func(string, int) int { return tc.keep }})
			got, _ := content(t, fs, "/a")
			require.Equal(t, tc.want, got, "keeping %d bytes", tc.keep)
		}
	})
	t.Run("a random plan is deterministic for a seed", func(t *testing.T) {
		run := func() string {
			fs := New()
			f := create(t, fs, "/a", "")
			require.NoError(t, fs.SyncDir("/"))
			_, err := f.Write([]byte("0123456789abcdef"))
			require.NoError(t, err)
			fs.Crash(RandomPlan(rand.New(rand.NewPCG(1, 2))))
			got, _ := content(t, fs, "/a")
			return got
		}
		require.Equal(t, run(), run())
	})
}

func TestFaultHook(t *testing.T) {
	errBoom := errors.New("boom")
	fs := New()
	f := create(t, fs, "/a", "")
	var seen []OpKind
	fs.SetFault(func(op Op) error {
		seen = append(seen, op.Kind)
		switch op.Kind {
		case OpSync:
			return errBoom
		case OpWrite:
			return &ShortWrite{N: 2, Err: errBoom}
		}
		return nil
	})
	n, err := f.Write([]byte("abcd"))
	require.ErrorIs(t, err, errBoom)
	require.Equal(t, 2, n, "got %d bytes written by a short write, want 2", n)
	require.ErrorIs(t, f.Sync(), errBoom)
	require.NoError(t, fs.Rename("/a", "/b"))
	require.Equal(t, []OpKind{OpWrite, OpSync, OpRename}, seen)
	fs.SetFault(nil)
	got, _ := content(t, fs, "/b")
	require.Equal(t, "ab", got)
	fs.Crash(CrashPlan{})
	_, ok := content(t, fs, "/b")
	require.False(t, ok, "got a file kept whose sync failed and whose name was never synced")
}

func TestCloneIsIndependent(t *testing.T) {
	fs := New()
	f := create(t, fs, "/a", "one")
	require.NoError(t, fs.SyncDir("/"))
	c := fs.Clone()
	_, err := f.Write([]byte("two"))
	require.NoError(t, err)
	got, _ := content(t, c, "/a")
	require.Equal(t, "one", got, "got the clone changed by a write to the original")
	c.Crash(CrashPlan{})
	got, _ = content(t, fs, "/a")
	require.Equal(t, "onetwo", got, "got the original changed by a crash of the clone")
	got, _ = content(t, c, "/a")
	require.Equal(t, "", got, "got unsynced data kept in the crashed clone")
}
