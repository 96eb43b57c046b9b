// Package faultfs is an in-memory file system (a vfs.FS) for tests and
// simulations that can lose what was not synced, tear the last writes at any
// byte, and fail any operation with an error.
//
// It keeps two views of everything. The current view is what reads see, as
// the page cache of a real system. The durable view is what survives a
// crash: a file's content as of its last File.Sync, and a directory's names
// as of its last SyncDir. Crash replaces the current view with the durable
// one, optionally keeping a prefix of the unsynced changes as a disk that
// was part way through writing them would. Crash is deterministic: what
// survives is decided by a CrashPlan, which may draw from a caller's
// seeded *rand.Rand.
//
// Directories are simpler than files: one created with MkdirAll is durable
// at once. Names of files inside it follow the rules above.
//
// An FS is safe for concurrent use.
package faultfs

// This file holds the FS itself: the operations its fault hook sees and the
// errors it can inject, and the helpers that read, lay out or copy a whole
// FS outside the fault hook.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/quorate/raft/wal/vfs"
)

// ErrCrashed is returned by every method of a File opened before the last
// Crash: the process that held it is gone.
var ErrCrashed = errors.New("faultfs: file handle predates a crash")

// OpKind names an operation, for fault injection.
type OpKind int

// The operations a fault can be injected into.
const (
	OpCreate OpKind = iota
	OpOpen
	OpRead
	OpWrite
	OpTruncate
	OpSync
	OpRemove
	OpRename
	OpList
	OpMkdirAll
	OpSyncDir
)

var opNames = [...]string{"create", "open", "read", "write", "truncate", "sync", "remove", "rename", "list", "mkdir", "syncdir"}

// String returns the operation's name, as used in error messages.
func (k OpKind) String() string {
	if k >= 0 && int(k) < len(opNames) {
		return opNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", int(k))
}

// Op describes an operation about to be carried out.
type Op struct {
	Kind OpKind
	// Path is the file or directory operated on; for a rename, the old
	// name.
	Path string
	// Bytes is the length of a write, zero otherwise.
	Bytes int
}

// ShortWrite, returned by a fault hook for an OpWrite, makes the write
// apply its first N bytes and then fail with Err.
type ShortWrite struct {
	N   int
	Err error
}

// Error describes the short write.
func (e *ShortWrite) Error() string { return fmt.Sprintf("short write of %d bytes: %v", e.N, e.Err) }

// Unwrap returns Err.
func (e *ShortWrite) Unwrap() error { return e.Err }

// FS is the in-memory file system. The zero value is not usable; call New.
type FS struct {
	mu sync.Mutex
	// gen counts crashes; a File remembers the generation it was opened in.
	gen   int
	dirs  map[string]*dir
	fault func(Op) error
}

var _ vfs.FS = (*FS)(nil)

// New returns an empty FS whose root directory "/" exists.
func New() *FS {
	fs := &FS{dirs: map[string]*dir{}}
	fs.dirs[string(filepath.Separator)] = newDir()
	fs.dirs["."] = newDir()
	return fs
}

// SetFault installs a hook called before every operation, with fs's lock
// held (so it must not call fs). If it returns an error, the operation
// fails with it and has no effect, except that a *ShortWrite applies part
// of a write. nil removes the hook.
func (fs *FS) SetFault(hook func(Op) error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.fault = hook
}

func (fs *FS) check(op Op) error {
	if fs.fault == nil {
		return nil
	}
	if err := fs.fault(op); err != nil {
		return &os.PathError{Op: op.Kind.String(), Path: op.Path, Err: err}
	}
	return nil
}

// ReadFile returns a copy of the current content of the named file.
func (fs *FS) ReadFile(name string) ([]byte, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	node, err := fs.lookup(name)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), node.data...), nil
}

// WriteFile creates or replaces the named file with data, durably, name
// included, bypassing the fault hook. Tests use it to lay out or damage a
// directory.
func (fs *FS) WriteFile(name string, data []byte) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	dp, base := split(name)
	d, err := fs.lookupDir(dp)
	if err != nil {
		return err
	}
	node := &inode{data: append([]byte(nil), data...)}
	node.sync()
	d.names[base] = node
	d.durable[base] = node
	return nil
}

// Clone returns an independent copy of fs in its current state, durable
// and unsynced parts alike, without the fault hook. Files opened on fs are
// not valid on the copy. A test can thus run a workload once and try many
// crash plans on copies of the result.
func (fs *FS) Clone() *FS {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	c := &FS{gen: fs.gen + 1, dirs: make(map[string]*dir, len(fs.dirs))}
	nodes := map[*inode]*inode{}
	cp := func(n *inode) *inode {
		if n == nil {
			return nil
		}
		if m, ok := nodes[n]; ok {
			return m
		}
		// NB: the byte slices are never written in place (writes append
		// to a capped slice or copy), so sharing them is safe.
		m := &inode{data: n.data[:len(n.data):len(n.data)], synced: n.synced, log: append([]fileOp(nil), n.log...)}
		nodes[n] = m
		return m
	}
	for p, d := range fs.dirs {
		nd := &dir{names: map[string]*inode{}, durable: map[string]*inode{}}
		for n, node := range d.names {
			nd.names[n] = cp(node)
		}
		for n, node := range d.durable {
			nd.durable[n] = cp(node)
		}
		for _, op := range d.pending {
			op.node = cp(op.node)
			nd.pending = append(nd.pending, op)
		}
		c.dirs[p] = nd
	}
	return c
}
