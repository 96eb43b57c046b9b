// Package vfs is the small file-system interface the wal package writes
// through, and its implementation on the operating system's file system.
//
// The interface exists so that tests and simulations can put a store on a
// file system that loses unsynced data at a simulated crash (package
// faultfs). Its methods name only what durable storage needs, and each says
// what is durable once it returns: in short, nothing is until File.Sync (for
// a file's content) and SyncDir (for the names in a directory) say so.
package vfs

import (
	"io"
	"os"
	"path/filepath"
	"sort"
)

// File is an open file. Writes append at the end of the file; reads are
// positional. A File is used by one goroutine at a time, except that ReadAt
// may run concurrently with other ReadAt calls.
type File interface {
	io.ReaderAt
	// Write appends p at the end of the file. A short write returns an
	// error. The bytes are not durable until Sync returns.
	Write(p []byte) (int, error)
	// Truncate cuts or extends the file to size bytes. Not durable until
	// Sync returns.
	Truncate(size int64) error
	// Sync makes the file's content and size durable (fdatasync). It does
	// not make the file's name durable: see FS.SyncDir.
	Sync() error
	// Size returns the current size of the file.
	Size() (int64, error)
	// Close releases the file. It does not sync.
	Close() error
}

// VecWriter is a File that appends several buffers with one call, without
// first copying them into one, as writev(2) does.
type VecWriter interface {
	// WriteVec appends the concatenation of bufs at the end of the file,
	// as Write of it would: a short write returns an error, and the bytes
	// are not durable until Sync returns.
	WriteVec(bufs [][]byte) (int, error)
}

// WriteVec appends the concatenation of bufs at the end of f: with one
// WriteVec if f is a VecWriter (as the files of OS are on Linux), else
// with one Write of a copy.
func WriteVec(f File, bufs [][]byte) (int, error) {
	if vw, ok := f.(VecWriter); ok {
		return vw.WriteVec(bufs)
	}
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	p := make([]byte, 0, n)
	for _, b := range bufs {
		p = append(p, b...)
	}
	return f.Write(p)
}

// FS is a hierarchical file system. Names are slash- or OS-separated paths
// as accepted by the implementation; the wal package builds them with
// path/filepath.Join.
type FS interface {
	// Create creates the named file, or truncates it if it exists, and
	// opens it for reading and appending. The new name is durable only once
	// SyncDir of its directory returns.
	Create(name string) (File, error)
	// OpenAppend opens an existing file for reading and appending.
	OpenAppend(name string) (File, error)
	// Open opens an existing file for reading only.
	Open(name string) (File, error)
	// Remove deletes the named file. Durable once SyncDir returns.
	Remove(name string) error
	// Rename atomically renames oldname to newname, replacing newname if it
	// exists. Durable once SyncDir of the directory returns.
	Rename(oldname, newname string) error
	// List returns the names (not paths) of the entries of dir, sorted.
	List(dir string) ([]string, error)
	// MkdirAll creates dir and any missing parents. The new directories are
	// durable once SyncDir of their parents returns.
	MkdirAll(dir string) error
	// SyncDir makes durable the creations, renames and removals of names in
	// dir made before it was called.
	SyncDir(dir string) error
}

// OS is the FS of the operating system.
var OS FS = osFS{}

type osFS struct{}

type osFile struct{ *os.File }

func (f osFile) Size() (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func (f osFile) Sync() error { return datasync(f.File) }

func (osFS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (osFS) OpenAppend(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (osFS) Open(name string) (File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (osFS) Remove(name string) error             { return os.Remove(name) }
func (osFS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }
func (osFS) MkdirAll(dir string) error            { return os.MkdirAll(dir, 0o755) }

func (osFS) List(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	sort.Strings(names)
	return names, nil
}

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return err
	}
	// NB: fsync (not fdatasync) of the directory: its entries are its data.
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
