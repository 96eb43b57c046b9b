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

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
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

// CrashPlan decides what of the unsynced state survives a Crash. The zero
// CrashPlan keeps nothing unsynced.
type CrashPlan struct {
	// KeepBytes returns how many of the n bytes written to file path since
	// its last sync survive, in the order they were written: the writes
	// before that point survive whole, the one it falls in is torn there,
	// and later ones are lost. A truncation survives if everything written
	// before it does and something after it does too (or everything
	// unsynced survives). Results are clamped to [0, n]. nil keeps none.
	KeepBytes func(path string, n int) int
	// KeepDirOps returns how many of the n name changes (creations,
	// renames, removals) made in dir since its last SyncDir survive, as a
	// prefix in the order they were made. nil keeps none.
	KeepDirOps func(dir string, n int) int
}

// KeepAll is the CrashPlan that keeps every unsynced change, as a crash of
// the process alone (not of the machine) does.
var KeepAll = CrashPlan{
	KeepBytes:  func(_ string, n int) int { return n },
	KeepDirOps: func(_ string, n int) int { return n },
}

// RandomPlan returns a CrashPlan that keeps a uniformly random prefix of
// each file's unsynced bytes and of each directory's unsynced name changes,
// drawn from rng.
func RandomPlan(rng *rand.Rand) CrashPlan {
	return CrashPlan{
		KeepBytes:  func(_ string, n int) int { return rng.IntN(n + 1) },
		KeepDirOps: func(_ string, n int) int { return rng.IntN(n + 1) },
	}
}

// FS is the in-memory file system. The zero value is not usable; call New.
type FS struct {
	mu sync.Mutex
	// gen counts crashes; a File remembers the generation it was opened in.
	gen   int
	dirs  map[string]*dir
	fault func(Op) error
}

// dir is a directory. Invariant: durable and the names reached by applying
// pending to it in order equal names.
type dir struct {
	names   map[string]*inode
	durable map[string]*inode
	pending []dirOp
}

// dirOp is a name change not yet made durable by SyncDir: name now refers
// to node, or to nothing when node is nil; for a rename, from names the
// name that no longer refers to node. A crash keeps or loses it whole.
type dirOp struct {
	name string
	node *inode
	from string
}

func (op dirOp) apply(names map[string]*inode) {
	if op.from != "" {
		delete(names, op.from)
	}
	if op.node == nil {
		delete(names, op.name)
	} else {
		names[op.name] = op.node
	}
}

// inode is a file's content. Invariant: applying log to synced in order
// gives data.
type inode struct {
	data   []byte
	synced []byte
	log    []fileOp
}

// fileOp is an unsynced write (data != nil) or truncation to size.
type fileOp struct {
	data []byte
	size int64
}

var _ vfs.FS = (*FS)(nil)

// New returns an empty FS whose root directory "/" exists.
func New() *FS {
	fs := &FS{dirs: map[string]*dir{}}
	fs.dirs[string(filepath.Separator)] = newDir()
	fs.dirs["."] = newDir()
	return fs
}

