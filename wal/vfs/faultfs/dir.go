package faultfs

// Directories and the operations on names: each directory's current and
// durable names with the changes not yet made durable by SyncDir, and the FS
// methods that look names up, create, open, remove, rename and list them.

import (
	"errors"
	"os"
	"path/filepath"
	"sort"

	"github.com/quorate/raft/wal/vfs"
)

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

func newDir() *dir {
	return &dir{names: map[string]*inode{}, durable: map[string]*inode{}}
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
