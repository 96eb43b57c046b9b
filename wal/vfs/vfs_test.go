package vfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	require.NoError(t, OS.MkdirAll(dir))
	require.NoError(t, OS.SyncDir(filepath.Dir(dir)))
	name := filepath.Join(dir, "f.tmp")
	f, err := OS.Create(name)
	require.NoError(t, err)
	_, err = f.Write([]byte("hello "))
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())

	t.Run("OpenAppend writes at the end", func(t *testing.T) {
		f, err := OS.OpenAppend(name)
		require.NoError(t, err)
		defer f.Close()
		_, err = f.Write([]byte("world"))
		require.NoError(t, err)
		require.NoError(t, f.Truncate(9))
		_, err = f.Write([]byte("ld"))
		require.NoError(t, err)
		size, err := f.Size()
		require.NoError(t, err)
		require.Equal(t, int64(11), size)
		buf := make([]byte, 20)
		n, err := f.ReadAt(buf, 0)
		require.ErrorIs(t, err, io.EOF)
		require.Equal(t, "hello world", string(buf[:n]), "got %q after truncating to 9 and appending", buf[:n])
	})
	t.Run("Open is read-only", func(t *testing.T) {
		f, err := OS.Open(name)
		require.NoError(t, err)
		defer f.Close()
		_, err = f.Write([]byte("x"))
		require.Error(t, err)
	})
	t.Run("Rename, List, Remove", func(t *testing.T) {
		final := filepath.Join(dir, "f")
		require.NoError(t, OS.Rename(name, final))
		require.NoError(t, OS.SyncDir(dir))
		names, err := OS.List(dir)
		require.NoError(t, err)
		require.Equal(t, []string{"f"}, names)
		require.NoError(t, OS.Remove(final))
		_, err = OS.Open(final)
		require.True(t, errors.Is(err, os.ErrNotExist), "got %v, want not exist", err)
	})
}

func TestWriteVec(t *testing.T) {
	// bufs are more than one writev takes, some of them empty.
	var bufs [][]byte
	var want []byte
	for k := range 2100 { // more than one writev takes (IOV_MAX, 1024)
		b := make([]byte, k%7)
		for i := range b {
			b[i] = byte(k + i)
		}
		bufs = append(bufs, b)
		want = append(want, b...)
	}
	kept := make([][]byte, len(bufs))
	copy(kept, bufs)
	for _, tc := range []struct {
		name string
		f    func(t *testing.T) File
	}{
		{"on the operating system's files", func(t *testing.T) File {
			f, err := OS.Create(filepath.Join(t.TempDir(), "f"))
			require.NoError(t, err)
			return f
		}},
		{"on a File without WriteVec", func(t *testing.T) File {
			f, err := OS.Create(filepath.Join(t.TempDir(), "f"))
			require.NoError(t, err)
			return struct{ File }{f}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f(t)
			defer f.Close()
			_, err := f.Write([]byte("head:"))
			require.NoError(t, err)
			n, err := WriteVec(f, bufs)
			require.NoError(t, err)
			require.Equal(t, len(want), n, "got %d bytes written, want %d", n, len(want))
			got := make([]byte, 5+len(want))
			_, err = f.ReadAt(got, 0)
			require.NoError(t, err)
			require.Equal(t, "head:"+string(want), string(got), "got the file's bytes differing from the buffers'")
			for k := range bufs {
				require.Equal(t, kept[k], bufs[k], "got buffer %d changed", k)
			}
		})
	}
}