func newDir() *dir {
	return &dir{names: map[string]*inode{}, durable: map[string]*inode{}}
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

func split(name string) (string, string) {
	name = filepath.Clean(name)
	return filepath.Dir(name), filepath.Base(name)
}

func (fs *FS) lookupDir(path string) (*dir, error) {
	d, ok := fs.dirs[filepath.Clean(path)]
	if !ok {
		return nil, &os.PathError{Op: "open", Path: path, Err: os.ErrNotExist}
	}
	return d, nil
}

func (d *dir) change(op dirOp) {
	op.apply(d.names)
	d.pending = append(d.pending, op)
}

// Create implements vfs.FS.
func (fs *FS) Create(name string) (vfs.File, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.check(Op{Kind: OpCreate, Path: name}); err != nil {
		return nil, err
	}
	dp, base := split(name)
	d, err := fs.lookupDir(dp)
	if err != nil {
		return nil, err
	}
	if node, ok := d.names[base]; ok {
		node.truncate(0)
		return fs.handle(node, name, true), nil
	}
	node := &inode{}
	d.change(dirOp{name: base, node: node})
	return fs.handle(node, name, true), nil
}

// OpenAppend implements vfs.FS.
func (fs *FS) OpenAppend(name string) (vfs.File, error) { return fs.open(name, true) }

// Open implements vfs.FS.
func (fs *FS) Open(name string) (vfs.File, error) { return fs.open(name, false) }

func (fs *FS) open(name string, writable bool) (vfs.File, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.check(Op{Kind: OpOpen, Path: name}); err != nil {
		return nil, err
	}
	node, err := fs.lookup(name)
	if err != nil {
		return nil, err
	}
	return fs.handle(node, name, writable), nil
}

func (fs *FS) lookup(name string) (*inode, error) {
	dp, base := split(name)
	d, err := fs.lookupDir(dp)
	if err != nil {
		return nil, err
	}
	node, ok := d.names[base]
	if !ok {
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
	}
	return node, nil
}

// Remove implements vfs.FS.
func (fs *FS) Remove(name string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.check(Op{Kind: OpRemove, Path: name}); err != nil {
		return err
	}
	dp, base := split(name)
	d, err := fs.lookupDir(dp)
	if err != nil {
		return err
	}
	if _, ok := d.names[base]; !ok {
		return &os.PathError{Op: "remove", Path: name, Err: os.ErrNotExist}
	}
	d.change(dirOp{name: base})
	return nil
}

// Rename implements vfs.FS. Both names must be in the same directory.
func (fs *FS) Rename(oldname, newname string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.check(Op{Kind: OpRename, Path: oldname}); err != nil {
		return err
	}
	odp, obase := split(oldname)
	ndp, nbase := split(newname)
	if odp != ndp {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: errors.New("faultfs: rename across directories")}
	}
	d, err := fs.lookupDir(odp)
	if err != nil {
		return err
	}
	node, ok := d.names[obase]
	if !ok {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: os.ErrNotExist}
	}
	if obase != nbase {
		d.change(dirOp{name: nbase, node: node, from: obase})
	}
	return nil
}

// List implements vfs.FS.
func (fs *FS) List(path string) ([]string, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.check(Op{Kind: OpList, Path: path}); err != nil {
		return nil, err
	}
	d, err := fs.lookupDir(path)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(d.names))
	for n := range d.names {
		names = append(names, n)
	}
	// Subdirectories are listed too, as a real directory listing would.
	clean := filepath.Clean(path)
	for p := range fs.dirs {
		if p != clean && filepath.Dir(p) == clean {
			names = append(names, filepath.Base(p))
		}
	}
	sort.Strings(names)
	return names, nil
}

// MkdirAll implements vfs.FS. Directories are durable at once.
func (fs *FS) MkdirAll(path string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.check(Op{Kind: OpMkdirAll, Path: path}); err != nil {
		return err
	}
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		if _, ok := fs.dirs[p]; ok {
			break
		}
		dp, base := split(p)
		if d, ok := fs.dirs[dp]; ok {
			if _, isFile := d.names[base]; isFile {
				return &os.PathError{Op: "mkdir", Path: p, Err: errors.New("faultfs: a file has that name")}
			}
		}
		fs.dirs[p] = newDir()
	}
	return nil
}

// SyncDir implements vfs.FS.
func (fs *FS) SyncDir(path string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.check(Op{Kind: OpSyncDir, Path: path}); err != nil {
		return err
	}
	d, err := fs.lookupDir(path)
	if err != nil {
		return err
	}
	d.durable = make(map[string]*inode, len(d.names))
	for n, node := range d.names {
		d.durable[n] = node
	}
	d.pending = nil
	return nil
}

// Crash simulates a machine crash: every File opened so far fails with
// ErrCrashed from now on, and the file system keeps only what was durable
// plus what plan lets survive.
func (fs *FS) Crash(plan CrashPlan) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.gen++
	paths := make([]string, 0, len(fs.dirs))
	for p := range fs.dirs {
		paths = append(paths, p)
	}
	// NB: sorted, so that a plan drawing from a seeded source is
	// deterministic.
	sort.Strings(paths)
	recovered := map[*inode]bool{}
	for _, p := range paths {
		d := fs.dirs[p]
		keep := 0
		if plan.KeepDirOps != nil && len(d.pending) > 0 {
			keep = clamp(plan.KeepDirOps(p, len(d.pending)), len(d.pending))
		}
		names := d.durable
		for _, op := range d.pending[:keep] {
			op.apply(names)
		}
		d.names = names
		d.durable = make(map[string]*inode, len(names))
		sorted := make([]string, 0, len(names))
		for n, node := range names {
			d.durable[n] = node
			sorted = append(sorted, n)
		}
		d.pending = nil
		sort.Strings(sorted)
		for _, n := range sorted {
			node := names[n]
			if !recovered[node] {
				recovered[node] = true
				node.crash(filepath.Join(p, n), plan.KeepBytes)
			}
		}
	}
}

func clamp(v, n int) int { return max(0, min(v, n)) }

// crash replaces the node's content with what survives.
func (n *inode) crash(path string, keepBytes func(string, int) int) {
	total := 0
	for _, op := range n.log {
		total += len(op.data)
	}
	budget := 0
	if keepBytes != nil && len(n.log) > 0 {
		budget = clamp(keepBytes(path, total), total)
	}
	data := n.synced
	used := 0
	for _, op := range n.log {
		if op.data == nil {
			if budget > used || budget == total {
				data = resize(data, op.size)
			}
			continue
		}
		k := min(len(op.data), budget-used)
		if k <= 0 {
			break
		}
		data = append(data[:len(data):len(data)], op.data[:k]...)
		used += k
		if k < len(op.data) {
			break
		}
	}
	n.data = data
	n.synced = data
	n.log = nil
}

func resize(data []byte, size int64) []byte {
	if int64(len(data)) >= size {
		return data[:size:size]
	}
	return append(data[:len(data):len(data)], make([]byte, size-int64(len(data)))...)
}

func (n *inode) write(p []byte) {
	n.data = append(n.data, p...)
	n.log = append(n.log, fileOp{data: append([]byte(nil), p...)})
}

func (n *inode) truncate(size int64) {
	n.data = resize(n.data, size)
	n.log = append(n.log, fileOp{size: size})
}

func (n *inode) sync() {
	n.synced = n.data[:len(n.data):len(n.data)]
	n.log = nil
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

func (fs *FS) handle(node *inode, name string, writable bool) *file {
	return &file{fs: fs, node: node, name: name, gen: fs.gen, writable: writable}
}

// file is an open handle. It keeps its inode even if the name is removed
// or replaced, as POSIX handles do.
type file struct {
	fs       *FS
	node     *inode
	name     string
	gen      int
	writable bool
	closed   bool
}

func (f *file) usable(op Op) error {
	if f.gen != f.fs.gen {
		return &os.PathError{Op: op.Kind.String(), Path: f.name, Err: ErrCrashed}
	}
	if f.closed {
		return &os.PathError{Op: op.Kind.String(), Path: f.name, Err: os.ErrClosed}
	}
	if !f.writable && op.Kind != OpRead {
		return &os.PathError{Op: op.Kind.String(), Path: f.name, Err: os.ErrPermission}
	}
	return f.fs.check(op)
}

func (f *file) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.usable(Op{Kind: OpRead, Path: f.name}); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &os.PathError{Op: "read", Path: f.name, Err: errors.New("faultfs: negative offset")}
	}
	if off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *file) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.usable(Op{Kind: OpWrite, Path: f.name, Bytes: len(p)}); err != nil {
		var short *ShortWrite
		if errors.As(err, &short) && f.gen == f.fs.gen && !f.closed {
			n := clamp(short.N, len(p))
			f.node.write(p[:n])
			return n, err
		}
		return 0, err
	}
	f.node.write(p)
	return len(p), nil
}

func (f *file) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.usable(Op{Kind: OpTruncate, Path: f.name}); err != nil {
		return err
	}
	if size < 0 {
		return &os.PathError{Op: "truncate", Path: f.name, Err: errors.New("faultfs: negative size")}
	}
	f.node.truncate(size)
	return nil
}

func (f *file) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.usable(Op{Kind: OpSync, Path: f.name}); err != nil {
		return err
	}
	f.node.sync()
	return nil
}

func (f *file) Size() (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.gen != f.fs.gen {
		return 0, &os.PathError{Op: "stat", Path: f.name, Err: ErrCrashed}
	}
	return int64(len(f.node.data)), nil
}

func (f *file) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return &os.PathError{Op: "close", Path: f.name, Err: os.ErrClosed}
	}
	f.closed = true
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
